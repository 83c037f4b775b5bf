-- A store is busy while a live process holds its sync lease (the advisory lock a running
-- sync takes, namespace 0x5853594e, key hashtext(store_id)); a run left "running" by a
-- process that died holds none, so the scheduler syncs that store again at once instead
-- of waiting for the run to look stale.
CREATE OR REPLACE FUNCTION xeno_stores_due(every interval, how_many integer)
    RETURNS TABLE (tenant_id uuid, store_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
    SELECT s.tenant_id, s.store_id
    FROM stores s
    LEFT JOIN LATERAL (
        SELECT max(COALESCE(r.finished_at, r.started_at)) AS last
        FROM sync_runs r WHERE r.tenant_id = s.tenant_id AND r.store_id = s.store_id) r ON true
    WHERE s.status = 'active'
        AND NOT EXISTS (
            SELECT 1 FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.classid::bigint = 1481857358 AND l.objsubid = 2
                AND l.objid::bigint = (hashtext(s.store_id::text)::bigint & 4294967295))
        AND (r.last IS NULL OR r.last < now() - every)
    ORDER BY r.last NULLS FIRST, s.tenant_id, s.store_id
    LIMIT how_many
$$;
