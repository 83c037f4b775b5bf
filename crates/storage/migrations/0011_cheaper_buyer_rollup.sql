-- The buyer summaries' trigger, cheaper on the paths webhooks and syncs take most:
-- - new orders merge into each buyer's history (the two earliest and the latest of the old
--   summary and the new orders) without reading the buyer's orders;
-- - an update recomputes only the buyers of orders whose customer, time or test flag
--   changed (most updates change none of them);
-- - only deletes and such updates look up a buyer's remaining orders.
CREATE OR REPLACE FUNCTION xeno_buyer_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
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

    -- Deletes and updates can only make a spend row empty.
    DELETE FROM buyer_spend WHERE orders = 0;
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
