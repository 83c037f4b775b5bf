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
