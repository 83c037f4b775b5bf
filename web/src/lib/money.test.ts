import { describe, expect, it } from 'vitest';
import { formatChange, formatMoney, formatPoints, formatRate, groupByCurrency } from './money';

describe('money', () => {
  it('formats each currency with its own minor unit', () => {
    expect(formatMoney('1234.5', 'USD', 'en-US')).toBe('$1,234.50');
    expect(formatMoney('1234', 'JPY', 'en-US')).toBe('¥1,234');
    expect(formatMoney('-3.1', 'EUR', 'en-US')).toBe('-€3.10');
  });

  it('formats decimal strings exactly, beyond what a float holds', () => {
    expect(formatMoney('90071992547409.93', 'USD', 'en-US')).toBe('$90,071,992,547,409.93');
  });

  it('groups by currency and never merges them', () => {
    const rows = [
      { currency: 'USD', amount: '1' },
      { currency: 'JPY', amount: '100' },
      { currency: 'USD', amount: '2' },
    ];
    const groups = groupByCurrency(rows);
    expect(groups.map(([c]) => c)).toEqual(['JPY', 'USD']);
    expect(groups[1][1].map((r) => r.amount)).toEqual(['1', '2']);
  });

  it('formats changes and rates', () => {
    expect(formatChange(0.125, 'en-US')).toBe('+12.5%');
    expect(formatChange(-0.5, 'en-US')).toBe('-50.0%');
    expect(formatChange(0, 'en-US')).toBe('0.0%');
    expect(formatChange(null)).toBe('—');
    expect(formatPoints(0.31, 0.25, 'en-US')).toBe('+6.0 pts');
    expect(formatPoints(0.2, null, 'en-US')).toBe('—');
    expect(formatRate(0.3333)).toBe('33.3%');
  });
});
