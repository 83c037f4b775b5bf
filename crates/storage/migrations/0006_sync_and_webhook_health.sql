-- One running sync per store; counting dead letters per store.
-- At most one running sync per store. Runs left 'running' by a process that died are closed
-- (all but each store's newest here; later, by start_sync_run once they stop progressing).
UPDATE sync_runs r SET status = 'failed', error = 'interrupted', finished_at = now()
WHERE r.status = 'running' AND EXISTS (
    SELECT 1 FROM sync_runs n WHERE n.tenant_id = r.tenant_id AND n.store_id = r.store_id
        AND n.status = 'running' AND n.started_at > r.started_at);
CREATE UNIQUE INDEX sync_runs_one_running ON sync_runs (tenant_id, store_id) WHERE status = 'running';

-- A store's dead letters, counted on its page.
CREATE INDEX webhook_events_dead ON webhook_events (tenant_id, store_id) WHERE status = 'dead';

-- The stores the sync scheduler should start next: active, not syncing (a run silent for
-- 30 minutes no longer counts), and last synced more than `every` ago, least recently synced
-- first so no store waits behind a big one. It looks across tenants, so it runs as the owner,
-- and it returns ids only.
CREATE FUNCTION xeno_stores_due(every interval, how_many integer)
    RETURNS TABLE (tenant_id uuid, store_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT s.tenant_id, s.store_id
    FROM stores s
    LEFT JOIN LATERAL (
        SELECT max(COALESCE(r.finished_at, r.started_at)) AS last,
               bool_or(r.status = 'running' AND r.updated_at > now() - interval '30 minutes') AS busy
        FROM sync_runs r WHERE r.tenant_id = s.tenant_id AND r.store_id = s.store_id) r ON true
    WHERE s.status = 'active' AND NOT COALESCE(r.busy, false)
        AND (r.last IS NULL OR r.last < now() - every)
    ORDER BY r.last NULLS FIRST, s.tenant_id, s.store_id
    LIMIT how_many
$$;
