import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router-dom';
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { Empty, Pending, RangePicker, StoreFilter, ZoneNote, shortDate, useParam, useStores, useView } from '../components';
import { formatChange, formatCount, formatMoney, formatPoints, formatRate } from '../lib/money';
import { GRANULARITIES, askable, defaultGranularity, type Granularity } from '../lib/view';
import type { CurrencySales, Dashboard } from '../api/types';
import { variantName } from '../lib/words';
import { dashboardQuery, predictionsQuery, topProductsQuery } from '../api/queries';

/** How often the overview asks for fresh figures. */
const LIVE_MS = 15_000;

/** What the figures are compared with, in words. */
const COMPARED: Record<string, string> = { period: 'the previous period', year: 'the same days a year before' };

function Kpi({
  label,
  value,
  change,
  changeText,
  name,
  against,
}: {
  label: string;
  value: string;
  change?: number | null;
  changeText?: string;
  name: string;
  against?: string;
}) {
  const trend = change === null || change === undefined ? 'flat' : change > 0 ? 'up' : change < 0 ? 'down' : 'flat';
  return (
    <div className="kpi" data-kpi={name}>
      <span className="kpi-label">{label}</span>
      <span className="kpi-value">{value}</span>
      <span className={`kpi-change ${trend}`} title={`against ${against ?? COMPARED.period}`}>
        {changeText ?? formatChange(change)}
      </span>
    </div>
  );
}

export function Overview() {
  const { view, setView, zone, today } = useView('30d');
  const stores = useStores();
  const granularity = view.granularity ?? defaultGranularity(view.range);
  const params = { from: view.range.from, to: view.range.to, store_id: view.store || undefined };
  const [compared, setCompared] = useParam('compare', 'period');
  const against = COMPARED[compared] ?? COMPARED.period;
  const dashboard = useQuery({
    ...dashboardQuery({ ...params, granularity, compare: compared === 'year' ? 'previous_year' : 'previous_period' }),
    enabled: askable(view),
    // An impossible range keeps the last figures on screen instead of blanking them.
    placeholderData: keepPreviousData,
    // Live orders keep arriving: follow them (answers are cached until the data changes).
    refetchInterval: LIVE_MS,
  });
  const outlook = useQuery(predictionsQuery(view.store || undefined));
  const [sellersBy, setSellersBy] = useParam('by', 'product');
  const products = useQuery({
    ...topProductsQuery({ ...params, limit: 5, by: sellersBy === 'variant' ? 'variant' : undefined }),
    enabled: askable(view),
    placeholderData: keepPreviousData,
    refetchInterval: LIVE_MS,
  });

  if (stores.data && stores.data.data.length === 0) {
    return (
      <section>
        <h1>Overview</h1>
        <Empty>
          No store is connected yet. <Link to="/stores">Connect your Shopify store</Link> to see its figures.
        </Empty>
      </section>
    );
  }

  const d = dashboard.data;
  const change = d?.previous?.change;
  return (
    <section>
      <h1>Overview</h1>
      <div className="toolbar">
        <RangePicker view={view} today={today} onChange={setView} />
        <StoreFilter value={view.store} onChange={(store) => setView({ ...view, store })} />
        <label>
          Chart by{' '}
          <select name="granularity" value={granularity} onChange={(e) => setView({ ...view, granularity: e.target.value as Granularity })}>
            {GRANULARITIES.map((g) => (
              <option key={g} value={g}>
                {g}
              </option>
            ))}
          </select>
        </label>
        <label>
          Compare with{' '}
          <select name="compare" value={compared} onChange={(e) => setCompared(e.target.value)}>
            <option value="period">previous period</option>
            <option value="year">previous year</option>
          </select>
        </label>
        <ZoneNote zone={zone} />
      </div>
      <Pending query={dashboard} what="figures" />
      {d && (
        <>
          <div className="kpis">
            {d.totals.sales.map((s) => {
              const c = change?.sales.find((x) => x.currency === s.currency);
              return (
                <div className="kpi-group" key={s.currency}>
                  <Kpi name={`net_sales-${s.currency}`} label={`Net sales (${s.currency})`} value={formatMoney(s.net_sales, s.currency)} change={c?.net_sales} against={against} />
                  <Kpi name={`total_sales-${s.currency}`} label={`Total sales (${s.currency})`} value={formatMoney(s.total_sales, s.currency)} change={c?.total_sales} against={against} />
                  <Kpi name={`aov-${s.currency}`} label={`Average order (${s.currency})`} value={formatMoney(s.average_order_value, s.currency)} change={c?.average_order_value} against={against} />
                </div>
              );
            })}
            {(outlook.data?.data ?? [])
              .filter((fit) => fit.expected_revenue_90 != null)
              .map((fit) => {
                const store = stores.data?.data.find((s) => s.id === fit.store_id);
                if (!store?.currency) return null;
                return (
                  <div className="kpi-group" key={fit.store_id}>
                    <Kpi
                      name={`expected_90-${fit.store_id}`}
                      label={`Expected from existing customers, next 90 days (${store.name ?? store.shop_domain})`}
                      value={formatMoney(String(fit.expected_revenue_90), store.currency)}
                      changeText="customer-lifetime model: see Definitions"
                    />
                  </div>
                );
              })}
            <div className="kpi-group">
              <Kpi name="orders" label="Orders" value={formatCount(d.totals.orders)} change={change?.orders} against={against} />
              <Kpi name="customers" label="Customers who ordered" value={formatCount(d.totals.buyers)} change={change?.buyers} against={against} />
              <Kpi name="new_customers" label="New customers (first order)" value={formatCount(d.totals.new_customers)} change={change?.new_customers} against={against} />
              <Kpi
                name="repeat_rate"
                label="Repeat purchase rate"
                value={formatRate(d.totals.repeat_purchase_rate)}
                change={change?.repeat_purchase_rate}
                against={against}
                changeText={formatPoints(d.totals.repeat_purchase_rate, d.previous?.totals.repeat_purchase_rate)}
              />
            </div>
          </div>
          {d.previous && !d.previous.complete && (
            <p className="hint" data-partial-comparison>
              The comparison period ({shortDate(d.previous.from)} – {shortDate(d.previous.to)}) starts before the first sale here, so its changes compare with a
              partial period.
            </p>
          )}
          {d.totals.orders === 0 ? (
            <Empty>No orders in this range.</Empty>
          ) : (
            <>
              <SalesChart dashboard={d} granularity={granularity} previousLabel={compared === 'year' ? 'previous year' : 'previous period'} />
              <Breakdown sales={d.totals.sales} />
            </>
          )}
          <div className="columns">
            <div>
              <h2>Top customers</h2>
              {d.top_customers.length === 0 ? (
                <Empty>No customer ordered in this range.</Empty>
              ) : (
                <table>
                  <thead>
                    <tr>
                      <th>Customer</th>
                      <th className="num">Orders</th>
                      <th className="num">Spent</th>
                      <th>Last order</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.top_customers.map((c) => (
                      <tr key={`${c.store_id}-${c.customer_id}`}>
                        <td>
                          <Link to={`/customers/${c.store_id}/${c.customer_id}`}>{c.name ?? c.email ?? `Customer ${c.customer_id}`}</Link>
                        </td>
                        <td className="num">{c.orders}</td>
                        <td className="num">{formatMoney(c.spent, c.currency)}</td>
                        <td>{shortDate(c.last_order_at)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
            <div>
              <h2>Top {sellersBy === 'variant' ? 'variants' : 'products'}</h2>
              <label>
                By{' '}
                <select name="sellers-by" value={sellersBy} onChange={(e) => setSellersBy(e.target.value)}>
                  <option value="product">product</option>
                  <option value="variant">variant</option>
                </select>
              </label>
              <Pending query={products} what="products" />
              {products.data && products.data.data.length === 0 && <Empty>Nothing sold in this range.</Empty>}
              {products.data && products.data.data.length > 0 && (
                <table>
                  <thead>
                    <tr>
                      <th>Product</th>
                      <th className="num">Units</th>
                      <th className="num">Revenue</th>
                    </tr>
                  </thead>
                  <tbody>
                    {products.data.data.map((p) => (
                      <tr key={`${p.store_id}-${p.product_id}-${p.variant_id}-${p.currency}`} data-seller={p.variant_id ?? p.product_id ?? ''}>
                        <td>
                          {p.title}
                          {p.variant_title && variantName(p.variant_title, '') && (
                            <span className="muted"> · {variantName(p.variant_title, '')}</span>
                          )}
                        </td>
                        <td className="num">{p.units}</td>
                        <td className="num">{formatMoney(p.revenue, p.currency)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          </div>
        </>
      )}
    </section>
  );
}

const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626'];

/** A bucket's first day (a calendar date) in words: `Nov 3`. */
function dayInWords(day: string): string {
  return new Date(`${day}T00:00:00Z`).toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
}

const compactNumbers = new Intl.NumberFormat(undefined, { notation: 'compact' });

function compact(value: number): string {
  return compactNumbers.format(value);
}

/** Shopify's sales breakdown, one column per currency: each line adds to or takes from
 * the one before, down to total sales. */
function Breakdown({ sales }: { sales: CurrencySales[] }) {
  const lines: [keyof CurrencySales, string, string][] = [
    ['gross_sales', 'Gross sales', ''],
    ['discounts', 'Discounts', '−'],
    ['returns', 'Returns', '−'],
    ['net_sales', 'Net sales', '='],
    ['shipping', 'Shipping', '+'],
    ['taxes', 'Taxes', '+'],
    ['duties', 'Duties', '+'],
    ['additional_fees', 'Additional fees', '+'],
    ['total_sales', 'Total sales', '='],
  ];
  return (
    <div className="scroll">
      <table className="breakdown" aria-label="Sales breakdown">
        <thead>
          <tr>
            <th>Sales breakdown</th>
            {sales.map((s) => (
              <th key={s.currency} className="num">
                {s.currency}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {lines.map(([field, label, sign]) => (
            <tr key={field} data-line={field} className={sign === '=' ? 'subtotal' : undefined}>
              <th scope="row">
                <span aria-hidden="true">{sign} </span>
                {label}
              </th>
              {sales.map((s) => (
                <td key={s.currency} className="num" data-currency={s.currency}>
                  {formatMoney(String(s[field]), s.currency)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function SalesChart({ dashboard, granularity, previousLabel }: { dashboard: Dashboard; granularity: Granularity; previousLabel: string }) {
  const currencies = dashboard.totals.sales.map((s) => s.currency);
  // The compared period drawn beside the range, bucket by bucket.
  const previous = dashboard.previous?.series ?? [];
  const rows = dashboard.series.map((p, i) => {
    const row: Record<string, string | number> = { day: p.start, orders: p.orders };
    for (const s of p.sales) {
      row[`net ${s.currency}`] = Number(s.net_sales);
    }
    for (const s of previous[i]?.sales ?? []) {
      row[`net ${s.currency}, ${previousLabel}`] = Number(s.net_sales);
    }
    return row;
  });
  return (
    <figure className="chart" aria-label={`Net sales and orders by ${granularity}`}>
      <ResponsiveContainer width="100%" height={280}>
        <LineChart data={rows} margin={{ top: 8, right: 16, bottom: 8, left: 8 }}>
          <CartesianGrid strokeDasharray="3 3" />
          <XAxis dataKey="day" minTickGap={24} tickFormatter={dayInWords} />
          <YAxis yAxisId="money" tickFormatter={compact} />
          <YAxis yAxisId="orders" orientation="right" allowDecimals={false} tickFormatter={compact} />
          <Tooltip
            labelFormatter={(day) => `${granularity === 'day' ? '' : `${granularity} of `}${dayInWords(String(day))}`}
            formatter={(value, name) => {
              const currency = String(name).match(/^net ([A-Z]{3})/)?.[1];
              return currency ? formatMoney(String(value), currency) : formatCount(Number(value));
            }}
          />
          <Legend />
          {currencies.map((c, i) => (
            <Line key={c} yAxisId="money" type="linear" dataKey={`net ${c}`} stroke={COLORS[i % COLORS.length]} dot={false} isAnimationActive={false} />
          ))}
          {previous.length > 0 &&
            currencies.map((c, i) => (
              <Line
                key={`${c}-previous`}
                yAxisId="money"
                type="linear"
                dataKey={`net ${c}, ${previousLabel}`}
                stroke={COLORS[i % COLORS.length]}
                strokeDasharray="4 4"
                strokeOpacity={0.6}
                dot={false}
                isAnimationActive={false}
              />
            ))}
          <Line yAxisId="orders" type="linear" dataKey="orders" stroke="#64748b" dot={false} isAnimationActive={false} />
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}
