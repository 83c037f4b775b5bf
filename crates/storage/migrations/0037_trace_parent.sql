-- The W3C trace context of the request that accepted a delivery, when tracing is on: the
-- worker's span that applies it links back to that request.
ALTER TABLE webhook_events ADD COLUMN trace_parent text;

DROP FUNCTION xeno_accept_webhooks(uuid, uuid[], uuid[], text[], text[], text[], text[],
    timestamptz[], bytea[], text[]);
CREATE FUNCTION xeno_accept_webhooks(
    tenant uuid, store_ids uuid[], event_ids uuid[], webhook_ids text[], shopify_event_ids text[],
    topics text[], api_versions text[], triggered_ats timestamptz[], bodies bytea[],
    payloads text[], trace_parents text[])
RETURNS TABLE (store_id uuid, webhook_id text) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.tenant_id', tenant::text, true);
    RETURN QUERY
    INSERT INTO webhook_events AS e (tenant_id, store_id, event_id, webhook_id, shopify_event_id,
                                     topic, api_version, triggered_at, body, payload, trace_parent)
    SELECT tenant, v.store_id, v.event_id, v.webhook_id, v.shopify_event_id, v.topic,
           v.api_version, v.triggered_at, v.body, v.payload::json, v.trace_parent
    FROM unnest(store_ids, event_ids, webhook_ids, shopify_event_ids, topics, api_versions,
                triggered_ats, bodies, payloads, trace_parents)
        AS v (store_id, event_id, webhook_id, shopify_event_id, topic, api_version,
              triggered_at, body, payload, trace_parent)
    ON CONFLICT DO NOTHING
    RETURNING e.store_id, e.webhook_id;
    IF FOUND THEN
        PERFORM pg_notify('xeno_webhook_events', '');
    END IF;
END $$;
