import { useEffect, useState, type ReactNode } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { Empty, Pager, Pending, RangePicker, StoreFilter, ZoneNote, dateTime, shortDate, useParam, useStoreFacts, useView } from '../components';
import { askable } from '../lib/view';
import { formatMoney, formatRate } from '../lib/money';
import { humanize, variantName } from '../lib/words';
import type { Customer, CustomerDetail as CustomerDetailData, Order, Product } from '../api/types';
import { customerQuery, listQuery, orderQuery, productQuery } from '../api/queries';

interface Column<T> {
  label: string;
  numeric?: boolean;
  /** The row's cell; `zone` is its store's time zone (dates are shown on its calendar). */
  cell: (row: T, zone?: string) => ReactNode;
}

/** Rows under their column headings; numbers right-aligned. */
function DataTable<T extends { store_id: string }>({ columns, rows, rowKey }: { columns: Column<T>[]; rows: T[]; rowKey: (row: T) => string }) {
  const { zoneOf } = useStoreFacts();
  return (
    <div className="scroll">
    <table>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.label} className={c.numeric ? 'num' : undefined}>
              {c.label}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)}>
            {columns.map((c) => (
              <td key={c.label} className={c.numeric ? 'num' : undefined}>
                {c.cell(row, zoneOf(row.store_id))}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
    </div>
  );
}

/** A searchable list read a cursor page at a time, with the way back kept. */
function PagedList<T extends { store_id: string }>({ title, path, searchLabel, columns, rowKey, extra, filters }: { title: string; path: string; searchLabel: string; columns: Column<T>[]; rowKey: (row: T) => string; extra?: Record<string, string | undefined>; filters?: ReactNode }) {
  const [search, setSearch] = useState('');
  const { view, setView } = useView('30d');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const params = { q: search.trim() || undefined, store_id: view.store || undefined, cursor, limit: 25, ...extra };
  const page = useQuery({ ...listQuery<T>(path, params), placeholderData: keepPreviousData });
  const restart = () => setCursors([]);
  // A changed filter starts again from the first page.
  const filterKey = JSON.stringify(extra ?? {});
  useEffect(() => setCursors([]), [filterKey]);
  return (
    <section>
      <h1>{title}</h1>
      <div className="toolbar">
        <label>
          {searchLabel}{' '}
          <input
            type="search"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              restart();
            }}
          />
        </label>
        <StoreFilter
          value={view.store}
          onChange={(store) => {
            setView({ ...view, store });
            restart();
          }}
        />
        {filters}
      </div>
      <Pending query={page} what={title.toLowerCase()} />
      {page.data && page.data.data.length === 0 && <Empty>Nothing matches.</Empty>}
      {page.data && page.data.data.length > 0 && (
        <DataTable columns={columns} rows={page.data.data} rowKey={rowKey} />
      )}
      <Pager cursors={cursors} next={page.data?.next_cursor} onChange={setCursors} />
    </section>
  );
}

function customerName(c: { first_name?: string | null; last_name?: string | null; email?: string | null; id: string; redacted?: boolean }) {
  if (c.redacted) {
    return 'Erased customer';
  }
  const name = [c.first_name, c.last_name].filter(Boolean).join(' ');
  return name || c.email || `Customer ${c.id}`;
}

const CUSTOMER_SORTS = [
  ['spent', 'Most spent'],
  ['orders', 'Most orders'],
  ['last_order', 'Latest order'],
  ['predicted_value', 'Highest expected value'],
  ['chance_alive', 'Likeliest to come back'],
  ['expected_orders', 'Most orders expected'],
  ['created_at', 'Newest'],
] as const;

export function Customers() {
  // Merchants look for their best customers first, not their newest accounts.
  const [sort, setSort] = useParam('sort', 'spent');
  return (
    <PagedList<Customer>
      title="Customers"
      path="/api/customers"
      searchLabel="Search email or name"
      rowKey={(c) => `${c.store_id}-${c.id}`}
      extra={{ sort }}
      filters={
        <label>
          Sort{' '}
          <select name="sort" value={sort} onChange={(e) => setSort(e.target.value)}>
            {CUSTOMER_SORTS.map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </label>
      }
      columns={[
        { label: 'Customer', cell: (c) => <Link to={`/customers/${c.store_id}/${c.id}`}>{customerName(c)}</Link> },
        { label: 'Email', cell: (c) => c.email ?? '—' },
        { label: 'Orders', numeric: true, cell: (c) => c.orders },
        { label: 'Spent', numeric: true, cell: (c) => (c.currency ? formatMoney(c.spent, c.currency) : '—') },
        { label: 'Last order', cell: (c, zone) => shortDate(c.last_order_at, zone) },
        { label: 'Still a customer', numeric: true, cell: (c) => (c.chance_alive == null ? '—' : formatRate(c.chance_alive)) },
        { label: 'Orders expected (year)', numeric: true, cell: (c) => (c.expected_orders_365 == null ? '—' : c.expected_orders_365.toFixed(1)) },
        { label: 'Since', cell: (c, zone) => shortDate(c.created_at, zone) },
      ]}
    />
  );
}

/** The payment state, with a cancellation beside it (a cancelled order keeps its payment
 * state: paid and refunded, or voided). */
function payment(o: Order): string {
  return humanize(o.financial_status) + (o.cancelled_at ? ' · cancelled' : '') + (o.test ? ' (test)' : '');
}

const ORDER_COLUMNS: Column<Order>[] = [
  { label: 'Order', cell: (o) => <Link to={`/orders/${o.store_id}/${o.id}`}>{o.name ?? o.id}</Link> },
  { label: 'Date', cell: (o, zone) => shortDate(o.processed_at, zone) },
  {
    label: 'Customer',
    cell: (o) => (o.customer_id ? <Link to={`/customers/${o.store_id}/${o.customer_id}`}>{o.email ?? `Customer ${o.customer_id}`}</Link> : (o.email ?? 'Guest')),
  },
  { label: 'Payment', cell: payment },
  { label: 'Fulfilment', cell: (o) => (o.fulfillment_status ? humanize(o.fulfillment_status) : 'Unfulfilled') },
  { label: 'Items', numeric: true, cell: (o) => o.units },
  { label: 'Total', numeric: true, cell: (o) => formatMoney(o.total_price, o.currency) },
  { label: 'After refunds', numeric: true, cell: (o) => formatMoney(o.current_total_price, o.currency) },
];

/** Shopify's payment states, as the orders filter offers them. */
const FINANCIAL_STATUSES = ['paid', 'pending', 'authorized', 'partially_paid', 'partially_refunded', 'refunded', 'voided'];

export function Orders() {
  // Filters live in the URL beside the store, so a filtered list can be reloaded or shared.
  const [status, setStatus] = useParam('status', '');
  const [from, setFrom] = useParam('placed_from', '');
  const [to, setTo] = useParam('placed_to', '');
  return (
    <PagedList<Order>
      title="Orders"
      path="/api/orders"
      searchLabel="Search order or email"
      rowKey={(o) => `${o.store_id}-${o.id}`}
      columns={ORDER_COLUMNS}
      extra={{ financial_status: status || undefined, from: from || undefined, to: to || undefined }}
      filters={
        <>
          <label>
            Payment{' '}
            <select name="financial_status" value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">Any</option>
              {FINANCIAL_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {humanize(s)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Placed from <input type="date" name="orders_from" value={from} onChange={(e) => setFrom(e.target.value)} />
          </label>
          <label>
            to <input type="date" name="orders_to" value={to} onChange={(e) => setTo(e.target.value)} />
          </label>
        </>
      }
    />
  );
}

export function Products() {
  // What each product sold in the range, as the products report counts it.
  const { view, setView, today, zone } = useView('30d');
  return (
    <PagedList<Product>
      title="Products"
      path="/api/products"
      searchLabel="Search title or vendor"
      rowKey={(p) => `${p.store_id}-${p.id}`}
      extra={askable(view) ? { from: view.range.from, to: view.range.to } : undefined}
      filters={
        <>
          <RangePicker view={view} today={today} onChange={setView} />
          <ZoneNote zone={zone} />
        </>
      }
      columns={[
        { label: 'Product', cell: (p) => <Link to={`/products/${p.store_id}/${p.id}`}>{p.title}</Link> },
        { label: 'Vendor', cell: (p) => p.vendor ?? '—' },
        { label: 'Status', cell: (p) => humanize(p.status) },
        { label: 'Price', numeric: true, cell: (p) => <Price product={p} /> },
        { label: 'Units sold', numeric: true, cell: (p) => <span data-units>{(p.sales ?? []).reduce((n, s) => n + s.units, 0)}</span> },
        {
          label: 'Net sales',
          numeric: true,
          cell: (p) => (p.sales && p.sales.length > 0 ? p.sales.map((s) => formatMoney(s.net_sales, s.currency)).join(' · ') : '—'),
        },
        { label: 'Updated', cell: (p, zone) => shortDate(p.updated_at, zone) },
      ]}
    />
  );
}

/** A product's price range in its store's currency. */
function Price({ product }: { product: Product }) {
  const { currencyOf } = useStoreFacts();
  const currency = currencyOf(product.store_id);
  if (product.min_price == null) return <>—</>;
  const money = (amount: string) => (currency ? formatMoney(amount, currency) : amount);
  const [low, high] = [String(product.min_price), String(product.max_price ?? product.min_price)];
  return <>{low === high ? money(low) : `${money(low)}–${money(high)}`}</>;
}

/** What the store's customer-lifetime models expect of this customer. */
function Outlook({ predictions, currency }: { predictions: CustomerDetailData['predictions']; currency: string | null }) {
  if (!predictions) {
    return <p className="hint">No outlook yet: the store's models are fitted after its backfill, once it has at least 20 repeat customers.</p>;
  }
  const orders = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1, minimumFractionDigits: 1 });
  const money = (amount: string) => (currency ? formatMoney(amount, currency) : amount);
  return (
    <>
      <h2>Outlook</h2>
      <dl className="facts" data-outlook>
        <dt>Chance still a customer</dt>
        <dd data-fact="p_alive">{formatRate(predictions.p_alive)}</dd>
        <dt>Orders expected in 90 days</dt>
        <dd data-fact="expected_orders_90">{orders.format(predictions.expected_orders_90)}</dd>
        <dt>Expected value of an order</dt>
        <dd>{money(predictions.expected_order_value)}</dd>
        <dt>Expected value over the next year</dt>
        <dd data-fact="clv_365">{money(predictions.clv_365)}</dd>
      </dl>
    </>
  );
}

export function CustomerDetail() {
  const { storeId, customerId } = useParams();
  const detail = useQuery(customerQuery(storeId ?? '', customerId ?? ''));
  const { currencyOf } = useStoreFacts();
  const c = detail.data?.customer;
  return (
    <section>
      <p>
        <Link to="/customers">← Customers</Link>
      </p>
      <Pending query={detail} what="the customer" />
      {c && (
        <>
          <h1>{customerName(c)}</h1>
          <dl className="facts">
            <dt>Email</dt>
            <dd>{c.email ?? '—'}</dd>
            <dt>Orders</dt>
            <dd data-fact="orders">{c.orders}</dd>
            <dt>Spent</dt>
            <dd data-fact="spent">{c.currency ? formatMoney(c.spent, c.currency) : '—'}</dd>
            <dt>Customer since</dt>
            <dd>{shortDate(c.created_at)}</dd>
            <dt>Tags</dt>
            <dd>{c.tags.length ? c.tags.join(', ') : '—'}</dd>
          </dl>
          <Outlook predictions={detail.data?.predictions ?? null} currency={c.currency ?? currencyOf(c.store_id) ?? null} />
          <h2>Orders</h2>
          {detail.data && detail.data.orders.length === 0 ? (
            <Empty>No orders yet.</Empty>
          ) : (
            <DataTable columns={ORDER_COLUMNS} rows={detail.data?.orders ?? []} rowKey={(o) => `${o.store_id}-${o.id}`} />
          )}
        </>
      )}
    </section>
  );
}

export function OrderDetail() {
  const { storeId, orderId } = useParams();
  const detail = useQuery(orderQuery(storeId ?? '', orderId ?? ''));
  const { zoneOf } = useStoreFacts();
  const d = detail.data;
  const money = (amount: string) => (d ? formatMoney(amount, d.order.currency) : '');
  return (
    <section>
      <p>
        <Link to="/orders">← Orders</Link>
      </p>
      <Pending query={detail} what="the order" />
      {d && (
        <>
          <h1>Order {d.order.name ?? d.order.id}</h1>
          <dl className="facts">
            <dt>Placed</dt>
            <dd>{dateTime(d.order.processed_at, zoneOf(d.order.store_id))}</dd>
            <dt>Customer</dt>
            <dd>{d.order.customer_id ? <Link to={`/customers/${d.order.store_id}/${d.order.customer_id}`}>{d.order.email ?? `Customer ${d.order.customer_id}`}</Link> : 'Guest'}</dd>
            <dt>Payment · fulfilment</dt>
            <dd>
              {payment(d.order)} · {d.order.fulfillment_status ? humanize(d.order.fulfillment_status) : 'Unfulfilled'}
              {d.order.test ? ' · test order (left out of reports)' : ''}
            </dd>
            <dt>Subtotal</dt>
            <dd>{money(d.subtotal_price)}</dd>
            <dt>Discounts</dt>
            <dd>{money(d.total_discounts)}</dd>
            <dt>Shipping</dt>
            <dd>{money(d.total_shipping)}</dd>
            <dt>Taxes</dt>
            <dd>{money(d.total_tax)}</dd>
            <dt>Total</dt>
            <dd data-fact="total">{money(d.order.total_price)}</dd>
            <dt>After refunds</dt>
            <dd>{money(d.order.current_total_price)}</dd>
          </dl>
          <h2>Items</h2>
          <table>
            <thead>
              <tr>
                <th>Item</th>
                <th>SKU</th>
                <th className="num">Quantity</th>
                <th className="num">Price</th>
                <th className="num">Discount</th>
              </tr>
            </thead>
            <tbody>
              {d.line_items.map((l) => (
                <tr key={l.id} data-line>
                  <td>
                    {l.title}
                    {l.variant_title ? ` — ${l.variant_title}` : ''}
                  </td>
                  <td>{l.sku ?? '—'}</td>
                  <td className="num">
                    {l.quantity}
                    {l.current_quantity != null && l.current_quantity !== l.quantity ? ` (${l.current_quantity} kept)` : ''}
                  </td>
                  <td className="num">{money(l.price)}</td>
                  <td className="num">{money(l.total_discount)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Refunds</h2>
          {d.refunds.length === 0 ? (
            <Empty>No refunds.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Date</th>
                  <th className="num">Items returned</th>
                  <th className="num">Refunded</th>
                  <th>Note</th>
                </tr>
              </thead>
              <tbody>
                {d.refunds.map((r) => (
                  <tr key={r.id}>
                    <td>{shortDate(r.created_at)}</td>
                    <td className="num">{money(r.line_subtotal)}</td>
                    <td className="num">{money(r.amount)}</td>
                    <td>{r.note ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}

export function ProductDetail() {
  const { storeId, productId } = useParams();
  const detail = useQuery(productQuery(storeId ?? '', productId ?? ''));
  const d = detail.data;
  return (
    <section>
      <p>
        <Link to="/products">← Products</Link>
      </p>
      <Pending query={detail} what="the product" />
      {d && (
        <>
          <h1>{d.product.title}</h1>
          <dl className="facts">
            <dt>Vendor</dt>
            <dd>{d.product.vendor ?? '—'}</dd>
            <dt>Type</dt>
            <dd>{d.product.product_type ?? '—'}</dd>
            <dt>Status</dt>
            <dd>{humanize(d.product.status)}</dd>
            <dt>Updated</dt>
            <dd>{shortDate(d.product.updated_at)}</dd>
          </dl>
          <h2>Variants</h2>
          {d.variants.length === 0 ? (
            <Empty>No variants.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th>Variant</th>
                  <th>SKU</th>
                  <th className="num">Price</th>
                  <th className="num">In stock</th>
                </tr>
              </thead>
              <tbody>
                {d.variants.map((v) => (
                  <tr key={v.id} data-variant>
                    <td>{variantName(v.title, d.product.title)}</td>
                    <td>{v.sku ?? '—'}</td>
                    <td className="num">{formatMoney(v.price, v.currency)}</td>
                    <td className="num">{v.inventory_quantity ?? '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
