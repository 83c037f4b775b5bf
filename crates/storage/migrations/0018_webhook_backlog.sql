-- The webhook backlog across tenants, for `/metrics`: events due to be applied and how long
-- the oldest of them has waited since it was received, failed events waiting for their next
-- attempt, and dead letters. Owned by the schema owner, so it sees every tenant.
CREATE FUNCTION xeno_webhook_backlog()
    RETURNS TABLE (due bigint, oldest_due_seconds double precision, retrying bigint, dead bigint)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$
        SELECT count(*) FILTER (WHERE e.next_attempt_at <= now()),
               extract(epoch FROM now() - min(e.received_at)
                   FILTER (WHERE e.next_attempt_at <= now()))::double precision,
               count(*) FILTER (WHERE e.next_attempt_at > now()),
               (SELECT count(*) FROM webhook_events d WHERE d.status = 'dead')
        FROM webhook_events e
        WHERE e.status IN ('pending', 'failed')
    $$;
