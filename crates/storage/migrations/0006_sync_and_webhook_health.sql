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
