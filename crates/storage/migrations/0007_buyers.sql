-- Each buyer's order history in brief, per store, kept by the write path, so the dashboard's
-- buyer figures and top customers cost index range scans rather than a pass over every order
-- in the range. Only counted orders (not tests, with a customer) are summarised.

-- When a buyer first, second and last ordered: new buyers in a range are a range count on
-- the first order, repeat buyers among them need the second, returning buyers the last.
CREATE TABLE buyer_history (
    tenant_id       uuid NOT NULL,
    store_id        uuid NOT NULL,
    customer_id     bigint NOT NULL,
    first_order_at  timestamptz NOT NULL,
    second_order_at timestamptz,
    last_order_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, store_id, customer_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX buyer_history_first ON buyer_history (tenant_id, store_id, first_order_at)
    INCLUDE (second_order_at);
CREATE INDEX buyer_history_last ON buyer_history (tenant_id, store_id, last_order_at)
    INCLUDE (first_order_at);

-- What each buyer has spent per currency over all time. Order totals are never negative,
-- so this bounds what they spent in any range: the top spenders of a range are found by
-- walking buyers from the biggest lifetime spend down, stopping once no one left can win.
CREATE TABLE buyer_spend (
    tenant_id   uuid NOT NULL,
    store_id    uuid NOT NULL,
    customer_id bigint NOT NULL,
    currency    char(3) NOT NULL,
    orders      bigint NOT NULL,
    spent       numeric NOT NULL,
    PRIMARY KEY (tenant_id, store_id, customer_id, currency),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX buyer_spend_rank ON buyer_spend (tenant_id, currency, spent, store_id, customer_id);
-- Rows whose orders all went (deleted, made tests, moved to another customer): removed at once.
CREATE INDEX buyer_spend_empty ON buyer_spend (tenant_id) WHERE orders = 0;

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['buyer_history', 'buyer_spend']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = xeno_current_tenant()) '
            'WITH CHECK (tenant_id = xeno_current_tenant())', t);
    END LOOP;
END $$;

-- Spend changes by the statement's signed deltas, like the daily rollups. History is
-- recomputed for every buyer the statement touched (inserts, deletes, and updates that move
-- an order in time, make it a test or change its customer alike): three probes of
-- orders_buyer_history per buyer, whatever their number of orders.
CREATE FUNCTION xeno_buyer_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        INSERT INTO buyer_spend AS b (tenant_id, store_id, customer_id, currency, orders, spent)
        SELECT c.tenant_id, c.store_id, c.customer_id, c.currency, sum(c.sign),
               sum(c.sign * c.current_total_price)
        FROM (%s) c
        WHERE NOT c.test AND c.customer_id IS NOT NULL
        GROUP BY 1, 2, 3, 4
        HAVING sum(c.sign) <> 0 OR sum(c.sign * c.current_total_price) <> 0
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, store_id, customer_id, currency) DO UPDATE SET
            orders = b.orders + EXCLUDED.orders, spent = b.spent + EXCLUDED.spent
    $q$, xeno_signed(TG_OP));
    DELETE FROM buyer_spend WHERE orders = 0;
    EXECUTE format($q$
        WITH touched AS (
            SELECT DISTINCT c.tenant_id, c.store_id, c.customer_id FROM (%s) c
            WHERE c.customer_id IS NOT NULL),
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
    $q$, xeno_signed(TG_OP));
    RETURN NULL;
END $$;

CREATE TRIGGER orders_buyers_insert AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION xeno_buyer_rollup();
CREATE TRIGGER orders_buyers_update AFTER UPDATE ON orders REFERENCING OLD TABLE AS old_rows
    NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION xeno_buyer_rollup();
CREATE TRIGGER orders_buyers_delete AFTER DELETE ON orders REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION xeno_buyer_rollup();

-- What was stored before this migration.
INSERT INTO buyer_spend (tenant_id, store_id, customer_id, currency, orders, spent)
SELECT tenant_id, store_id, customer_id, currency, count(*), sum(current_total_price)
FROM orders WHERE NOT test AND customer_id IS NOT NULL
GROUP BY 1, 2, 3, 4;
INSERT INTO buyer_history (tenant_id, store_id, customer_id, first_order_at, second_order_at,
                           last_order_at)
SELECT tenant_id, store_id, customer_id, min(processed_at),
       (array_agg(processed_at ORDER BY processed_at))[2], max(processed_at)
FROM orders WHERE NOT test AND customer_id IS NOT NULL
GROUP BY 1, 2, 3;
