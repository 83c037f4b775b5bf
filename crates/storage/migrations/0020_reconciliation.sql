-- Reconciliation with Shopify Analytics: each store's latest check of Xeno's daily sales
-- against Shopify's own (ShopifyQL), the window it covered and every day and metric that
-- differed. A check never changes Xeno's figures.
CREATE TABLE reconciliations (
    tenant_id    uuid NOT NULL,
    store_id     uuid NOT NULL,
    checked_at   timestamptz NOT NULL DEFAULT now(),
    -- matched, mismatched, not_checked (the store has not granted read_reports) or failed.
    status       text NOT NULL CHECK (status IN ('matched', 'mismatched', 'not_checked', 'failed')),
    window_from  date,
    window_to    date,
    days_checked integer NOT NULL DEFAULT 0,
    days_matched integer NOT NULL DEFAULT 0,
    -- [{day, metric, xeno, shopify}], money as decimal strings.
    mismatches   jsonb NOT NULL DEFAULT '[]',
    -- Why a store was not checked, or what failed.
    detail       text,
    PRIMARY KEY (tenant_id, store_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);

ALTER TABLE reconciliations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON reconciliations USING (tenant_id = xeno_current_tenant())
    WITH CHECK (tenant_id = xeno_current_tenant());

-- Days that differ from Shopify's figures in the latest checks, across tenants, for
-- `/metrics`. Owned by the schema owner, so it sees every tenant.
CREATE FUNCTION xeno_reconciliation_mismatched_days() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
    AS $$ SELECT COALESCE(sum(days_checked - days_matched), 0)::bigint FROM reconciliations $$;
