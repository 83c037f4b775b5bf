-- Rollups for the products and checkouts reports, so that neither reads every line item or
-- checkout of its range: a year at a million orders took 3 s (products) and 1.4 s
-- (checkouts).

-- Product sales per store-local day and per store-local month, by product, variant and
-- currency. A range reads its whole months from the month rows and its edge days from the
-- day rows. Figures follow the products report (see xeno_domain::sales): sales on the
-- order's day, refunded lines on the refund's day, what a cancellation takes back of each
-- line on the cancellation's day.
CREATE TABLE product_sales (
    tenant_id          uuid NOT NULL,
    period             text NOT NULL CHECK (period IN ('day', 'month')),
    starts             date NOT NULL,
    store_id           uuid NOT NULL,
    currency           char(3) NOT NULL,
    product_id         bigint,
    variant_id         bigint,
    -- Lines' own titles, for products and variants Xeno does not hold (custom items,
    -- deleted products): the smallest seen. A removed line's title may linger.
    line_title         text,
    line_variant_title text,
    -- Sold and returned lines counted here: a row is in a range's report when it has any.
    lines              bigint NOT NULL,
    -- Orders with the variant, and orders with the product (counted on one variant each).
    orders             bigint NOT NULL,
    product_orders     bigint NOT NULL,
    units              bigint NOT NULL,
    -- Price × quantity less line discounts, and what returns took back.
    revenue            numeric NOT NULL,
    returns            numeric NOT NULL,
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);
CREATE UNIQUE INDEX product_sales_key ON product_sales
    (tenant_id, period, starts, store_id, currency, product_id, variant_id) NULLS NOT DISTINCT;
-- Rows whose lines all went (orders deleted, moved to another day, made tests).
CREATE INDEX product_sales_empty ON product_sales (tenant_id) WHERE lines = 0;

-- Writes the product sales of `orders` (a row source with the columns of `orders`) into the
-- rollup, signed: -1 takes away what they added, from the same rows. The statement reads the
-- orders' current lines and refunds, so callers take an order's figures away before changing
-- its lines or refunds and add them back after.
CREATE FUNCTION xeno_product_sales_statement(orders text, sign text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $f$
SELECT replace(replace($q$
    WITH o AS (
        SELECT o.tenant_id, o.store_id, o.order_id, o.processed_at, o.cancelled_at, o.test,
               COALESCE(s.iana_timezone, 'UTC') AS tz
        FROM {orders} o JOIN stores s ON s.tenant_id = o.tenant_id AND s.store_id = o.store_id
    ),
    l AS (
        SELECT o.*, l.line_item_id, l.product_id, l.variant_id, l.currency, l.title,
               l.variant_title, l.quantity, l.price * l.quantity - l.discount AS net
        FROM o JOIN order_line_items l ON l.tenant_id = o.tenant_id AND l.store_id = o.store_id
            AND l.order_id = o.order_id
        WHERE NOT l.gift_card
    ),
    -- Refunded lines, each with its line's product (looked up by key: a join with `l` is
    -- planned blind, as PostgreSQL cannot estimate a CTE's size).
    refunded AS (
        SELECT l.tenant_id, l.store_id, l.product_id, l.variant_id, l.currency, l.title,
               l.variant_title, o.tz, r.created_at, rl.subtotal
        FROM o JOIN refunds r ON r.tenant_id = o.tenant_id AND r.store_id = o.store_id
            AND r.order_id = o.order_id
        JOIN refund_line_items rl ON rl.tenant_id = r.tenant_id AND rl.store_id = r.store_id
            AND rl.refund_id = r.refund_id
        JOIN order_line_items l ON l.tenant_id = rl.tenant_id AND l.store_id = rl.store_id
            AND l.line_item_id = rl.line_item_id
        WHERE NOT r.test_order AND NOT l.gift_card
    ),
    e AS (
        -- Sales: one row per order and variant; the product's order is counted on its
        -- first variant.
        SELECT tenant_id, store_id, (processed_at AT TIME ZONE tz)::date AS day, product_id,
               variant_id, currency, min(title) AS title, min(variant_title) AS variant_title,
               count(*) AS lines, 1 AS orders,
               (row_number() OVER (PARTITION BY tenant_id, store_id, order_id, product_id
                                   ORDER BY variant_id NULLS FIRST) = 1)::int AS product_orders,
               sum(quantity) AS units, sum(net) AS revenue, 0 AS returns
        FROM l WHERE NOT test
        GROUP BY tenant_id, store_id, order_id, processed_at, tz, product_id, variant_id, currency
        UNION ALL
        SELECT tenant_id, store_id, (created_at AT TIME ZONE tz)::date, product_id, variant_id,
               currency, title, variant_title, 1, 0, 0, 0, 0, subtotal
        FROM refunded
        UNION ALL
        SELECT l.tenant_id, l.store_id, (l.cancelled_at AT TIME ZONE l.tz)::date, l.product_id,
               l.variant_id, l.currency, l.title, l.variant_title, 1, 0, 0, 0, 0,
               GREATEST(l.net - COALESCE((SELECT sum(rl.subtotal) FROM refunds r
                   JOIN refund_line_items rl ON rl.tenant_id = r.tenant_id
                       AND rl.store_id = r.store_id AND rl.refund_id = r.refund_id
                   WHERE r.tenant_id = l.tenant_id AND r.store_id = l.store_id
                       AND r.order_id = l.order_id AND rl.line_item_id = l.line_item_id), 0), 0)
        FROM l WHERE l.cancelled_at IS NOT NULL AND NOT l.test
    ),
    spans AS (
        SELECT 'day' AS period, day AS starts, * FROM e
        UNION ALL
        SELECT 'month', date_trunc('month', day)::date, * FROM e
    )
    INSERT INTO product_sales AS p (tenant_id, period, starts, store_id, currency, product_id,
        variant_id, line_title, line_variant_title, lines, orders, product_orders, units,
        revenue, returns)
    SELECT tenant_id, period, starts, store_id, currency, product_id, variant_id, min(title),
           min(variant_title), {sign} * sum(lines), {sign} * sum(orders),
           {sign} * sum(product_orders), {sign} * sum(units), {sign} * sum(revenue),
           {sign} * sum(returns)
    FROM spans
    GROUP BY tenant_id, period, starts, store_id, currency, product_id, variant_id
    ORDER BY tenant_id, period, starts, store_id, currency, product_id, variant_id
    ON CONFLICT (tenant_id, period, starts, store_id, currency, product_id, variant_id) DO UPDATE SET
        line_title = LEAST(p.line_title, EXCLUDED.line_title),
        line_variant_title = LEAST(p.line_variant_title, EXCLUDED.line_variant_title),
        lines = p.lines + EXCLUDED.lines, orders = p.orders + EXCLUDED.orders,
        product_orders = p.product_orders + EXCLUDED.product_orders,
        units = p.units + EXCLUDED.units, revenue = p.revenue + EXCLUDED.revenue,
        returns = p.returns + EXCLUDED.returns
$q$, '{orders}', orders), '{sign}', sign)
$f$;

-- Adds (sign 1) or takes away (sign -1) the product sales of a store's orders, then drops
-- the rows left with no lines. The write path calls it around the changes it makes.
DO $$
BEGIN
    EXECUTE format($create$
        CREATE FUNCTION xeno_product_sales(tenant uuid, store uuid, ids bigint[], sign integer)
            RETURNS void LANGUAGE plpgsql AS $body$
        BEGIN
            %s;
            DELETE FROM product_sales WHERE tenant_id = tenant AND lines = 0;
        END $body$
    $create$, xeno_product_sales_statement(
        '(SELECT * FROM orders WHERE tenant_id = tenant AND store_id = store AND order_id = ANY(ids))',
        'sign'));
    -- Every update of orders takes the updated orders' figures away, while their old lines
    -- and refunds are still stored, and whoever updates orders adds them back when done:
    -- the upsert after replacing their lines and refunds, a redaction at once. Taken in the
    -- trigger, the old figures are those of the rows as locked by the update, even when
    -- another writer changed them a moment before.
    EXECUTE format($create$
        CREATE FUNCTION xeno_product_sales_retract() RETURNS trigger LANGUAGE plpgsql AS $body$
        BEGIN
            IF NOT EXISTS (SELECT FROM old_rows) THEN RETURN NULL; END IF;
            %s;
            RETURN NULL;
        END $body$
    $create$, xeno_product_sales_statement('old_rows', '-1'));
END $$;
CREATE TRIGGER orders_product_sales_retract AFTER UPDATE ON orders REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION xeno_product_sales_retract();

DO $$ BEGIN EXECUTE xeno_product_sales_statement('orders', '1'); END $$;

-- Checkouts per store-local day of their start and currency. Whether a checkout not
-- completed is abandoned depends on the time of asking (its last update over ten hours ago),
-- so the rollup counts those not completed and the report takes away the few updated in the
-- last ten hours. A checkout's start before its store was connected (when Xeno could not see
-- completions) is the store's `created_at`, which never changes.
CREATE TABLE checkout_days (
    tenant_id           uuid NOT NULL,
    store_id            uuid NOT NULL,
    day                 date NOT NULL,
    currency            char(3) NOT NULL,
    started             bigint NOT NULL DEFAULT 0,
    completed           bigint NOT NULL DEFAULT 0,
    completed_value     numeric NOT NULL DEFAULT 0,
    completed_known     bigint NOT NULL DEFAULT 0,
    open                bigint NOT NULL DEFAULT 0,
    open_value          numeric NOT NULL DEFAULT 0,
    open_known          bigint NOT NULL DEFAULT 0,
    recovered           bigint NOT NULL DEFAULT 0,
    recovered_value     numeric NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, store_id, day, currency),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id)
        ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED
);

SELECT xeno_define_rollup('xeno_checkout_rollup', $q$
    INSERT INTO checkout_days AS d (tenant_id, store_id, day, currency, started, completed,
        completed_value, completed_known, open, open_value, open_known, recovered,
        recovered_value)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
           sum(c.sign),
           sum(c.sign * (c.completed_at IS NOT NULL)::int),
           sum(c.sign * c.total_price * (c.completed_at IS NOT NULL)::int),
           sum(c.sign * (c.completed_at IS NOT NULL AND c.created_at >= s.created_at)::int),
           sum(c.sign * (c.completed_at IS NULL)::int),
           sum(c.sign * c.total_price * (c.completed_at IS NULL)::int),
           sum(c.sign * (c.completed_at IS NULL AND c.created_at >= s.created_at)::int),
           sum(c.sign * COALESCE(c.completed_at >= c.created_at + interval '10 hours', false)::int),
           sum(c.sign * c.total_price
               * COALESCE(c.completed_at >= c.created_at + interval '10 hours', false)::int)
    FROM ({changes}) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    GROUP BY 1, 2, 3, 4
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
        started = d.started + EXCLUDED.started, completed = d.completed + EXCLUDED.completed,
        completed_value = d.completed_value + EXCLUDED.completed_value,
        completed_known = d.completed_known + EXCLUDED.completed_known,
        open = d.open + EXCLUDED.open, open_value = d.open_value + EXCLUDED.open_value,
        open_known = d.open_known + EXCLUDED.open_known,
        recovered = d.recovered + EXCLUDED.recovered,
        recovered_value = d.recovered_value + EXCLUDED.recovered_value
$q$);
CREATE TRIGGER checkouts_insights_insert AFTER INSERT ON checkouts REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION xeno_checkout_rollup();
CREATE TRIGGER checkouts_insights_update AFTER UPDATE ON checkouts REFERENCING OLD TABLE AS old_rows
    NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION xeno_checkout_rollup();
CREATE TRIGGER checkouts_insights_delete AFTER DELETE ON checkouts REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION xeno_checkout_rollup();

INSERT INTO checkout_days (tenant_id, store_id, day, currency, started, completed,
    completed_value, completed_known, open, open_value, open_known, recovered, recovered_value)
SELECT c.tenant_id, c.store_id,
       (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
       count(*),
       count(*) FILTER (WHERE c.completed_at IS NOT NULL),
       COALESCE(sum(c.total_price) FILTER (WHERE c.completed_at IS NOT NULL), 0),
       count(*) FILTER (WHERE c.completed_at IS NOT NULL AND c.created_at >= s.created_at),
       count(*) FILTER (WHERE c.completed_at IS NULL),
       COALESCE(sum(c.total_price) FILTER (WHERE c.completed_at IS NULL), 0),
       count(*) FILTER (WHERE c.completed_at IS NULL AND c.created_at >= s.created_at),
       count(*) FILTER (WHERE c.completed_at >= c.created_at + interval '10 hours'),
       COALESCE(sum(c.total_price)
           FILTER (WHERE c.completed_at >= c.created_at + interval '10 hours'), 0)
FROM checkouts c JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
GROUP BY 1, 2, 3, 4;

ALTER TABLE product_sales ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON product_sales
    USING (tenant_id = xeno_current_tenant()) WITH CHECK (tenant_id = xeno_current_tenant());
ALTER TABLE checkout_days ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON checkout_days
    USING (tenant_id = xeno_current_tenant()) WITH CHECK (tenant_id = xeno_current_tenant());

-- A store deleted by hand takes its new rollups along too (see 0016).
CREATE OR REPLACE FUNCTION xeno_delete_store_leftovers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM webhook_events WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM daily_sales WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM daily_customers WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM buyer_history WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM buyer_spend WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM product_sales WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    DELETE FROM checkout_days WHERE tenant_id = OLD.tenant_id AND store_id = OLD.store_id;
    RETURN NULL;
END $$;
