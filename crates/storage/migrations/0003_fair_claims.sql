-- Claiming due events without sorting every pending row: skip through the (tenant_id,
-- next_attempt_at) index to the tenants that have due work, then take each tenant's oldest
-- events from the same index. Each tenant gets a fair share of a batch, so one busy store
-- cannot starve the others.
CREATE OR REPLACE FUNCTION xeno_claim_webhook_events(batch integer)
    RETURNS TABLE (tenant_id uuid, event_id uuid)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
DECLARE
    due uuid[];
    share integer;
    remaining integer := batch;
    taken integer;
    t uuid;
BEGIN
    WITH RECURSIVE tenants AS (
        (SELECT w.tenant_id FROM webhook_events w
         WHERE w.status IN ('pending', 'failed') ORDER BY w.tenant_id LIMIT 1)
        UNION ALL
        SELECT (SELECT w.tenant_id FROM webhook_events w
                WHERE w.status IN ('pending', 'failed') AND w.tenant_id > tenants.tenant_id
                ORDER BY w.tenant_id LIMIT 1)
        FROM tenants WHERE tenants.tenant_id IS NOT NULL
    )
    SELECT array_agg(tenants.tenant_id) INTO due FROM tenants WHERE tenants.tenant_id IS NOT NULL;
    IF due IS NULL THEN
        RETURN;
    END IF;
    share := greatest(batch / cardinality(due), 1);
    FOREACH t IN ARRAY due LOOP
        RETURN QUERY
            SELECT w.tenant_id, w.event_id FROM webhook_events w
            WHERE w.tenant_id = t AND w.status IN ('pending', 'failed') AND w.next_attempt_at <= now()
            ORDER BY w.next_attempt_at
            LIMIT least(share, remaining)
            FOR UPDATE SKIP LOCKED;
        GET DIAGNOSTICS taken = ROW_COUNT;
        remaining := remaining - taken;
        EXIT WHEN remaining <= 0;
    END LOOP;
END
$$;

-- A parseable body lives on as `payload` (JSONB); `body` keeps the raw bytes only of those
-- that did not parse, so nothing is lost and nothing is stored twice.
ALTER TABLE webhook_events ALTER COLUMN body DROP NOT NULL;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_body_or_payload
    CHECK (body IS NOT NULL OR payload IS NOT NULL);
