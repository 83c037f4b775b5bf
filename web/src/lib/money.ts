/** Money as the API gives it: an exact decimal string and its currency. */

const formats = new Map<string, Intl.NumberFormat>();

function formatter(currency: string, locale?: string): Intl.NumberFormat {
  const key = `${locale ?? ''}|${currency}`;
  let found = formats.get(key);
  if (!found) {
    found = new Intl.NumberFormat(locale, { style: 'currency', currency });
    formats.set(key, found);
  }
  return found;
}

/** `"1234.5", "USD"` → `$1,234.50`; the string is formatted exactly, never through a float. */
export function formatMoney(amount: string, currency: string, locale?: string): string {
  // Intl formats decimal strings exactly (no binary rounding on the way).
  return formatter(currency, locale).format(amount as unknown as number);
}

/** Rows grouped by currency, currencies in alphabetical order: never summed across. */
export function groupByCurrency<T extends { currency: string }>(rows: T[]): [string, T[]][] {
  const groups = new Map<string, T[]>();
  for (const row of rows) {
    const list = groups.get(row.currency) ?? [];
    list.push(row);
    groups.set(row.currency, list);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** A relative change (0.125) as `+12.5%`, always one decimal; null (nothing to compare
 * with) as an em dash. */
export function formatChange(change: number | null | undefined, locale?: string): string {
  if (change === null || change === undefined) {
    return '—';
  }
  return new Intl.NumberFormat(locale, {
    style: 'percent',
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
    signDisplay: 'exceptZero',
  }).format(change);
}

/** How far a rate moved, in percentage points: 0.31 after 0.25 is `+6.0 pts` (not +24%). */
export function formatPoints(current: number, previous: number | null | undefined, locale?: string): string {
  if (previous === null || previous === undefined) {
    return '—';
  }
  const points = new Intl.NumberFormat(locale, {
    minimumFractionDigits: 1,
    maximumFractionDigits: 1,
    signDisplay: 'exceptZero',
  }).format((current - previous) * 100);
  return `${points} pts`;
}

/** A share (0.25) as `25%`. */
export function formatRate(rate: number): string {
  return `${Math.round(rate * 1000) / 10}%`;
}

export function formatCount(n: number, locale?: string): string {
  return new Intl.NumberFormat(locale).format(n);
}
