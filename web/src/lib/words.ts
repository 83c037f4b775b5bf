/** Shopify's enum values in words: `partially_refunded` → `Partially refunded`. */
export function humanize(value: string | null | undefined): string {
  if (!value) return '—';
  const words = value.replace(/_/g, ' ').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A variant's name as a merchant reads it: Shopify calls a product's only variant
 * "Default Title", which names nothing. */
export function variantName(title: string | null | undefined, product: string): string {
  return !title || title === 'Default Title' ? product : title;
}
