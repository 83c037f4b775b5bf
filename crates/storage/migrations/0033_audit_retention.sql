-- The audit log is kept for a configured period (XENO_AUDIT_RETENTION_DAYS). The service
-- cannot delete from it, so pruning is this function's alone.
CREATE FUNCTION xeno_prune_audit(cutoff timestamptz) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
    WITH pruned AS (DELETE FROM audit_events WHERE at < cutoff RETURNING 1)
    SELECT count(*) FROM pruned
$$;
