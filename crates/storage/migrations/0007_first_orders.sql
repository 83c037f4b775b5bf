-- Each buyer's first counted order per store, kept by the write path. "New buyers in a range"
-- becomes a range count here instead of asking, for every buyer in the range, whether they
-- ordered before it.
CREATE TABLE customer_first_orders (
    tenant_id      uuid NOT NULL,
    store_id       uuid NOT NULL,
    customer_id    bigint NOT NULL,
    first_order_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, store_id, customer_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX customer_first_orders_at ON customer_first_orders (tenant_id, store_id, first_order_at);
ALTER TABLE customer_first_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_first_orders USING (tenant_id = xeno_current_tenant())
    WITH CHECK (tenant_id = xeno_current_tenant());

-- Recomputes the first order of every buyer a statement touched (inserts, deletes, and
-- updates that move an order in time, mark it a test or change its customer alike): one
-- probe of orders_buyer_history per buyer.
CREATE FUNCTION xeno_first_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        WITH touched AS (
            SELECT DISTINCT c.tenant_id, c.store_id, c.customer_id FROM (%s) c
            WHERE c.customer_id IS NOT NULL),
        first AS (
            SELECT t.*, (SELECT min(o.processed_at) FROM orders o
                         WHERE o.tenant_id = t.tenant_id AND o.store_id = t.store_id
                             AND o.customer_id = t.customer_id AND NOT o.test) AS first_order_at
            FROM touched t),
        gone AS (
            DELETE FROM customer_first_orders f USING first
            WHERE first.first_order_at IS NULL AND (f.tenant_id, f.store_id, f.customer_id)
                = (first.tenant_id, first.store_id, first.customer_id))
        INSERT INTO customer_first_orders AS f (tenant_id, store_id, customer_id, first_order_at)
        SELECT * FROM first WHERE first_order_at IS NOT NULL ORDER BY 1, 2, 3
        ON CONFLICT (tenant_id, store_id, customer_id) DO UPDATE
            SET first_order_at = EXCLUDED.first_order_at
            WHERE f.first_order_at <> EXCLUDED.first_order_at
    $q$, xeno_signed(TG_OP));
    RETURN NULL;
END $$;

CREATE TRIGGER orders_first_insert AFTER INSERT ON orders REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION xeno_first_orders();
CREATE TRIGGER orders_first_update AFTER UPDATE ON orders REFERENCING OLD TABLE AS old_rows
    NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION xeno_first_orders();
CREATE TRIGGER orders_first_delete AFTER DELETE ON orders REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION xeno_first_orders();

-- What was stored before this migration.
INSERT INTO customer_first_orders (tenant_id, store_id, customer_id, first_order_at)
SELECT tenant_id, store_id, customer_id, min(processed_at) FROM orders
WHERE NOT test AND customer_id IS NOT NULL
GROUP BY 1, 2, 3;
