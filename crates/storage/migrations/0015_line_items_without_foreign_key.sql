-- Line items are written only by the order upsert, right after the order rows they belong to,
-- and removed with them explicitly (an order's delete, a shop's erasure). The foreign key to
-- orders checked each line item one by one, a query per row: about a tenth of the worker's
-- time applying orders. It goes; orders still cascade to refunds.
DO $$
DECLARE fk text;
BEGIN
    SELECT conname INTO fk FROM pg_constraint
    WHERE conrelid = 'order_line_items'::regclass AND contype = 'f'
        AND confrelid = 'orders'::regclass;
    IF fk IS NOT NULL THEN
        EXECUTE format('ALTER TABLE order_line_items DROP CONSTRAINT %I', fk);
    END IF;
END $$;
