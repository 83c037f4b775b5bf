-- Insights: daily rollups kept exact by the write path, and a per-tenant data version
-- that every write bumps so cached answers are never stale.
--
-- Statement-level triggers with transition tables turn each write into deltas (new rows
-- added, old rows subtracted), so a range costs O(days) to read, whichever path wrote
-- (webhooks, backfill, sync, privacy erasure, deletes).

-- Self-contained rows: what a trigger needs is on the row it sees.
ALTER TABLE orders ADD COLUMN units integer NOT NULL DEFAULT 0;
UPDATE orders o SET units = l.units
FROM (SELECT tenant_id, store_id, order_id, sum(quantity)::integer AS units
      FROM order_line_items GROUP BY 1, 2, 3) l
WHERE (o.tenant_id, o.store_id, o.order_id) = (l.tenant_id, l.store_id, l.order_id);

-- Refunded line value and tax, the figures Shopify's reports call returns.
ALTER TABLE refunds
    ADD COLUMN line_subtotal numeric NOT NULL DEFAULT 0,
    ADD COLUMN line_tax numeric NOT NULL DEFAULT 0;
UPDATE refunds r SET line_subtotal = l.subtotal, line_tax = l.tax
FROM (SELECT tenant_id, store_id, refund_id, sum(subtotal) AS subtotal, sum(total_tax) AS tax
      FROM refund_line_items GROUP BY 1, 2, 3) l
WHERE (r.tenant_id, r.store_id, r.refund_id) = (l.tenant_id, l.store_id, l.refund_id);

-- Sales by the store's local day and currency. Orders, gross, discounts, shipping, taxes
-- and units are dated by the order's processed_at; returns (and the tax they give back)
-- by the refund's created_at, as Shopify's sales reports date adjustments.
CREATE TABLE daily_sales (
    tenant_id uuid NOT NULL,
    store_id  uuid NOT NULL,
    day       date NOT NULL,
    currency  char(3) NOT NULL,
    orders    bigint NOT NULL DEFAULT 0,
    gross     numeric NOT NULL DEFAULT 0,
    discounts numeric NOT NULL DEFAULT 0,
    returns   numeric NOT NULL DEFAULT 0,
    shipping  numeric NOT NULL DEFAULT 0,
    taxes     numeric NOT NULL DEFAULT 0,
    units     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, store_id, day, currency),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX daily_sales_day ON daily_sales (tenant_id, day);

-- Customers created per store-local day.
CREATE TABLE daily_customers (
    tenant_id     uuid NOT NULL,
    store_id      uuid NOT NULL,
    day           date NOT NULL,
    new_customers bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, store_id, day),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);

CREATE TABLE data_versions (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    version   bigint NOT NULL DEFAULT 0
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['daily_sales', 'daily_customers', 'data_versions']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = xeno_current_tenant()) '
            'WITH CHECK (tenant_id = xeno_current_tenant())', t);
    END LOOP;
END $$;

-- Bumps the data version of the given tenants.
CREATE FUNCTION xeno_bump_versions(tenants uuid[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO data_versions (tenant_id, version)
    SELECT t, 1 FROM unnest(tenants) AS t ORDER BY t
    ON CONFLICT (tenant_id) DO UPDATE SET version = data_versions.version + 1
$$;

-- The signed change set of a statement, as SQL over the trigger's transition tables.
CREATE FUNCTION xeno_signed(op text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE op
        WHEN 'INSERT' THEN 'SELECT n.*, 1 AS sign FROM new_rows n'
        WHEN 'DELETE' THEN 'SELECT o.*, -1 AS sign FROM old_rows o'
        ELSE 'SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o'
    END
$$;

-- Bumps the version of the transaction's tenant before a statement writes anything. Taking
-- this lock first means a tenant's writers queue here before any of them holds a row the
-- others need: no deadlocks between rows and the version.
CREATE FUNCTION xeno_bump_current() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF xeno_current_tenant() IS NOT NULL THEN
        PERFORM xeno_bump_versions(ARRAY[xeno_current_tenant()]);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION xeno_order_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE touched uuid[];
BEGIN
    -- Outside a tenant's transaction (maintenance as the owner) the rows name the tenants.
    IF xeno_current_tenant() IS NULL THEN
        EXECUTE format('SELECT array_agg(DISTINCT tenant_id) FROM (%s) c', xeno_signed(TG_OP)) INTO touched;
        PERFORM xeno_bump_versions(COALESCE(touched, '{}'));
    END IF;
    EXECUTE format($q$
        INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, orders, gross, discounts,
                                      shipping, taxes, units)
        SELECT c.tenant_id, c.store_id,
               (c.processed_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
               sum(c.sign), sum(c.sign * c.total_line_items_price), sum(c.sign * c.total_discounts),
               sum(c.sign * c.total_shipping), sum(c.sign * c.total_tax), sum(c.sign * c.units)
        FROM (%s) c
        JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
        WHERE NOT c.test
        GROUP BY 1, 2, 3, 4
        HAVING sum(c.sign) <> 0 OR sum(c.sign * c.total_line_items_price) <> 0
            OR sum(c.sign * c.total_discounts) <> 0 OR sum(c.sign * c.total_shipping) <> 0
            OR sum(c.sign * c.total_tax) <> 0 OR sum(c.sign * c.units) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
            orders = d.orders + EXCLUDED.orders, gross = d.gross + EXCLUDED.gross,
            discounts = d.discounts + EXCLUDED.discounts, shipping = d.shipping + EXCLUDED.shipping,
            taxes = d.taxes + EXCLUDED.taxes, units = d.units + EXCLUDED.units
    $q$, xeno_signed(TG_OP));
    RETURN NULL;
END $$;

-- A refund of a test order is not a return in the reports either.
CREATE FUNCTION xeno_refund_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE touched uuid[];
BEGIN
    -- Outside a tenant's transaction (maintenance as the owner) the rows name the tenants.
    IF xeno_current_tenant() IS NULL THEN
        EXECUTE format('SELECT array_agg(DISTINCT tenant_id) FROM (%s) c', xeno_signed(TG_OP)) INTO touched;
        PERFORM xeno_bump_versions(COALESCE(touched, '{}'));
    END IF;
    EXECUTE format($q$
        INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, returns, taxes)
        SELECT c.tenant_id, c.store_id,
               (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
               sum(c.sign * c.line_subtotal), -sum(c.sign * c.line_tax)
        FROM (%s) c
        JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
        WHERE c.test_order IS NOT TRUE
        GROUP BY 1, 2, 3, 4
        HAVING sum(c.sign * c.line_subtotal) <> 0 OR sum(c.sign * c.line_tax) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
            returns = d.returns + EXCLUDED.returns, taxes = d.taxes + EXCLUDED.taxes
    $q$, xeno_signed(TG_OP));
    RETURN NULL;
END $$;

CREATE FUNCTION xeno_customer_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE touched uuid[];
BEGIN
    -- Outside a tenant's transaction (maintenance as the owner) the rows name the tenants.
    IF xeno_current_tenant() IS NULL THEN
        EXECUTE format('SELECT array_agg(DISTINCT tenant_id) FROM (%s) c', xeno_signed(TG_OP)) INTO touched;
        PERFORM xeno_bump_versions(COALESCE(touched, '{}'));
    END IF;
    EXECUTE format($q$
        INSERT INTO daily_customers AS d (tenant_id, store_id, day, new_customers)
        SELECT c.tenant_id, c.store_id,
               (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, sum(c.sign)
        FROM (%s) c
        JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
        GROUP BY 1, 2, 3
        HAVING sum(c.sign) <> 0
        ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, store_id, day) DO UPDATE SET
            new_customers = d.new_customers + EXCLUDED.new_customers
    $q$, xeno_signed(TG_OP));
    RETURN NULL;
END $$;

-- Refunds carry whether their order is a test, so the trigger needs no lookup.
ALTER TABLE refunds ADD COLUMN test_order boolean NOT NULL DEFAULT false;
UPDATE refunds r SET test_order = o.test FROM orders o
WHERE (r.tenant_id, r.store_id, r.order_id) = (o.tenant_id, o.store_id, o.order_id) AND o.test;

DO $$
DECLARE
    t record;
    tab text;
BEGIN
    FOREACH tab IN ARRAY ARRAY['orders', 'refunds', 'customers', 'products', 'checkouts']
    LOOP
        EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OR DELETE ON %I '
            'FOR EACH STATEMENT EXECUTE FUNCTION xeno_bump_current()', tab || '_version', tab);
    END LOOP;
    -- Stores change figures only through their name, currency and zone (not token refreshes).
    CREATE TRIGGER stores_version BEFORE INSERT OR DELETE OR UPDATE OF name, currency, iana_timezone
        ON stores FOR EACH STATEMENT EXECUTE FUNCTION xeno_bump_current();
    FOR t IN SELECT * FROM (VALUES
        ('orders', 'xeno_order_rollup'), ('refunds', 'xeno_refund_rollup'),
        ('customers', 'xeno_customer_rollup')) AS v (tab, fn)
    LOOP
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
            'FOR EACH STATEMENT EXECUTE FUNCTION %I()', t.tab || '_insights_insert', t.tab, t.fn);
        EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows '
            'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %I()',
            t.tab || '_insights_update', t.tab, t.fn);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
            'FOR EACH STATEMENT EXECUTE FUNCTION %I()', t.tab || '_insights_delete', t.tab, t.fn);
    END LOOP;
END $$;

-- What was stored before this migration.
INSERT INTO daily_sales (tenant_id, store_id, day, currency, orders, gross, discounts, shipping, taxes, units)
SELECT o.tenant_id, o.store_id, (o.processed_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date,
       o.currency, count(*), sum(o.total_line_items_price), sum(o.total_discounts),
       sum(o.total_shipping), sum(o.total_tax), sum(o.units)
FROM orders o JOIN stores s ON s.tenant_id = o.tenant_id AND s.store_id = o.store_id
WHERE NOT o.test
GROUP BY 1, 2, 3, 4;
INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, returns, taxes)
SELECT r.tenant_id, r.store_id, (r.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date,
       r.currency, sum(r.line_subtotal), -sum(r.line_tax)
FROM refunds r JOIN stores s ON s.tenant_id = r.tenant_id AND s.store_id = r.store_id
WHERE NOT r.test_order
GROUP BY 1, 2, 3, 4
ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
    returns = d.returns + EXCLUDED.returns, taxes = d.taxes + EXCLUDED.taxes;
INSERT INTO daily_customers (tenant_id, store_id, day, new_customers)
SELECT c.tenant_id, c.store_id, (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, count(*)
FROM customers c JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
GROUP BY 1, 2, 3;

-- Deleted records are gone (tombstones remember them), so every row here counts.
-- Reads for the insights queries: buyers in a range, and whether a buyer ordered before.
CREATE INDEX orders_range ON orders (tenant_id, store_id, processed_at)
    INCLUDE (customer_id, currency, current_total_price) WHERE NOT test;
CREATE INDEX orders_buyer_history ON orders (tenant_id, store_id, customer_id, processed_at)
    WHERE NOT test AND customer_id IS NOT NULL;

-- Planner statistics for the tables bulk loads grow. Autovacuum keeps them in production, but
-- only after a while (and not at all where it is off): without them a backfill's foreign-key
-- checks can pick a poor index and slow to a crawl as a table grows. The runtime role owns no
-- table, so it asks through this function, which analyzes a table only when autovacuum's own
-- rule would (changes since the last analyze above 50 rows plus a tenth of the table).
CREATE FUNCTION xeno_refresh_statistics() RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public AS $$
DECLARE t text;
BEGIN
    FOR t IN
        SELECT relname FROM pg_stat_user_tables
        WHERE relname = ANY (ARRAY['customers', 'products', 'product_variants', 'orders',
                'order_line_items', 'refunds', 'refund_line_items', 'checkouts'])
            AND n_mod_since_analyze > 50 + 0.1 * n_live_tup
    LOOP
        EXECUTE format('ANALYZE %I', t);
    END LOOP;
END $$;
