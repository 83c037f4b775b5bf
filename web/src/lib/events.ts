import type { UnchangedCounts } from '../api/types';
import { formatCount } from './money';

/** What each reason an applied event changed nothing means, in the merchant's words. */
const REASONS: Record<keyof UnchangedCounts, string> = {
  duplicate: 'delivered again',
  stale: 'older than what is stored',
  deleted: 'for records deleted in Shopify',
  redacted: 'for customers erased on request',
  ignored: 'of topics Xeno does not use',
  store_inactive: 'after the store stopped taking data',
};

/** "3 changed nothing: 2 older than what is stored, 1 for records deleted in Shopify", or
 * null when every applied event changed data. */
export function unchangedSummary(counts: UnchangedCounts, locale?: string): string | null {
  const parts = (Object.keys(REASONS) as (keyof UnchangedCounts)[])
    .filter((reason) => counts[reason] > 0)
    .map((reason) => `${formatCount(counts[reason], locale)} ${REASONS[reason]}`);
  if (parts.length === 0) return null;
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return `${formatCount(total, locale)} changed nothing: ${parts.join(', ')}`;
}

/** "2 dated when received: their payloads had no date (as Shopify's test notifications)",
 * or null when every applied event carried its dates. */
export function datedOnReceiptNote(count: number, locale?: string): string | null {
  if (count <= 0) return null;
  const theirs = count === 1 ? 'its payload' : 'their payloads';
  return `${formatCount(count, locale)} dated when received: ${theirs} had no date (as Shopify's test notifications)`;
}
