-- Deliveries bound to their shop: a signed body that names another shop, a shop/redact for
-- a store still installed, or an app/uninstalled older than the store's latest install is
-- stored as `rejected` (visible, counted) and never applied.
ALTER TABLE webhook_events DROP CONSTRAINT webhook_events_status_check;
ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_status_check
    CHECK (status IN ('pending', 'done', 'failed', 'dead', 'rejected'));

-- One merchant action is one delivery per topic, whatever webhook id it comes under:
-- Shopify shares X-Shopify-Event-Id between the deliveries of one action (one per
-- subscription), so a body delivered again under a fresh webhook id is a duplicate. Only for
-- the topics whose effect cannot be undone: a replayed record version is harmless (the
-- version guard keeps the newest), and an index on every delivery cost acceptance a fifth
-- of its rate. Earlier duplicates keep their rows without the id.
UPDATE webhook_events e SET shopify_event_id = NULL
WHERE e.shopify_event_id IS NOT NULL
  AND e.topic IN ('app/uninstalled', 'shop/redact', 'customers/redact', 'customers/data_request')
  AND EXISTS (
    SELECT 1 FROM webhook_events f
    WHERE (f.tenant_id, f.store_id, f.topic, f.shopify_event_id)
        = (e.tenant_id, e.store_id, e.topic, e.shopify_event_id)
      AND (f.received_at, f.event_id) < (e.received_at, e.event_id));
CREATE UNIQUE INDEX webhook_events_action
    ON webhook_events (tenant_id, store_id, topic, shopify_event_id)
    WHERE shopify_event_id IS NOT NULL
      AND topic IN ('app/uninstalled', 'shop/redact', 'customers/redact', 'customers/data_request');

-- Acceptance skips either kind of duplicate (same webhook id, or same action and topic).
CREATE OR REPLACE FUNCTION xeno_accept_webhooks(
    tenant uuid, store_ids uuid[], event_ids uuid[], webhook_ids text[], shopify_event_ids text[],
    topics text[], api_versions text[], triggered_ats timestamptz[], bodies bytea[],
    payloads text[])
RETURNS TABLE (store_id uuid, webhook_id text) LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('app.tenant_id', tenant::text, true);
    RETURN QUERY
    INSERT INTO webhook_events AS e (tenant_id, store_id, event_id, webhook_id, shopify_event_id,
                                     topic, api_version, triggered_at, body, payload)
    SELECT tenant, v.store_id, v.event_id, v.webhook_id, v.shopify_event_id, v.topic,
           v.api_version, v.triggered_at, v.body, v.payload::json
    FROM unnest(store_ids, event_ids, webhook_ids, shopify_event_ids, topics, api_versions,
                triggered_ats, bodies, payloads)
        AS v (store_id, event_id, webhook_id, shopify_event_id, topic, api_version,
              triggered_at, body, payload)
    ON CONFLICT DO NOTHING
    RETURNING e.store_id, e.webhook_id;
    IF FOUND THEN
        PERFORM pg_notify('xeno_webhook_events', '');
    END IF;
END $$;
