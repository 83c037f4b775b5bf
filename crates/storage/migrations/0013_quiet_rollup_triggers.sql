-- Cheaper rollup triggers on the write path webhooks and syncs take:
-- - a trigger whose statement changed no rows returns at once (every upsert fires both its
--   insert and its update triggers, and one of the two usually has empty transition tables);
-- - each operation runs static SQL, so PL/pgSQL keeps its plan instead of planning a dynamic
--   statement every time;
-- - emptied buyer spend rows are looked for among the changed buyers only (it was a scan of
--   every buyer of the tenant on each update or delete);
-- - an update recomputes buyer histories only when some order's customer, time or test flag
--   changed, checked before anything is planned.

-- Defines rollup trigger function `name` from `statement`, written over `{changes}`: the
-- statement's signed change set (see xeno_signed). Outside a tenant's transaction
-- (maintenance as the owner) it also bumps the versions of the tenants the rows name.
CREATE FUNCTION xeno_define_rollup(name text, statement text) RETURNS void LANGUAGE plpgsql AS $define$
BEGIN
    EXECUTE format($create$
        CREATE OR REPLACE FUNCTION %I() RETURNS trigger LANGUAGE plpgsql AS $body$
        DECLARE touched uuid[];
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;
            ELSIF NOT EXISTS (SELECT FROM old_rows) THEN
                RETURN NULL;
            END IF;
            IF xeno_current_tenant() IS NULL THEN
                EXECUTE format('SELECT array_agg(DISTINCT tenant_id) FROM (%%s) c', xeno_signed(TG_OP))
                    INTO touched;
                PERFORM xeno_bump_versions(COALESCE(touched, '{}'));
            END IF;
            IF TG_OP = 'INSERT' THEN
                %s;
            ELSIF TG_OP = 'DELETE' THEN
                %s;
            ELSE
                %s;
            END IF;
            RETURN NULL;
        END $body$
    $create$, name,
        replace(statement, '{changes}', xeno_signed('INSERT')),
        replace(statement, '{changes}', xeno_signed('DELETE')),
        replace(statement, '{changes}', xeno_signed('UPDATE')));
END $define$;

SELECT xeno_define_rollup('xeno_order_rollup', $q$
    INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, orders, gross, discounts,
                                  shipping, taxes, units)
    SELECT c.tenant_id, c.store_id,
           (c.processed_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
           sum(c.sign), sum(c.sign * c.total_line_items_price), sum(c.sign * c.total_discounts),
           sum(c.sign * c.total_shipping), sum(c.sign * c.total_tax), sum(c.sign * c.units)
    FROM ({changes}) c
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
$q$);

-- A refund of a test order is not a return in the reports either.
SELECT xeno_define_rollup('xeno_refund_rollup', $q$
    INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, returns, taxes)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
           sum(c.sign * c.line_subtotal), -sum(c.sign * c.line_tax)
    FROM ({changes}) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    WHERE c.test_order IS NOT TRUE
    GROUP BY 1, 2, 3, 4
    HAVING sum(c.sign * c.line_subtotal) <> 0 OR sum(c.sign * c.line_tax) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
        returns = d.returns + EXCLUDED.returns, taxes = d.taxes + EXCLUDED.taxes
$q$);

SELECT xeno_define_rollup('xeno_customer_rollup', $q$
    INSERT INTO daily_customers AS d (tenant_id, store_id, day, new_customers)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, sum(c.sign)
    FROM ({changes}) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    GROUP BY 1, 2, 3
    HAVING sum(c.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, store_id, day) DO UPDATE SET
        new_customers = d.new_customers + EXCLUDED.new_customers
$q$);

-- Each buyer's lifetime spend, now a rollup of its own; rows whose orders all went are
-- removed at once.
SELECT xeno_define_rollup('xeno_buyer_spend_rollup', $q$
    INSERT INTO buyer_spend AS b (tenant_id, store_id, customer_id, currency, orders, spent)
    SELECT c.tenant_id, c.store_id, c.customer_id, c.currency, sum(c.sign),
           sum(c.sign * c.current_total_price)
    FROM ({changes}) c
    WHERE NOT c.test AND c.customer_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(c.sign) <> 0 OR sum(c.sign * c.current_total_price) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, customer_id, currency) DO UPDATE SET
        orders = b.orders + EXCLUDED.orders, spent = b.spent + EXCLUDED.spent;
    DELETE FROM buyer_spend b
    USING (SELECT DISTINCT c.tenant_id, c.store_id, c.customer_id FROM ({changes}) c
           WHERE c.sign < 0 AND c.customer_id IS NOT NULL) o
    WHERE b.orders = 0 AND (b.tenant_id, b.store_id, b.customer_id)
        = (o.tenant_id, o.store_id, o.customer_id)
$q$);
CREATE TRIGGER orders_buyer_spend_insert AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION xeno_buyer_spend_rollup();
CREATE TRIGGER orders_buyer_spend_update AFTER UPDATE ON orders REFERENCING OLD TABLE AS old_rows
    NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION xeno_buyer_spend_rollup();
CREATE TRIGGER orders_buyer_spend_delete AFTER DELETE ON orders REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION xeno_buyer_spend_rollup();

-- Each buyer's first, second and last order: new orders merge into the summary without
-- reading the buyer's orders; only deletes, and updates that move an order in time, to
-- another buyer or in or out of test, look up the buyers' remaining orders.
CREATE OR REPLACE FUNCTION xeno_buyer_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO buyer_history AS h (tenant_id, store_id, customer_id, first_order_at,
                                        second_order_at, last_order_at)
        SELECT n.tenant_id, n.store_id, n.customer_id, n.ats[1], n.ats[2],
               n.ats[array_length(n.ats, 1)]
        FROM (SELECT tenant_id, store_id, customer_id,
                     array_agg(processed_at ORDER BY processed_at) AS ats
              FROM new_rows WHERE NOT test AND customer_id IS NOT NULL
              GROUP BY 1, 2, 3) n
        ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, store_id, customer_id) DO UPDATE SET
            first_order_at = LEAST(h.first_order_at, EXCLUDED.first_order_at),
            second_order_at = (
                SELECT at FROM unnest(ARRAY[h.first_order_at, h.second_order_at,
                                            EXCLUDED.first_order_at, EXCLUDED.second_order_at]) AS at
                WHERE at IS NOT NULL ORDER BY at OFFSET 1 LIMIT 1),
            last_order_at = GREATEST(h.last_order_at, EXCLUDED.last_order_at);
        RETURN NULL;
    END IF;
    -- (Nested: one condition is one query, and a delete's trigger has no new rows.)
    IF TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (
            SELECT FROM new_rows n JOIN old_rows o USING (tenant_id, store_id, order_id)
            WHERE (n.customer_id IS NOT NULL OR o.customer_id IS NOT NULL)
                AND (n.customer_id, n.processed_at, n.test) IS DISTINCT FROM
                    (o.customer_id, o.processed_at, o.test)) THEN
            RETURN NULL;
        END IF;
    END IF;
    EXECUTE format($q$
        WITH touched AS (%s),
        history AS (
            SELECT t.*, f.firsts[1] AS first_order_at, f.firsts[2] AS second_order_at,
                   (SELECT max(o.processed_at) FROM orders o
                    WHERE o.tenant_id = t.tenant_id AND o.store_id = t.store_id
                        AND o.customer_id = t.customer_id AND NOT o.test) AS last_order_at
            FROM touched t CROSS JOIN LATERAL (
                SELECT array(SELECT o.processed_at FROM orders o
                             WHERE o.tenant_id = t.tenant_id AND o.store_id = t.store_id
                                 AND o.customer_id = t.customer_id AND NOT o.test
                             ORDER BY o.processed_at LIMIT 2) AS firsts) f),
        gone AS (
            DELETE FROM buyer_history h USING history
            WHERE history.first_order_at IS NULL AND (h.tenant_id, h.store_id, h.customer_id)
                = (history.tenant_id, history.store_id, history.customer_id))
        INSERT INTO buyer_history AS h (tenant_id, store_id, customer_id, first_order_at,
                                        second_order_at, last_order_at)
        SELECT * FROM history WHERE first_order_at IS NOT NULL ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, store_id, customer_id) DO UPDATE SET
            first_order_at = EXCLUDED.first_order_at, second_order_at = EXCLUDED.second_order_at,
            last_order_at = EXCLUDED.last_order_at
        WHERE (h.first_order_at, h.second_order_at, h.last_order_at) IS DISTINCT FROM
            (EXCLUDED.first_order_at, EXCLUDED.second_order_at, EXCLUDED.last_order_at)
    $q$, CASE TG_OP
        WHEN 'DELETE' THEN
            'SELECT DISTINCT tenant_id, store_id, customer_id FROM old_rows
             WHERE customer_id IS NOT NULL'
        ELSE
            'SELECT DISTINCT b.tenant_id, b.store_id, b.customer_id
             FROM new_rows n JOIN old_rows o USING (tenant_id, store_id, order_id)
             CROSS JOIN LATERAL (VALUES (n.tenant_id, n.store_id, n.customer_id),
                                        (o.tenant_id, o.store_id, o.customer_id))
                 AS b (tenant_id, store_id, customer_id)
             WHERE b.customer_id IS NOT NULL
                 AND (n.customer_id, n.processed_at, n.test)
                     IS DISTINCT FROM (o.customer_id, o.processed_at, o.test)'
        END);
    RETURN NULL;
END $$;
