import { describe, expect, it } from 'vitest';
import { addDays, formatDuration, lengthInDays, presetRange, previousPeriod, rangeProblem } from './dates';

describe('date ranges', () => {
  it('presets end today and count both ends', () => {
    expect(presetRange('7d', '2026-03-01')).toEqual({ from: '2026-02-23', to: '2026-03-01' });
    expect(lengthInDays(presetRange('30d', '2026-03-01'))).toBe(30);
    expect(lengthInDays(presetRange('90d', '2024-03-01'))).toBe(90);
    expect(presetRange('year', '2026-11-26')).toEqual({ from: '2026-01-01', to: '2026-11-26' });
  });

  it('crosses month, year and leap-day boundaries', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(addDays('2026-01-01', -1)).toBe('2025-12-31');
  });

  it('the previous period has the same length and ends the day before', () => {
    const range = { from: '2026-03-01', to: '2026-03-31' };
    const previous = previousPeriod(range);
    expect(previous).toEqual({ from: '2026-01-29', to: '2026-02-28' });
    expect(lengthInDays(previous)).toBe(lengthInDays(range));
  });

  it('explains what is wrong with a custom range', () => {
    expect(rangeProblem({ from: '2026-03-02', to: '2026-03-01' })).toMatch(/after/);
    expect(rangeProblem({ from: '', to: '2026-03-01' })).toMatch(/both/);
    expect(rangeProblem({ from: '2020-01-01', to: '2026-01-01' })).toMatch(/three years/);
    expect(rangeProblem({ from: '2026-03-01', to: '2026-03-01' })).toBeNull();
  });
});

describe('durations', () => {
  it('reads as seconds, then minutes, then hours and minutes', () => {
    expect(formatDuration(0.4)).toBe('0 s');
    expect(formatDuration(89)).toBe('89 s');
    expect(formatDuration(90)).toBe('2 min');
    expect(formatDuration(89 * 60)).toBe('89 min');
    expect(formatDuration(80 * 60 + 20 * 60)).toBe('1 h 40 min');
    expect(formatDuration(-5)).toBe('0 s');
  });
});

describe('steadyEstimate', () => {
  it('counts down instead of jumping with each burst of a sync', async () => {
    const { steadyEstimate } = await import('./dates');
    let shown = steadyEstimate(null, 20, 0);
    // The pace dips while Shopify prepares the next export: the estimate rises, the clock does not.
    for (const [estimate, at, expected] of [
      [24, 4_000, 16],
      [28, 8_000, 12],
      [10, 10_000, 10],
      [11, 12_000, 8],
    ] as const) {
      shown = steadyEstimate(shown, estimate, at);
      expect(shown.seconds).toBeCloseTo(expected);
    }
    // A new estimate far above the countdown is believed.
    expect(steadyEstimate(shown, 60, 13_000).seconds).toBe(60);
  });
});
