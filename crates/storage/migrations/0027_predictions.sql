-- Each store's customer-lifetime fit (BG/NBD for purchases, Gamma-Gamma for spend), refitted
-- daily and after a backfill, and each customer's predictions from the latest fit. A store
-- with too few repeat customers keeps a fit row that says so (status 'insufficient').
CREATE TABLE prediction_fits (
    tenant_id      uuid NOT NULL,
    store_id       uuid NOT NULL,
    fitted_at      timestamptz NOT NULL DEFAULT now(),
    observed_until timestamptz NOT NULL,
    status         text NOT NULL CHECK (status IN ('fitted', 'insufficient')),
    reason         text,
    customers      bigint NOT NULL,
    repeaters      bigint NOT NULL,
    r double precision, alpha double precision, a double precision, b double precision,
    bgnbd_log_likelihood double precision,
    p double precision, q double precision, gamma double precision,
    gamma_gamma_log_likelihood double precision,
    PRIMARY KEY (tenant_id, store_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);

CREATE TABLE customer_predictions (
    tenant_id         uuid NOT NULL,
    store_id          uuid NOT NULL,
    customer_id       bigint NOT NULL,
    p_alive           double precision NOT NULL,
    expected_orders_30  double precision NOT NULL,
    expected_orders_90  double precision NOT NULL,
    expected_orders_365 double precision NOT NULL,
    -- Expected spend per order, and over the next year discounted monthly, in the store's currency.
    expected_order_value numeric NOT NULL,
    clv_365           numeric NOT NULL,
    PRIMARY KEY (tenant_id, store_id, customer_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);

ALTER TABLE prediction_fits ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON prediction_fits USING (tenant_id = xeno_current_tenant())
    WITH CHECK (tenant_id = xeno_current_tenant());
ALTER TABLE customer_predictions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_predictions USING (tenant_id = xeno_current_tenant())
    WITH CHECK (tenant_id = xeno_current_tenant());
