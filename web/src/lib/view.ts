/**
 * What a page shows (range, store, granularity), kept in the URL's query string so a view
 * survives a reload and can be shared, with the store picker's last choice remembered.
 * Dates are calendar days in the store's time zone: presets end on "today" there.
 */
import { PRESETS, presetRange, rangeProblem, type DateRange, type Preset } from './dates';

export type Granularity = 'day' | 'week' | 'month';
export const GRANULARITIES: Granularity[] = ['day', 'week', 'month'];

export interface View {
  preset: Preset | 'custom';
  range: DateRange;
  /** One store's id, or '' for all. */
  store: string;
  /** Chart buckets; when absent, the range's sensible default. */
  granularity?: Granularity;
}

/** Where the store picker's last choice is kept between visits. */
export const STORE_KEY = 'xeno.store';

/** Today's calendar date in `zone` (an IANA name), as `YYYY-MM-DD`. */
export function todayIn(zone: string | undefined, now: Date = new Date()): string {
  try {
    // en-CA writes dates as YYYY-MM-DD.
    return new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  } catch {
    return new Intl.DateTimeFormat('en-CA', { year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
  }
}

/** Days up to a month read by day, up to half a year by week, longer by month. */
export function defaultGranularity(range: DateRange): Granularity {
  const days = (Date.parse(range.to) - Date.parse(range.from)) / 86_400_000 + 1;
  if (days <= 45) return 'day';
  if (days <= 190) return 'week';
  return 'month';
}

/**
 * The view a query string asks for; what is missing or malformed falls back to the page's
 * `fallback` preset (and the remembered store), so a bad link still shows something true.
 */
export function readView(params: URLSearchParams, today: string, fallback: Preset, rememberedStore = ''): View {
  const preset = params.get('range');
  const store = params.get('store') ?? rememberedStore;
  const granularity = params.get('granularity');
  const chosen = GRANULARITIES.find((g) => g === granularity);
  const from = params.get('from');
  const to = params.get('to');
  if (preset === 'custom' && from && to) {
    // An impossible custom range is kept as asked, so the page can say what is wrong.
    return { preset: 'custom', range: { from, to }, store, granularity: chosen };
  }
  const known = PRESETS.find((p) => p.id === preset)?.id ?? fallback;
  return { preset: known, range: presetRange(known, today), store, granularity: chosen };
}

/** The query string for a view (a preset's dates are not written: they move with today). */
export function writeView(view: View): URLSearchParams {
  const params = new URLSearchParams();
  params.set('range', view.preset);
  if (view.preset === 'custom') {
    params.set('from', view.range.from);
    params.set('to', view.range.to);
  }
  if (view.store) params.set('store', view.store);
  if (view.granularity) params.set('granularity', view.granularity);
  return params;
}

/** Whether the view's range can be asked for (a custom one may not be). */
export function askable(view: View): boolean {
  return view.preset !== 'custom' || rangeProblem(view.range) === null;
}

/**
 * The zone a view's dates are in: the chosen store's, or the zone all stores share; with
 * stores in several zones and none chosen, each store's figures are in its own zone.
 */
export function viewZone(store: string, stores: { id: string; iana_timezone?: string | null }[]): string | null {
  const zones = new Set(
    stores.filter((s) => !store || s.id === store).map((s) => s.iana_timezone).filter((z): z is string => Boolean(z)),
  );
  return zones.size === 1 ? [...zones][0] : null;
}
