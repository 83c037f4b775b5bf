-- Applied webhook events are kept for a retention period, then deleted: the event log would
-- otherwise grow by every delivery forever. Events still pending, retrying or dead stay
-- until they are applied, however old.
--
-- Deletes up to `batch` applied events received before `cutoff`, oldest first within each
-- store, through the (tenant, store, received_at) index. Each store keeps its newest event
-- whatever its age, so when it last sent a webhook stays known. Rows a worker holds are
-- skipped. Owned by the schema owner, so it works across tenants.
CREATE FUNCTION xeno_prune_webhook_events(cutoff timestamptz, batch integer)
    RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
        WITH old AS (
            SELECT o.tenant_id, o.event_id
            FROM stores s
            CROSS JOIN LATERAL (
                SELECT e.tenant_id, e.event_id
                FROM webhook_events e
                WHERE e.tenant_id = s.tenant_id AND e.store_id = s.store_id
                  AND e.received_at < cutoff AND e.status = 'done'
                  AND e.received_at < (SELECT max(n.received_at) FROM webhook_events n
                                       WHERE n.tenant_id = s.tenant_id AND n.store_id = s.store_id)
                ORDER BY e.received_at
                LIMIT batch
                FOR UPDATE SKIP LOCKED
            ) o
            LIMIT batch
        ), pruned AS (
            DELETE FROM webhook_events e USING old
            WHERE e.tenant_id = old.tenant_id AND e.event_id = old.event_id
            RETURNING 1
        )
        SELECT count(*) FROM pruned
    $$;
