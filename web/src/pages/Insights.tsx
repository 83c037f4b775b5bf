import { useState } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { ApiProblem, query, request } from '../api/client';
import { Empty, ErrorMessage, Pending, RangePicker, StoreFilter, ZoneNote, shortDate, useView } from '../components';
import { askable } from '../lib/view';
import { formatCount, formatMoney, formatRate } from '../lib/money';
import { checkoutsQuery, cohortsQuery, segmentsQuery } from '../api/queries';

/** The strongest shade of a retention cell: dark text stays readable on it (4.5:1). */
const HEAT_MAX = 0.75;

export function Cohorts() {
  const { view, setView, zone, today } = useView('12m');
  const params = { from: view.range.from, to: view.range.to, store_id: view.store || undefined };
  const cohorts = useQuery({ ...cohortsQuery(params), enabled: askable(view), placeholderData: keepPreviousData });
  const widest = Math.max(0, ...(cohorts.data?.data.map((c) => c.retention.length) ?? [0]));
  return (
    <section>
      <h1>Cohorts</h1>
      <p className="hint">Customers grouped by the month of their first order; each cell is the share who ordered again that many months later.</p>
      <div className="toolbar">
        <RangePicker view={view} today={today} onChange={setView} />
        <StoreFilter value={view.store} onChange={(store) => setView({ ...view, store })} />
        <ZoneNote zone={zone} />
      </div>
      <Pending query={cohorts} what="cohorts" />
      {cohorts.data && cohorts.data.data.length === 0 && <Empty>No first orders in this range.</Empty>}
      {cohorts.data && cohorts.data.data.length > 0 && (
        <div className="scroll">
          <table className="heatmap">
            <thead>
              <tr>
                <th>Cohort</th>
                <th className="num">Customers</th>
                {Array.from({ length: widest }, (_, i) => (
                  <th key={i} className="num">
                    M{i}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {cohorts.data.data.map((c) => (
                <tr key={c.cohort}>
                  <th scope="row">{c.cohort.slice(0, 7)}</th>
                  <td className="num">{c.customers}</td>
                  {c.retention.map((r) => (
                    <td key={r.month_offset} className="num" style={{ background: `rgba(37, 99, 235, ${HEAT_MAX * r.rate})` }} title={`${r.customers} customers`}>
                      {formatRate(r.rate)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const LABELS: Record<string, string> = {
  champions: 'Champions',
  loyal: 'Loyal',
  promising: 'Promising',
  needs_attention: 'Needs attention',
  at_risk: 'At risk',
  hibernating: 'Hibernating',
  lost: 'Lost',
};

export function Segments() {
  const { view, setView, today } = useView('30d');
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const params = { to: today, store_id: view.store || undefined };
  const segments = useQuery(segmentsQuery(params));

  const download = async (segment: string) => {
    setDownloadError(null);
    try {
      const response = await request(`/api/metrics/segments/export${query({ ...params, segment })}`);
      const blob = await response.blob();
      const link = document.createElement('a');
      link.href = URL.createObjectURL(blob);
      link.download = `${segment}-${params.to}.csv`;
      link.click();
      URL.revokeObjectURL(link.href);
    } catch (error) {
      setDownloadError(error instanceof ApiProblem ? error : new Error('download failed'));
    }
  };

  return (
    <section>
      <h1>Segments</h1>
      <p className="hint">Buyers scored by recency and frequency (quintiles within their store).</p>
      <div className="toolbar">
        <StoreFilter value={view.store} onChange={(store) => setView({ ...view, store })} />
      </div>
      {downloadError !== null && <ErrorMessage error={downloadError} />}
      <Pending query={segments} what="segments" />
      {segments.data && segments.data.buyers === 0 && <Empty>No customer has ordered yet.</Empty>}
      {segments.data && segments.data.buyers > 0 && (
        <table>
          <thead>
            <tr>
              <th>Segment</th>
              <th className="num">Customers</th>
              <th className="num">Share</th>
              <th className="num">Revenue</th>
              <th>Export</th>
            </tr>
          </thead>
          <tbody>
            {segments.data.data.map((s) => (
              <tr key={s.segment} data-segment={s.segment}>
                <td>
                  <strong>{LABELS[s.segment] ?? s.segment}</strong>
                  <br />
                  <small>{s.description}</small>
                </td>
                <td className="num" data-count>
                  {formatCount(s.customers)}
                </td>
                <td className="num">{formatRate(s.share)}</td>
                <td className="num">{s.revenue.length ? s.revenue.map((r) => formatMoney(r.amount, r.currency)).join(' · ') : '—'}</td>
                <td>
                  <button type="button" onClick={() => download(s.segment)} disabled={s.customers === 0}>
                    Download CSV
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function Checkouts() {
  const { view, setView, zone, today } = useView('30d');
  const params = { from: view.range.from, to: view.range.to, store_id: view.store || undefined };
  const checkouts = useQuery({ ...checkoutsQuery(params), enabled: askable(view), placeholderData: keepPreviousData });
  return (
    <section>
      <h1>Checkouts</h1>
      <p className="hint">A checkout not completed ten hours after its last change counts as abandoned.</p>
      <div className="toolbar">
        <RangePicker view={view} today={today} onChange={setView} />
        <StoreFilter value={view.store} onChange={(store) => setView({ ...view, store })} />
        <ZoneNote zone={zone} />
      </div>
      <Pending query={checkouts} what="checkouts" />
      {checkouts.data && checkouts.data.data.length === 0 && <Empty>No checkouts in this range.</Empty>}
      {checkouts.data?.data.map((c) => (
        <div key={c.currency} className="funnel" data-currency={c.currency}>
          <h2>{c.currency}</h2>
          <ol>
            <li style={{ width: '100%' }}>
              Started <strong>{formatCount(c.started)}</strong>
            </li>
            <li style={{ width: `${c.started ? Math.max(8, (c.completed / c.started) * 100) : 0}%` }}>
              Completed <strong>{formatCount(c.completed)}</strong> · {formatMoney(c.completed_value, c.currency)}
            </li>
            <li className="lost" style={{ width: `${c.started ? Math.max(8, (c.abandoned / c.started) * 100) : 0}%` }}>
              Abandoned <strong>{formatCount(c.abandoned)}</strong> · {formatMoney(c.abandoned_value, c.currency)}
            </li>
            {c.open > 0 && (
              <li className="open" style={{ width: `${Math.max(8, (c.open / c.started) * 100)}%` }}>
                Still open <strong data-open>{formatCount(c.open)}</strong>
              </li>
            )}
          </ol>
          {c.completions_known_since && c.completions_known_since.slice(0, 10) > view.range.from && (
            <p className="hint" data-unknown-completions>
              Shopify lets apps export abandoned checkouts only: checkouts completed before {shortDate(c.completions_known_since)}, when the store was connected,
              are unknown, so the rate counts checkouts begun since then.
            </p>
          )}
          <p>
            Abandonment rate: {c.abandonment_rate == null ? '—' : formatRate(c.abandonment_rate)} · Recovered after abandonment:{' '}
            <strong data-recovered>{formatCount(c.recovered)}</strong> ({formatMoney(c.recovered_value, c.currency)})
          </p>
        </div>
      ))}
    </section>
  );
}
