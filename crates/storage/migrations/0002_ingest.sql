-- Connecting stores and applying their webhooks.

-- Deletes are final: a tombstone outlives the row, so a stale update that arrives after the
-- delete cannot bring the record back. One table for every resource, instead of a deleted
-- flag per table, so "is it deleted?" has one answer.
CREATE TABLE tombstones (
    tenant_id   uuid NOT NULL,
    store_id    uuid NOT NULL,
    resource    text NOT NULL CHECK (resource IN ('customer', 'product', 'order', 'checkout')),
    resource_id bigint NOT NULL,
    deleted_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, resource, resource_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);

ALTER TABLE customers DROP COLUMN deleted_at;
ALTER TABLE products DROP COLUMN deleted_at;
ALTER TABLE orders DROP COLUMN deleted_at;
ALTER TABLE checkouts DROP COLUMN deleted_at;

-- Single-use OAuth install nonces, bound to the tenant and user that started the install.
CREATE TABLE oauth_nonces (
    tenant_id   uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    nonce       text NOT NULL,
    user_id     uuid NOT NULL,
    shop_domain text NOT NULL,
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, nonce)
);

-- Mandatory privacy requests, kept so the merchant can act on them and prove it.
CREATE TABLE privacy_requests (
    tenant_id   uuid NOT NULL,
    store_id    uuid NOT NULL,
    request_id  uuid NOT NULL,
    topic       text NOT NULL,
    customer_id bigint,
    email       text,
    order_ids   bigint[] NOT NULL DEFAULT '{}',
    payload     jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    PRIMARY KEY (tenant_id, request_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);

ALTER TABLE stores ADD COLUMN status_reason text;
ALTER TABLE stores ADD COLUMN api_version text;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tombstones', 'oauth_nonces', 'privacy_requests']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = xeno_current_tenant()) '
            'WITH CHECK (tenant_id = xeno_current_tenant())', t);
    END LOOP;
END $$;

-- The worker serves every tenant, but row-level security shows the service role no row
-- without a tenant. This one narrow door, owned by the table owner, claims due events across
-- tenants and returns only their keys; the worker then reads each event under its tenant.
-- Rows stay locked (SKIP LOCKED) until the caller's transaction ends.
CREATE FUNCTION xeno_claim_webhook_events(batch integer)
    RETURNS TABLE (tenant_id uuid, event_id uuid)
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public
    AS $$
        SELECT e.tenant_id, e.event_id
        FROM webhook_events e
        WHERE e.status IN ('pending', 'failed') AND e.next_attempt_at <= now()
        ORDER BY e.next_attempt_at
        LIMIT batch
        FOR UPDATE SKIP LOCKED
    $$;
