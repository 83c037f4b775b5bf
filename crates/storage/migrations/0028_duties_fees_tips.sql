-- Duties and additional fees are part of Shopify's total sales; tips are not sales at all
-- (see xeno_domain::sales). An order's duties and fees count on the day it was processed,
-- duties a refund gives back on the refund's day, and a cancellation reverses what refunds
-- left of either on its day. Tips are kept on the order and counted nowhere.
-- Stored orders and refunds carried none of these, so they start at zero and the next full
-- sync fills them (refunds are updated in place when only their duties changed).

ALTER TABLE orders
    ADD COLUMN duties numeric NOT NULL DEFAULT 0,
    ADD COLUMN additional_fees numeric NOT NULL DEFAULT 0,
    ADD COLUMN tips numeric NOT NULL DEFAULT 0,
    ADD COLUMN cancelled_duties numeric NOT NULL DEFAULT 0,
    ADD COLUMN cancelled_fees numeric NOT NULL DEFAULT 0;

ALTER TABLE refunds ADD COLUMN duties numeric NOT NULL DEFAULT 0;

ALTER TABLE daily_sales
    ADD COLUMN duties numeric NOT NULL DEFAULT 0,
    ADD COLUMN additional_fees numeric NOT NULL DEFAULT 0;

SELECT xeno_define_rollup('xeno_order_rollup', $q$
    INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, orders, gross, discounts,
                                  returns, shipping, taxes, duties, additional_fees, units)
    SELECT e.tenant_id, e.store_id, e.day, e.currency, sum(e.orders), sum(e.gross),
           sum(e.discounts), sum(e.returns), sum(e.shipping), sum(e.taxes), sum(e.duties),
           sum(e.fees), sum(e.units)
    FROM (
        SELECT c.tenant_id, c.store_id,
               (c.processed_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date AS day,
               c.currency, c.sign AS orders, c.sign * c.gross_sales AS gross,
               c.sign * c.line_discounts AS discounts, 0 AS returns,
               c.sign * c.total_shipping AS shipping, c.sign * c.total_tax AS taxes,
               c.sign * c.duties AS duties, c.sign * c.additional_fees AS fees,
               c.sign * c.units AS units
        FROM ({changes}) c
        JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
        WHERE NOT c.test
        UNION ALL
        SELECT c.tenant_id, c.store_id,
               (c.cancelled_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
               0, 0, 0, c.sign * c.cancelled_returns, -c.sign * c.cancelled_shipping,
               -c.sign * c.cancelled_taxes, -c.sign * c.cancelled_duties,
               -c.sign * c.cancelled_fees, 0
        FROM ({changes}) c
        JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
        WHERE NOT c.test AND c.cancelled_at IS NOT NULL
    ) e
    GROUP BY 1, 2, 3, 4
    HAVING sum(e.orders) <> 0 OR sum(e.gross) <> 0 OR sum(e.discounts) <> 0
        OR sum(e.returns) <> 0 OR sum(e.shipping) <> 0 OR sum(e.taxes) <> 0
        OR sum(e.duties) <> 0 OR sum(e.fees) <> 0 OR sum(e.units) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
        orders = d.orders + EXCLUDED.orders, gross = d.gross + EXCLUDED.gross,
        discounts = d.discounts + EXCLUDED.discounts, returns = d.returns + EXCLUDED.returns,
        shipping = d.shipping + EXCLUDED.shipping, taxes = d.taxes + EXCLUDED.taxes,
        duties = d.duties + EXCLUDED.duties,
        additional_fees = d.additional_fees + EXCLUDED.additional_fees,
        units = d.units + EXCLUDED.units
$q$);

SELECT xeno_define_rollup('xeno_refund_rollup', $q$
    INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, returns, shipping, taxes,
                                  duties)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
           sum(c.sign * c.line_subtotal), -sum(c.sign * c.shipping),
           -sum(c.sign * (c.line_tax + c.shipping_tax)), -sum(c.sign * c.duties)
    FROM ({changes}) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    WHERE c.test_order IS NOT TRUE
    GROUP BY 1, 2, 3, 4
    HAVING sum(c.sign * c.line_subtotal) <> 0 OR sum(c.sign * c.shipping) <> 0
        OR sum(c.sign * (c.line_tax + c.shipping_tax)) <> 0 OR sum(c.sign * c.duties) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
        returns = d.returns + EXCLUDED.returns, shipping = d.shipping + EXCLUDED.shipping,
        taxes = d.taxes + EXCLUDED.taxes, duties = d.duties + EXCLUDED.duties
$q$);
