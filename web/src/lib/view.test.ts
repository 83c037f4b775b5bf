import { describe, expect, it } from 'vitest';
import { defaultGranularity, readView, todayIn, viewZone, writeView } from './view';

describe('view state', () => {
  it('round-trips through the query string', () => {
    const view = { preset: 'custom' as const, range: { from: '2026-01-05', to: '2026-02-10' }, store: 's1', granularity: 'week' as const };
    expect(readView(writeView(view), '2026-11-30', '30d')).toEqual(view);
  });

  it('keeps presets relative to today and leaves their dates out of the URL', () => {
    const params = writeView({ preset: '7d', range: { from: '2026-11-24', to: '2026-11-30' }, store: '' });
    expect(params.toString()).toBe('range=7d');
    expect(readView(params, '2026-12-02', '30d').range).toEqual({ from: '2026-11-26', to: '2026-12-02' });
  });

  it('falls back to the page default and the remembered store for missing or bad values', () => {
    const view = readView(new URLSearchParams('range=nonsense&granularity=hourly'), '2026-11-30', '30d', 'remembered');
    expect(view).toEqual({ preset: '30d', range: { from: '2026-11-01', to: '2026-11-30' }, store: 'remembered', granularity: undefined });
  });

  it('keeps an impossible custom range as asked so the page can explain it', () => {
    const view = readView(new URLSearchParams('range=custom&from=2026-03-01&to=2026-02-01'), '2026-11-30', '30d');
    expect(view.range).toEqual({ from: '2026-03-01', to: '2026-02-01' });
  });
});

describe('time zones', () => {
  it("computes today in the store's zone, not the browser's", () => {
    // 03:30 UTC on Dec 1 is still Nov 30 in New York and already Dec 1 in Tokyo.
    const now = new Date('2026-12-01T03:30:00Z');
    expect(todayIn('America/New_York', now)).toBe('2026-11-30');
    expect(todayIn('Asia/Tokyo', now)).toBe('2026-12-01');
  });

  it('names the one zone of the chosen store, or the zone all stores share', () => {
    const stores = [
      { id: 'a', iana_timezone: 'America/New_York' },
      { id: 'b', iana_timezone: 'Europe/Paris' },
    ];
    expect(viewZone('b', stores)).toBe('Europe/Paris');
    expect(viewZone('', stores)).toBeNull();
    expect(viewZone('', [stores[0]])).toBe('America/New_York');
  });
});

describe('granularity', () => {
  it('reads a month by day, a quarter by week and a year by month', () => {
    expect(defaultGranularity({ from: '2026-11-01', to: '2026-11-30' })).toBe('day');
    expect(defaultGranularity({ from: '2026-09-01', to: '2026-11-30' })).toBe('week');
    expect(defaultGranularity({ from: '2026-01-01', to: '2026-11-30' })).toBe('month');
  });
});
