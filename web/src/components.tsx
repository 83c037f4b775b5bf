import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useSearchParams } from 'react-router-dom';
import { ApiProblem } from './api/client';
import { PRESETS, type Preset, presetRange, rangeProblem } from './lib/dates';
import { STORE_KEY, readView, todayIn, viewZone, writeView, type View } from './lib/view';
import { storesQuery } from './api/queries';

export function Loading({ what }: { what: string }) {
  return (
    <p className="loading" role="status">
      Loading {what}…
    </p>
  );
}

export function ErrorMessage({ error }: { error: unknown }) {
  const message = error instanceof ApiProblem ? error.message : 'Something went wrong.';
  return (
    <p className="error" role="alert">
      {message}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

/** What a query shows while it is not ready: loading, or the error (nothing while it is
 * not asked for, as when a range cannot be). */
export function Pending({ query, what }: { query: { isPending: boolean; error: unknown; fetchStatus?: string }; what: string }) {
  if (query.error) {
    return <ErrorMessage error={query.error} />;
  }
  return query.isPending && query.fetchStatus !== 'idle' ? <Loading what={what} /> : null;
}

export function useStores() {
  return useQuery(storesQuery());
}

export function StoreFilter({ value, onChange }: { value: string; onChange: (store: string) => void }) {
  const stores = useStores();
  return (
    <label>
      Store{' '}
      <select value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">All stores</option>
        {stores.data?.data.map((s) => (
          <option key={s.id} value={s.id}>
            {s.name ?? s.shop_domain}
          </option>
        ))}
      </select>
    </label>
  );
}

function remembered(): string {
  try {
    return localStorage.getItem(STORE_KEY) ?? '';
  } catch {
    return '';
  }
}

/**
 * The page's view (range, store, granularity) as the URL says, `fallback` being the page's
 * default range; presets end today in the view's zone. Setting it rewrites the URL (so a
 * reload or a shared link shows the same) and remembers the store.
 */
export function useView(fallback: Preset) {
  const [params, setParams] = useSearchParams();
  const stores = useStores().data?.data ?? [];
  const store = params.get('store') ?? remembered();
  const zone = viewZone(store, stores);
  const today = todayIn(zone ?? undefined);
  const view = readView(params, today, fallback, remembered());
  const setView = (next: View) => {
    try {
      localStorage.setItem(STORE_KEY, next.store);
    } catch {
      // Private browsing: the URL still holds it.
    }
    // The view's own keys are rewritten; a page's other filters stay.
    const merged = new URLSearchParams(params);
    for (const key of ['range', 'from', 'to', 'store', 'granularity']) merged.delete(key);
    writeView(next).forEach((value, key) => merged.set(key, value));
    setParams(merged, { replace: true });
  };
  return { view, setView, zone, today };
}

/** Which days the figures are in. */
export function ZoneNote({ zone }: { zone: string | null }) {
  return (
    <span className="hint" data-zone={zone ?? ''}>
      {zone ? `Days in ${zone}` : "Each store's days in its own time zone"}
    </span>
  );
}

export function RangePicker({ view, today, onChange }: { view: View; today: string; onChange: (view: View) => void }) {
  const problem = view.preset === 'custom' ? rangeProblem(view.range) : null;
  return (
    <div className="range" role="group" aria-label="Date range">
      {PRESETS.map((p) => (
        <button
          key={p.id}
          type="button"
          aria-pressed={view.preset === p.id}
          onClick={() => onChange({ ...view, preset: p.id, range: presetRange(p.id, today), granularity: undefined })}
        >
          {p.label}
        </button>
      ))}
      <label>
        From{' '}
        <input
          type="date"
          name="from"
          value={view.range.from}
          onChange={(e) => onChange({ ...view, preset: 'custom', range: { ...view.range, from: e.target.value } })}
        />
      </label>
      <label>
        To{' '}
        <input
          type="date"
          name="to"
          value={view.range.to}
          onChange={(e) => onChange({ ...view, preset: 'custom', range: { ...view.range, to: e.target.value } })}
        />
      </label>
      {problem && (
        <span className="error" role="alert">
          {problem} The figures shown are for the last range asked.
        </span>
      )}
    </div>
  );
}

/** A day in words (`Nov 30, 2026`), on the calendar of `zone` (a store's) when given. */
export function shortDate(iso: string | null | undefined, zone?: string | null): string {
  if (!iso) {
    return '—';
  }
  const options: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric' };
  try {
    return new Date(iso).toLocaleDateString(undefined, { ...options, timeZone: zone ?? undefined });
  } catch {
    return new Date(iso).toLocaleDateString(undefined, options);
  }
}

/** A moment with its date and time in `zone`, the zone named (`Nov 30, 2026, 10:30 PM EST`). */
export function dateTime(iso: string, zone?: string | null): string {
  const options: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'short' };
  try {
    const text = new Date(iso).toLocaleString(undefined, { ...options, timeZone: zone ?? undefined });
    return zone ? `${text} (${zone})` : text;
  } catch {
    return new Date(iso).toLocaleString(undefined, options);
  }
}

/** Each store's zone and currency, by store id. */
export function useStoreFacts() {
  const stores = useStores().data?.data ?? [];
  const byId = new Map(stores.map((s) => [s.id, s]));
  return {
    zoneOf: (storeId: string) => byId.get(storeId)?.iana_timezone ?? undefined,
    currencyOf: (storeId: string) => byId.get(storeId)?.currency ?? undefined,
  };
}

/** Previous and next through cursor pages, `cursors` being the way back. */
export function Pager({ cursors, next, onChange }: { cursors: string[]; next: string | null | undefined; onChange: (cursors: string[]) => void }) {
  return (
    <div className="pager">
      <button type="button" disabled={cursors.length === 0} onClick={() => onChange(cursors.slice(0, -1))}>
        Previous
      </button>
      <span>Page {cursors.length + 1}</span>
      <button type="button" disabled={!next} onClick={() => next && onChange([...cursors, next])}>
        Next
      </button>
    </div>
  );
}

/** A query-string value of the page's own, beside the view's (left out when it is `fallback`). */
export function useParam(name: string, fallback: string): [string, (value: string) => void] {
  const [params, setParams] = useSearchParams();
  const set = (value: string) => {
    const next = new URLSearchParams(params);
    if (value && value !== fallback) next.set(name, value);
    else next.delete(name);
    setParams(next, { replace: true });
  };
  return [params.get(name) ?? fallback, set];
}
