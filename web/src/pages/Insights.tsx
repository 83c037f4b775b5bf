import { useState } from 'react';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiProblem, getJson, query, request } from '../api/client';
import { Empty, ErrorMessage, Pager, Pending, RangePicker, StoreFilter, ZoneNote, shortDate, useParam, useStores, useView } from '../components';
import { askable } from '../lib/view';
import { Link, useParams } from 'react-router-dom';
import type { Cohorts, PredictiveMembers, PredictiveSegments, SegmentCustomers, TagSyncs } from '../api/types';
import { formatCount, formatMoney, formatRate } from '../lib/money';
import { checkoutsQuery, cohortsQuery, meQuery, segmentsQuery } from '../api/queries';
import { can } from '../lib/roles';

/** The strongest shade of a retention cell: dark text stays readable on it (4.5:1). */
const HEAT_MAX = 0.75;

type Retention = Cohorts['data'][number]['retention'][number];

/** What a cohort cell can show. */
const COHORT_METRICS = {
  rate: ['Share returning', 'the share of the cohort who ordered that month'],
  orders: ['Orders', 'orders the cohort placed that month'],
  revenue: ['Revenue', 'what those orders are worth now, net of refunds'],
  value: ['Value per customer', "each cohort customer's spend so far: the cohort's lifetime value to date"],
} as const;
type CohortMetric = keyof typeof COHORT_METRICS;

/** A cell's number (for shading) and its text. */
function cohortCell(r: Retention, metric: CohortMetric): [number, string] {
  const money = (amounts: { currency: string; amount: string }[]) =>
    amounts.length ? amounts.map((a) => formatMoney(a.amount, a.currency)).join(' · ') : '—';
  const total = (amounts: { amount: string }[]) => amounts.reduce((sum, a) => sum + Number(a.amount), 0);
  switch (metric) {
    case 'rate':
      return [r.rate, formatRate(r.rate)];
    case 'orders':
      return [r.orders, formatCount(r.orders)];
    case 'revenue':
      return [total(r.revenue), money(r.revenue)];
    case 'value':
      return [total(r.cumulative_revenue_per_customer), money(r.cumulative_revenue_per_customer)];
  }
}

export function Cohorts() {
  const { view, setView, zone, today } = useView('12m');
  const [asked, setMetric] = useParam('metric', 'rate');
  const metric: CohortMetric = asked in COHORT_METRICS ? (asked as CohortMetric) : 'rate';
  const range = { from: view.range.from, to: view.range.to, store_id: view.store || undefined };
  const cohorts = useQuery({ ...cohortsQuery(range), enabled: askable(view), placeholderData: keepPreviousData });
  const widest = Math.max(0, ...(cohorts.data?.data.map((c) => c.retention.length) ?? [0]));
  // Shades are relative to the table's largest figure (rates to 100 %).
  const largest =
    metric === 'rate' ? 1 : Math.max(0, ...(cohorts.data?.data.flatMap((c) => c.retention.map((r) => cohortCell(r, metric)[0])) ?? [0]));
  return (
    <section>
      <h1>Cohorts</h1>
      <p className="hint">Customers grouped by the month of their first order; each cell is {COHORT_METRICS[metric][1]}, that many months later.</p>
      <div className="toolbar">
        <RangePicker view={view} today={today} onChange={setView} />
        <StoreFilter value={view.store} onChange={(store) => setView({ ...view, store })} />
        <label>
          Show{' '}
          <select name="metric" value={metric} onChange={(e) => setMetric(e.target.value)}>
            {Object.entries(COHORT_METRICS).map(([value, [label]]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
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
                <tr key={c.cohort} data-cohort={c.cohort}>
                  <th scope="row">{c.cohort.slice(0, 7)}</th>
                  <td className="num">{c.customers}</td>
                  {c.retention.map((r) => {
                    const [value, text] = cohortCell(r, metric);
                    const shade = largest > 0 ? value / largest : 0;
                    return (
                      <td key={r.month_offset} className="num" style={{ background: `rgba(37, 99, 235, ${HEAT_MAX * shade})` }} title={`${r.customers} customers`}>
                        {text}
                      </td>
                    );
                  })}
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
  // Predictions are per store: the chosen one, or the only one.
  const allStores = useStores().data?.data ?? [];
  const predictiveStore = view.store ? allStores.find((s) => s.id === view.store) : allStores.length === 1 ? allStores[0] : undefined;
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
      <p className="hint">
        Buyers placed by recency and frequency (quintiles within their store){segments.data ? `, as of ${shortDate(segments.data.as_of)}` : ''}; each
        customer's monetary quintile is in their list and the CSV.
      </p>
      <div className="toolbar">
        <StoreFilter value={view.store} onChange={(store) => setView({ ...view, store })} />
      </div>
      {downloadError !== null && <ErrorMessage error={downloadError} />}
      {predictiveStore && <PredictiveSegmentsTable storeId={predictiveStore.id} currency={predictiveStore.currency ?? null} />}
      <Pending query={segments} what="segments" />
      {segments.data && segments.data.buyers === 0 && <Empty>No customer has ordered yet.</Empty>}
      {segments.data && segments.data.buyers > 0 && predictiveStore && <h2>By recency and frequency</h2>}
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
                  <strong>
                    {s.customers > 0 ? <Link to={`/segments/${s.segment}${view.store ? `?store=${view.store}` : ''}`}>{LABELS[s.segment] ?? s.segment}</Link> : (LABELS[s.segment] ?? s.segment)}
                  </strong>
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

const PREDICTIVE: Record<string, [string, string]> = {
  likely_to_return: ['Likely to return', 'half an order or more expected in the next 90 days'],
  high_value_at_risk: ['High value at risk', 'the top fifth by spend, with less than even odds of still being a customer'],
  one_and_done: ['One and done', 'one order, and a quarter of one or less expected in a year'],
};

/** The store's customers in predictive segments (from its customer-lifetime fit). */
function PredictiveSegmentsTable({ storeId, currency }: { storeId: string; currency: string | null }) {
  const segments = useQuery({
    queryKey: ['predictive-segments', storeId],
    queryFn: () => getJson<PredictiveSegments>(`/api/predictions/segments${query({ store_id: storeId })}`),
  });
  const tags = useQuery({
    queryKey: ['segment-tags', storeId],
    queryFn: () => getJson<TagSyncs>(`/api/stores/${storeId}/segment-tags`),
  });
  if (!segments.data || segments.data.data.every((s) => s.customers === 0)) return null;
  return (
    <>
      <h2>Predicted</h2>
      {tags.data?.authorize_url && (
        <p className="notice" role="status" data-needs-scope>
          Shopify has not yet allowed Xeno to tag customers. <a href={tags.data.authorize_url}>Allow tagging in Shopify</a>, then the next sync applies the tags.
        </p>
      )}
      <table>
        <thead>
          <tr>
            <th>Segment</th>
            <th className="num">Customers</th>
            <th className="num">Expected value, next year</th>
            <th>Shopify tag</th>
          </tr>
        </thead>
        <tbody>
          {segments.data.data.map((s) => (
            <tr key={s.segment} data-predictive={s.segment}>
              <td>
                <strong>
                  <Link to={`/segments/predicted/${s.segment}?store=${storeId}`}>{PREDICTIVE[s.segment]?.[0] ?? s.segment}</Link>
                </strong>
                <br />
                <small>{PREDICTIVE[s.segment]?.[1]}</small>
              </td>
              <td className="num" data-count>
                {formatCount(s.customers)}
              </td>
              <td className="num">{currency ? formatMoney(s.clv_365, currency) : s.clv_365}</td>
              <td>
                <SegmentTag storeId={storeId} segment={s.segment} tags={tags.data} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** A predictive segment's Shopify tag: switched on or off by an admin, with what the next
 * sync will change. */
function SegmentTag({ storeId, segment, tags }: { storeId: string; segment: string; tags: TagSyncs | undefined }) {
  const queries = useQueryClient();
  const admin = can(useQuery(meQuery()).data?.user.role, 'admin');
  const sync = tags?.data.find((t) => t.segment === segment);
  const [tag, setTag] = useState(`xeno-${segment.replace(/_/g, '-')}`);
  const path = `/api/stores/${storeId}/segment-tags/${segment}`;
  const change = useMutation({
    mutationFn: (on: boolean) =>
      request(path, on ? { method: 'PUT', body: JSON.stringify({ tag }) } : { method: 'DELETE' }),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ['segment-tags', storeId] }),
  });
  const why = admin ? undefined : 'Only admins and the owner change what Xeno writes to Shopify';
  if (!tags) return null;
  if (sync) {
    return (
      <div data-segment-tag={segment}>
        <code>{sync.tag}</code>{' '}
        {sync.status === 'switching_off' ? (
          <small>coming off at the next sync</small>
        ) : (
          <small data-tag-status>
            {formatCount(sync.tagged)} tagged · {formatCount(sync.pending_add)} to add · {formatCount(sync.pending_remove)} to remove at the next sync
          </small>
        )}
        {sync.last_error && (
          <small className="error" role="status">
            <br />
            {sync.last_error}
          </small>
        )}{' '}
        {sync.status === 'on' && (
          <button type="button" className="link" disabled={!admin || change.isPending} title={why} onClick={() => change.mutate(false)}>
            Switch off
          </button>
        )}
      </div>
    );
  }
  return (
    <form
      className="inline"
      data-segment-tag={segment}
      onSubmit={(event) => {
        event.preventDefault();
        change.mutate(true);
      }}
    >
      <input aria-label={`Shopify tag for ${PREDICTIVE[segment]?.[0] ?? segment}`} name={`tag-${segment}`} value={tag} maxLength={40} onChange={(e) => setTag(e.target.value)} disabled={!admin} />
      <button type="submit" disabled={!admin || change.isPending} title={why}>
        Tag in Shopify
      </button>
      {change.error && <ErrorMessage error={change.error} />}
    </form>
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

const SEGMENT_SORTS = [
  ['spent', 'Most spent'],
  ['orders', 'Most orders'],
  ['last_order', 'Latest order'],
] as const;

/** One segment's customers, a page at a time, sortable; the sort and store in the URL. */
export function SegmentMembers() {
  const { segment = '' } = useParams();
  const { view, setView, today } = useView('30d');
  const [sort, setSortParam] = useParam('sort', 'spent');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useQuery({
    queryKey: ['segment-customers', segment, view.store, sort, cursor, today],
    queryFn: () =>
      getJson<SegmentCustomers>(`/api/metrics/segments/customers${query({ segment, to: today, store_id: view.store || undefined, sort, cursor, limit: 25 })}`),
    placeholderData: keepPreviousData,
  });
  const setSort = (next: string) => {
    setSortParam(next);
    setCursors([]);
  };
  return (
    <section>
      <p>
        <Link to={`/segments${view.store ? `?store=${view.store}` : ''}`}>← Segments</Link>
      </p>
      <h1>{LABELS[segment] ?? segment}</h1>
      {page.data && (
        <p className="hint" data-total={page.data.total}>
          {formatCount(page.data.total)} customers, scored as of {shortDate(page.data.as_of)}
        </p>
      )}
      <div className="toolbar">
        <StoreFilter
          value={view.store}
          onChange={(store) => {
            setView({ ...view, store });
            setCursors([]);
          }}
        />
        <label>
          Sort{' '}
          <select name="sort" value={sort} onChange={(e) => setSort(e.target.value)}>
            {SEGMENT_SORTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Pending query={page} what="customers" />
      {page.data && page.data.data.length === 0 && <Empty>No customer is in this segment.</Empty>}
      {page.data && page.data.data.length > 0 && (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th>Customer</th>
                <th className="num">Orders</th>
                <th className="num">Spent</th>
                <th>Last order</th>
                <th className="num" title="recency, frequency and monetary quintiles, 1–5">
                  R · F · M
                </th>
              </tr>
            </thead>
            <tbody>
              {page.data.data.map((c) => (
                <tr key={`${c.store_id}-${c.customer_id}`} data-member>
                  <td>
                    <Link to={`/customers/${c.store_id}/${c.customer_id}`}>{c.name ?? c.email ?? `Customer ${c.customer_id}`}</Link>
                  </td>
                  <td className="num">{formatCount(c.orders)}</td>
                  <td className="num" data-spent={c.spent}>
                    {formatMoney(c.spent, c.currency)}
                  </td>
                  <td>{shortDate(c.last_order_at)}</td>
                  <td className="num">
                    {c.recency} · {c.frequency} · {c.monetary}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager cursors={cursors} next={page.data?.next_cursor} onChange={setCursors} />
    </section>
  );
}

/** A predictive segment's customers, the highest expected value first. */
export function PredictiveSegmentMembers() {
  const { segment = '' } = useParams();
  const { view } = useView('30d');
  const stores = useStores();
  const store = stores.data?.data.find((s) => s.id === view.store) ?? (stores.data?.data.length === 1 ? stores.data.data[0] : undefined);
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const page = useQuery({
    queryKey: ['predictive-members', segment, store?.id, cursor],
    queryFn: () => getJson<PredictiveMembers>(`/api/predictions/segments/customers${query({ segment, store_id: store?.id, cursor, limit: 25 })}`),
    enabled: Boolean(store),
    placeholderData: keepPreviousData,
  });
  const currency = store?.currency ?? null;
  return (
    <section>
      <p>
        <Link to={`/segments${store ? `?store=${store.id}` : ''}`}>← Segments</Link>
      </p>
      <h1>{PREDICTIVE[segment]?.[0] ?? segment}</h1>
      <p className="hint">{PREDICTIVE[segment]?.[1]}</p>
      {!store && <Empty>Choose a store on the Segments page.</Empty>}
      <Pending query={page} what="customers" />
      {page.data && page.data.data.length === 0 && <Empty>No customer is in this segment.</Empty>}
      {page.data && page.data.data.length > 0 && (
        <div className="scroll">
          <table>
            <thead>
              <tr>
                <th>Customer</th>
                <th className="num">Orders</th>
                <th className="num">Spent</th>
                <th className="num">Still a customer</th>
                <th className="num">Orders expected (year)</th>
                <th className="num">Expected value (year)</th>
              </tr>
            </thead>
            <tbody>
              {page.data.data.map((c) => (
                <tr key={c.customer_id} data-predicted-member={c.customer_id}>
                  <td>
                    <Link to={`/customers/${page.data.store_id}/${c.customer_id}`}>
                      {[c.first_name, c.last_name].filter(Boolean).join(' ') || c.email || `Customer ${c.customer_id}`}
                    </Link>
                  </td>
                  <td className="num">{formatCount(c.orders)}</td>
                  <td className="num">{currency ? formatMoney(c.spent, currency) : c.spent}</td>
                  <td className="num">{formatRate(c.chance_alive)}</td>
                  <td className="num">{c.expected_orders_365.toFixed(1)}</td>
                  <td className="num">{currency ? formatMoney(c.predicted_value_365, currency) : c.predicted_value_365}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager cursors={cursors} next={page.data?.next_cursor} onChange={setCursors} />
    </section>
  );
}
