import { useState, type ReactNode } from 'react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { getJson, query } from '../api';
import { Empty, Pending, StoreFilter, shortDate } from '../components';
import { formatMoney } from '../lib/money';
import type { Customer, Order, Page, Product } from '../types';

interface Column<T> {
  label: string;
  numeric?: boolean;
  cell: (row: T) => ReactNode;
}

/** A searchable list read a cursor page at a time, with the way back kept. */
function PagedList<T>({ title, path, searchLabel, columns, rowKey, extra }: { title: string; path: string; searchLabel: string; columns: Column<T>[]; rowKey: (row: T) => string; extra?: Record<string, string> }) {
  const [search, setSearch] = useState('');
  const [store, setStore] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const params = { q: search.trim() || undefined, store_id: store || undefined, cursor, limit: 25, ...extra };
  const page = useQuery({
    queryKey: [path, params],
    queryFn: () => getJson<Page<T>>(`${path}${query(params)}`),
    placeholderData: keepPreviousData,
  });
  const restart = () => setCursors([]);
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
          value={store}
          onChange={(s) => {
            setStore(s);
            restart();
          }}
        />
      </div>
      <Pending query={page} what={title.toLowerCase()} />
      {page.data && page.data.data.length === 0 && <Empty>Nothing matches.</Empty>}
      {page.data && page.data.data.length > 0 && (
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
            {page.data.data.map((row) => (
              <tr key={rowKey(row)}>
                {columns.map((c) => (
                  <td key={c.label} className={c.numeric ? 'num' : undefined}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <span>Page {cursors.length + 1}</span>
        <button type="button" disabled={!page.data?.next_cursor} onClick={() => page.data?.next_cursor && setCursors([...cursors, page.data.next_cursor])}>
          Next
        </button>
      </div>
    </section>
  );
}

function customerName(c: { first_name: string | null; last_name: string | null; email: string | null; id: number; redacted?: boolean }) {
  if (c.redacted) {
    return 'Erased customer';
  }
  const name = [c.first_name, c.last_name].filter(Boolean).join(' ');
  return name || c.email || `Customer ${c.id}`;
}

export function Customers() {
  return (
    <PagedList<Customer>
      title="Customers"
      path="/api/customers"
      searchLabel="Search email or name"
      rowKey={(c) => `${c.store_id}-${c.id}`}
      columns={[
        { label: 'Customer', cell: (c) => <Link to={`/customers/${c.store_id}/${c.id}`}>{customerName(c)}</Link> },
        { label: 'Email', cell: (c) => c.email ?? '—' },
        { label: 'Orders', numeric: true, cell: (c) => c.orders },
        { label: 'Spent', numeric: true, cell: (c) => (c.currency ? formatMoney(c.spent, c.currency) : '—') },
        { label: 'Last order', cell: (c) => shortDate(c.last_order_at) },
        { label: 'Since', cell: (c) => shortDate(c.created_at) },
      ]}
    />
  );
}

const ORDER_COLUMNS: Column<Order>[] = [
  { label: 'Order', cell: (o) => o.name ?? o.id },
  { label: 'Date', cell: (o) => shortDate(o.processed_at) },
  { label: 'Email', cell: (o) => o.email ?? 'Guest' },
  { label: 'Payment', cell: (o) => (o.cancelled_at ? 'cancelled' : (o.financial_status ?? '—')) + (o.test ? ' (test)' : '') },
  { label: 'Items', numeric: true, cell: (o) => o.units },
  { label: 'Total', numeric: true, cell: (o) => formatMoney(o.total_price, o.currency) },
  { label: 'After refunds', numeric: true, cell: (o) => formatMoney(o.current_total_price, o.currency) },
];

export function Orders() {
  return <PagedList<Order> title="Orders" path="/api/orders" searchLabel="Search order or email" rowKey={(o) => `${o.store_id}-${o.id}`} columns={ORDER_COLUMNS} />;
}

export function Products() {
  return (
    <PagedList<Product>
      title="Products"
      path="/api/products"
      searchLabel="Search title or vendor"
      rowKey={(p) => `${p.store_id}-${p.id}`}
      columns={[
        { label: 'Product', cell: (p) => p.title },
        { label: 'Vendor', cell: (p) => p.vendor ?? '—' },
        { label: 'Status', cell: (p) => p.status ?? '—' },
        { label: 'Variants', numeric: true, cell: (p) => p.variants },
        { label: 'Price', numeric: true, cell: (p) => (p.min_price === null ? '—' : p.min_price === p.max_price ? p.min_price : `${p.min_price}–${p.max_price}`) },
        { label: 'Updated', cell: (p) => shortDate(p.updated_at) },
      ]}
    />
  );
}

export function CustomerDetail() {
  const { storeId, customerId } = useParams();
  const detail = useQuery({
    queryKey: ['customer', storeId, customerId],
    queryFn: () => getJson<{ customer: Customer; orders: Order[] }>(`/api/customers/${storeId}/${customerId}`),
  });
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
          <h2>Orders</h2>
          {detail.data && detail.data.orders.length === 0 ? (
            <Empty>No orders yet.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  {ORDER_COLUMNS.map((col) => (
                    <th key={col.label} className={col.numeric ? 'num' : undefined}>
                      {col.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {detail.data?.orders.map((o) => (
                  <tr key={o.id}>
                    {ORDER_COLUMNS.map((col) => (
                      <td key={col.label} className={col.numeric ? 'num' : undefined}>
                        {col.cell(o)}
                      </td>
                    ))}
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
