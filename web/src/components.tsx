import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ApiProblem } from './api/client';
import { PRESETS, type DateRange, type Preset, localToday, presetRange, rangeProblem } from './lib/dates';
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

/** What a query shows while it is not ready: loading, or the error. */
export function Pending({ query, what }: { query: { isPending: boolean; error: unknown }; what: string }) {
  if (query.error) {
    return <ErrorMessage error={query.error} />;
  }
  return query.isPending ? <Loading what={what} /> : null;
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

export interface RangeChoice {
  preset: Preset | 'custom';
  range: DateRange;
}

export function initialRange(): RangeChoice {
  return { preset: '30d', range: presetRange('30d', localToday()) };
}

export function RangePicker({ value, onChange }: { value: RangeChoice; onChange: (choice: RangeChoice) => void }) {
  const problem = value.preset === 'custom' ? rangeProblem(value.range) : null;
  return (
    <div className="range" role="group" aria-label="Date range">
      {PRESETS.map((p) => (
        <button
          key={p.id}
          type="button"
          aria-pressed={value.preset === p.id}
          onClick={() => onChange({ preset: p.id, range: presetRange(p.id, localToday()) })}
        >
          {p.label}
        </button>
      ))}
      <label>
        From{' '}
        <input
          type="date"
          name="from"
          value={value.range.from}
          onChange={(e) => onChange({ preset: 'custom', range: { ...value.range, from: e.target.value } })}
        />
      </label>
      <label>
        To{' '}
        <input
          type="date"
          name="to"
          value={value.range.to}
          onChange={(e) => onChange({ preset: 'custom', range: { ...value.range, to: e.target.value } })}
        />
      </label>
      {problem && (
        <span className="error" role="alert">
          {problem}
        </span>
      )}
    </div>
  );
}

export function shortDate(iso: string | null | undefined): string {
  if (!iso) {
    return '—';
  }
  return new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}
