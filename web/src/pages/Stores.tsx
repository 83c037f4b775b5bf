import { useEffect, useRef, useState, type FormEvent } from 'react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useParams } from 'react-router-dom';
import { postJson, query, request } from '../api/client';
import { Empty, ErrorMessage, Pending, shortDate, useStores } from '../components';
import { formatDuration, steadyEstimate, type ShownEstimate } from '../lib/dates';
import { datedOnReceiptNote, unchangedSummary } from '../lib/events';
import { can } from '../lib/roles';
import { humanize } from '../lib/words';
import { formatCount } from '../lib/money';
import type { Store } from '../api/types';
import { deadLettersQuery, keys, meQuery, reconciliationQuery, syncQuery } from '../api/queries';

/** A running sync's time left as a steady countdown (see `steadyEstimate`), per run. */
function useSteadyEta(runId: string | null, estimate: number | null): number | null {
  const shown = useRef<{ runId: string; estimate: ShownEstimate } | null>(null);
  if (runId === null || estimate === null) {
    shown.current = null;
    return null;
  }
  const previous = shown.current?.runId === runId ? shown.current.estimate : null;
  const next = steadyEstimate(previous, estimate, Date.now());
  shown.current = { runId, estimate: next };
  return next.seconds;
}

export function Stores() {
  const stores = useStores();
  const { storeId } = useParams();
  return (
    <section>
      <h1>Stores</h1>
      <Connect />
      <Pending query={stores} what="stores" />
      {stores.data && stores.data.data.length === 0 && <Empty>No store is connected yet.</Empty>}
      {stores.data?.data.map((s) => (
        <StoreCard key={s.id} store={s} highlighted={s.id === storeId} />
      ))}
    </section>
  );
}

function Connect() {
  const admin = can(useQuery(meQuery()).data?.user.role, 'admin');
  const [shop, setShop] = useState('');
  const [problem, setProblem] = useState<unknown>(null);
  const [custom, setCustom] = useState(false);
  const queries = useQueryClient();

  const install = async (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    try {
      const response = await request(`/api/shopify/install${query({ shop: shop.trim() })}`, { headers: { accept: 'application/json' } });
      const { authorize_url } = (await response.json()) as { authorize_url: string };
      window.location.assign(authorize_url);
    } catch (error) {
      setProblem(error);
    }
  };

  const connectCustom = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    setProblem(null);
    const form = new FormData(event.currentTarget);
    try {
      await postJson('/api/stores', {
        shop_domain: shop.trim(),
        access_token: String(form.get('access_token') ?? ''),
        webhook_secret: String(form.get('webhook_secret') ?? '') || undefined,
      });
      await queries.invalidateQueries({ queryKey: keys.stores });
    } catch (error) {
      setProblem(error);
    }
  };

  return (
    <div className="card">
      <h2>Connect a store</h2>
      <form onSubmit={custom ? connectCustom : install} className="connect">
        <label>
          Shop domain{' '}
          <input name="shop" placeholder="your-shop.myshopify.com" value={shop} onChange={(e) => setShop(e.target.value)} required />
        </label>
        {custom && (
          <>
            <label>
              Admin API access token <input name="access_token" type="password" required />
            </label>
            <label>
              App API secret (signs its webhooks) <input name="webhook_secret" type="password" />
            </label>
          </>
        )}
        <button type="submit" disabled={!admin} title={admin ? undefined : 'Only admins connect stores'}>
          {custom ? 'Connect with token' : 'Connect with Shopify'}
        </button>
        <button type="button" className="link" onClick={() => setCustom(!custom)}>
          {custom ? 'Use Shopify sign-in instead' : 'Use a custom app token instead'}
        </button>
      </form>
      {problem !== null && <ErrorMessage error={problem} />}
    </div>
  );
}

function StoreCard({ store, highlighted }: { store: Store; highlighted: boolean }) {
  const queries = useQueryClient();
  const admin = can(useQuery(meQuery()).data?.user.role, 'admin');
  const sync = useQuery({
    ...syncQuery(store.id),
    // Follow a running backfill closely.
    refetchInterval: (q) => (q.state.data?.status === 'running' ? 1000 : 15_000),
  });
  const dead = useQuery(deadLettersQuery(store.id));
  const replay = useMutation({
    mutationFn: (id: string) => request(`/api/webhooks/events/${id}/replay`, { method: 'POST' }),
    onSuccess: () => queries.invalidateQueries({ queryKey: keys.deadLetters(store.id) }),
  });
  const reconciliation = useQuery(reconciliationQuery(store.id));
  const checkNow = useMutation({
    mutationFn: () => postJson(`/api/reconciliation/${store.id}`, {}),
    onSuccess: () => queries.invalidateQueries({ queryKey: keys.reconciliation(store.id) }),
  });
  const confirmDeletions = useMutation({
    mutationFn: () => request(`/api/sync/${store.id}${query({ mode: 'full', confirm_deletions: 'true' })}`, { method: 'POST' }),
    onSuccess: () => queries.invalidateQueries({ queryKey: keys.sync(store.id) }),
  });
  const syncNow = useMutation({
    mutationFn: () => request(`/api/sync/${store.id}`, { method: 'POST' }),
    onSuccess: () => queries.invalidateQueries({ queryKey: keys.sync(store.id) }),
  });
  const counts = (store.counts ?? {}) as Record<string, number>;
  const run = sync.data;
  const eta = useSteadyEta(run?.status === 'running' ? run.id : null, run?.eta_seconds ?? null);
  // When a backfill finishes, the store's counts have changed.
  const status = run?.status;
  useEffect(() => {
    if (status && status !== 'running') {
      void queries.invalidateQueries({ queryKey: keys.stores });
      void queries.invalidateQueries({ queryKey: keys.reconciliation(store.id) });
    }
  }, [status, queries]);
  return (
    <article className={`card store${highlighted ? ' highlighted' : ''}`} data-store={store.shop_domain}>
      <h2>{store.name ?? store.shop_domain}</h2>
      <dl className="facts">
        <dt>Shop</dt>
        <dd>{store.shop_domain}</dd>
        <dt>Status</dt>
        <dd data-fact="status">
          <span className={`status ${store.status}`}>{humanize(store.status)}</span>
          {store.status_reason ? ` — ${store.status_reason}` : ''}
        </dd>
        <dt>Currency · time zone</dt>
        <dd>
          {store.currency ?? '—'} · {store.iana_timezone ?? '—'}
        </dd>
        <dt>Data</dt>
        <dd data-fact="data">
          {formatCount(counts.customers ?? 0)} customers · {formatCount(counts.orders ?? 0)} orders · {formatCount(counts.products ?? 0)} products
        </dd>
        <dt>Webhooks</dt>
        <dd data-fact="webhooks">
          {formatCount(store.webhooks?.last_day ?? 0)} in the last 24 hours · {formatCount(store.webhooks?.retrying ?? 0)} retrying ·{' '}
          {formatCount(store.webhooks?.dead ?? 0)} dead · last {store.last_webhook_at ? new Date(store.last_webhook_at).toLocaleString() : 'none yet'}
          {store.webhooks && unchangedSummary(store.webhooks.unchanged) && (
            <span data-fact="unchanged">
              <br />
              {unchangedSummary(store.webhooks.unchanged)}
            </span>
          )}
          {store.webhooks && datedOnReceiptNote(store.webhooks.dated_on_receipt) && (
            <span data-fact="dated-on-receipt">
              <br />
              {datedOnReceiptNote(store.webhooks.dated_on_receipt)}
            </span>
          )}
        </dd>
        <dt>Last sync</dt>
        <dd data-fact="sync">
          {run === undefined && '…'}
          {run === null && 'not synced yet'}
          {run && run.status === 'running' && (
            <>
              <progress aria-label="sync progress" value={run.progress ?? undefined} max={1} /> {humanize(run.phase)}: {formatCount(run.records)}
              {run.expected_records != null ? ` of ${formatCount(run.expected_records)}` : ''} records
              {eta != null ? `, about ${formatDuration(eta)} left` : ' so far'}
            </>
          )}
          {run && run.status !== 'running' && (
            <>
              {run.kind === 'backfill' ? 'Full sync' : 'Sync'} {humanize(run.status).toLowerCase()} {shortDate(run.finished_at)} · {formatCount(run.records)} records in{' '}
              {formatDuration(run.duration_seconds)}
              {run.throttle_wait_seconds >= 1 ? ` (${formatDuration(run.throttle_wait_seconds)} waiting on Shopify's rate limit)` : ''}
              {run.error ? ` — ${run.error}` : ''}
            </>
          )}
        </dd>
        <dt>Shopify Analytics</dt>
        <dd data-fact="reconciliation">
          {reconciliation.data === undefined && '…'}
          {reconciliation.data && (
            <>
              <span className={`status ${reconciliation.data.status}`}>{reconciliation.data.summary}</span>
              {reconciliation.data.window_from && reconciliation.data.window_to
                ? ` (${reconciliation.data.window_from} to ${reconciliation.data.window_to}, the store's days; checked ${shortDate(reconciliation.data.checked_at)})`
                : ''}
              {reconciliation.data.detail ? ` — ${reconciliation.data.detail}` : ''}
            </>
          )}
        </dd>
      </dl>
      {reconciliation.data && reconciliation.data.mismatches.length > 0 && (
        <table className="mismatches">
          <caption>Days whose figures differ from Shopify Analytics</caption>
          <thead>
            <tr>
              <th>Day</th>
              <th>Figure</th>
              <th>Xeno</th>
              <th>Shopify</th>
            </tr>
          </thead>
          <tbody>
            {reconciliation.data.mismatches.slice(0, 20).map((m) => (
              <tr key={`${m.day}-${m.metric}`}>
                <td>{m.day}</td>
                <td>{m.metric.replace(/_/g, ' ')}</td>
                <td>{m.xeno}</td>
                <td>{m.shopify}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <button type="button" onClick={() => checkNow.mutate()} disabled={!admin || checkNow.isPending || store.status !== 'active'}>
        {checkNow.isPending ? 'Checking…' : 'Check against Shopify now'}
      </button>{' '}
      {checkNow.error ? <ErrorMessage error={checkNow.error} /> : null}
      <button type="button" onClick={() => syncNow.mutate()} disabled={!admin || syncNow.isPending || run?.status === 'running' || store.status !== 'active'}>
        {run?.status === 'running' ? 'Syncing…' : 'Sync now'}
      </button>
      {syncNow.error ? <ErrorMessage error={syncNow.error} /> : null}
      {run?.deletions_to_confirm && run.status !== 'running' && (
        <p className="warning">
          The last sync found many records missing at Shopify and deleted none of them.{' '}
          <button type="button" onClick={() => confirmDeletions.mutate()} disabled={!admin || confirmDeletions.isPending}>
            Delete them and sync
          </button>
        </p>
      )}
      <h3>Webhook dead letters</h3>
      {dead.error ? <ErrorMessage error={dead.error} /> : null}
      {dead.data && dead.data.data.length === 0 && <p className="ok">None: every webhook was applied.</p>}
      {dead.data && dead.data.data.length > 0 && (
        <table>
          <thead>
            <tr>
              <th>Topic</th>
              <th>Received</th>
              <th>Error</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {dead.data.data.map((e) => (
              <tr key={e.id}>
                <td>{e.topic}</td>
                <td>{new Date(e.received_at).toLocaleString()}</td>
                <td>{e.last_error}</td>
                <td>
                  <button type="button" onClick={() => replay.mutate(e.id)} disabled={!admin || replay.isPending}>
                    Replay
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </article>
  );
}
