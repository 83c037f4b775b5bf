-- Syncs across tenants for /metrics (which runs without a tenant, so row-level security
-- would show it none): how many run, and how long the one that has gone longest without
-- progress (each batch stamps updated_at) has been still, so an alert can name a stall.
CREATE FUNCTION xeno_sync_health()
    RETURNS TABLE (running bigint, stalest_seconds double precision)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
        SELECT count(*), extract(epoch FROM now() - min(r.updated_at))::double precision
        FROM sync_runs r
        WHERE r.status = 'running'
    $$;
