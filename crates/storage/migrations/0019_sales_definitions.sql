-- Shopify's sales definitions (see xeno_domain::sales), for every figure the rollups keep:
-- - a line's discount includes its share of order-level (code) discounts, which Shopify
--   carries only in discount allocations;
-- - gift card lines are not sales;
-- - a refund of shipping lowers shipping (and its tax lowers taxes) on the refund's day;
-- - a cancelled order is reversed on the day it was cancelled, in whatever its refunds did
--   not already give back (goods net of discounts, shipping, tax), so it nets to zero.
-- Existing rows are recomputed from what is stored, and daily sales rebuilt from them.

-- The line's whole discount (order-level allocations included); `total_discount` stays as
-- Shopify sent it (line-level only).
ALTER TABLE order_line_items ADD COLUMN discount numeric NOT NULL DEFAULT 0;

ALTER TABLE orders
    -- Line price × quantity and the lines' discounts, gift cards left out.
    ADD COLUMN gross_sales numeric NOT NULL DEFAULT 0,
    ADD COLUMN line_discounts numeric NOT NULL DEFAULT 0,
    -- What the order's cancellation reverses beyond its refunds (zero unless cancelled).
    ADD COLUMN cancelled_returns numeric NOT NULL DEFAULT 0,
    ADD COLUMN cancelled_shipping numeric NOT NULL DEFAULT 0,
    ADD COLUMN cancelled_taxes numeric NOT NULL DEFAULT 0;

-- Shipping given back by a refund, and the tax on it.
ALTER TABLE refunds
    ADD COLUMN shipping numeric NOT NULL DEFAULT 0,
    ADD COLUMN shipping_tax numeric NOT NULL DEFAULT 0;

-- Stored lines had only Shopify's line-level discount to go on.
UPDATE order_line_items SET discount = total_discount WHERE discount <> total_discount;

UPDATE orders o SET gross_sales = l.gross, line_discounts = l.discounts
FROM (SELECT tenant_id, store_id, order_id,
             sum(price * quantity) FILTER (WHERE NOT gift_card) AS gross,
             sum(discount) FILTER (WHERE NOT gift_card) AS discounts
      FROM order_line_items GROUP BY 1, 2, 3) l
WHERE (o.tenant_id, o.store_id, o.order_id) = (l.tenant_id, l.store_id, l.order_id)
    AND (l.gross IS NOT NULL OR l.discounts IS NOT NULL);

UPDATE orders o SET
    cancelled_returns = GREATEST(o.gross_sales - o.line_discounts - COALESCE(r.goods, 0), 0),
    cancelled_shipping = GREATEST(o.total_shipping - COALESCE(r.shipping, 0), 0),
    cancelled_taxes = GREATEST(o.total_tax - COALESCE(r.taxes, 0), 0)
FROM orders c LEFT JOIN (
    SELECT tenant_id, store_id, order_id, sum(line_subtotal) AS goods, sum(shipping) AS shipping,
           sum(line_tax + shipping_tax) AS taxes
    FROM refunds GROUP BY 1, 2, 3) r
    ON (r.tenant_id, r.store_id, r.order_id) = (c.tenant_id, c.store_id, c.order_id)
WHERE (o.tenant_id, o.store_id, o.order_id) = (c.tenant_id, c.store_id, c.order_id)
    AND c.cancelled_at IS NOT NULL;

-- An order's sale on the day it was processed, and what its cancellation reverses on the
-- day it was cancelled.
SELECT xeno_define_rollup('xeno_order_rollup', $q$
    INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, orders, gross, discounts,
                                  returns, shipping, taxes, units)
    SELECT e.tenant_id, e.store_id, e.day, e.currency, sum(e.orders), sum(e.gross),
           sum(e.discounts), sum(e.returns), sum(e.shipping), sum(e.taxes), sum(e.units)
    FROM (
        SELECT c.tenant_id, c.store_id,
               (c.processed_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date AS day,
               c.currency, c.sign AS orders, c.sign * c.gross_sales AS gross,
               c.sign * c.line_discounts AS discounts, 0 AS returns,
               c.sign * c.total_shipping AS shipping, c.sign * c.total_tax AS taxes,
               c.sign * c.units AS units
        FROM ({changes}) c
        JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
        WHERE NOT c.test
        UNION ALL
        SELECT c.tenant_id, c.store_id,
               (c.cancelled_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
               0, 0, 0, c.sign * c.cancelled_returns, -c.sign * c.cancelled_shipping,
               -c.sign * c.cancelled_taxes, 0
        FROM ({changes}) c
        JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
        WHERE NOT c.test AND c.cancelled_at IS NOT NULL
    ) e
    GROUP BY 1, 2, 3, 4
    HAVING sum(e.orders) <> 0 OR sum(e.gross) <> 0 OR sum(e.discounts) <> 0
        OR sum(e.returns) <> 0 OR sum(e.shipping) <> 0 OR sum(e.taxes) <> 0 OR sum(e.units) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
        orders = d.orders + EXCLUDED.orders, gross = d.gross + EXCLUDED.gross,
        discounts = d.discounts + EXCLUDED.discounts, returns = d.returns + EXCLUDED.returns,
        shipping = d.shipping + EXCLUDED.shipping, taxes = d.taxes + EXCLUDED.taxes,
        units = d.units + EXCLUDED.units
$q$);

-- A refund's returns, refunded shipping and refunded tax, on the refund's day. A refund of
-- a test order is not a return in the reports either.
SELECT xeno_define_rollup('xeno_refund_rollup', $q$
    INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, returns, shipping, taxes)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
           sum(c.sign * c.line_subtotal), -sum(c.sign * c.shipping),
           -sum(c.sign * (c.line_tax + c.shipping_tax))
    FROM ({changes}) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    WHERE c.test_order IS NOT TRUE
    GROUP BY 1, 2, 3, 4
    HAVING sum(c.sign * c.line_subtotal) <> 0 OR sum(c.sign * c.shipping) <> 0
        OR sum(c.sign * (c.line_tax + c.shipping_tax)) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
        returns = d.returns + EXCLUDED.returns, shipping = d.shipping + EXCLUDED.shipping,
        taxes = d.taxes + EXCLUDED.taxes
$q$);

-- Daily sales rebuilt under the definitions above.
DELETE FROM daily_sales;
INSERT INTO daily_sales (tenant_id, store_id, day, currency, orders, gross, discounts, returns,
                         shipping, taxes, units)
SELECT e.tenant_id, e.store_id, e.day, e.currency, sum(e.orders), sum(e.gross), sum(e.discounts),
       sum(e.returns), sum(e.shipping), sum(e.taxes), sum(e.units)
FROM (
    SELECT o.tenant_id, o.store_id,
           (o.processed_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date AS day,
           o.currency, 1 AS orders, o.gross_sales AS gross, o.line_discounts AS discounts,
           0 AS returns, o.total_shipping AS shipping, o.total_tax AS taxes, o.units
    FROM orders o JOIN stores s USING (tenant_id, store_id)
    WHERE NOT o.test
    UNION ALL
    SELECT o.tenant_id, o.store_id,
           (o.cancelled_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, o.currency,
           0, 0, 0, o.cancelled_returns, -o.cancelled_shipping, -o.cancelled_taxes, 0
    FROM orders o JOIN stores s USING (tenant_id, store_id)
    WHERE NOT o.test AND o.cancelled_at IS NOT NULL
    UNION ALL
    SELECT r.tenant_id, r.store_id,
           (r.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, r.currency,
           0, 0, 0, r.line_subtotal, -r.shipping, -(r.line_tax + r.shipping_tax), 0
    FROM refunds r JOIN stores s USING (tenant_id, store_id)
    WHERE NOT r.test_order
) e
GROUP BY 1, 2, 3, 4
ORDER BY 1, 2, 3, 4;
