-- Schema v1.
--
-- Rules (see the design): every tenant-owned table has tenant_id, and it leads every primary
-- key, unique key, foreign key and index, so the schema can be distributed by tenant_id.
-- Row-level security keyed on the transaction setting app.tenant_id sits under the
-- application's own filters: a query that forgets its tenant filter sees nothing.
-- Money is NUMERIC beside its ISO currency code; time is timestamptz; Shopify ids are BIGINT.

-- The tenant of the current transaction, or NULL when none was set (SET LOCAL leaves '' behind).
CREATE FUNCTION xeno_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    tenant_id  uuid PRIMARY KEY,
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    tenant_id     uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    user_id       uuid NOT NULL,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('owner', 'analyst')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id),
    UNIQUE (tenant_id, email)
);

-- Global directory: sign-in knows only the email, so this finds the tenant first. It also
-- makes an email unique across tenants. It holds no secrets; passwords stay in users.
CREATE TABLE user_emails (
    email     text PRIMARY KEY,
    tenant_id uuid NOT NULL,
    user_id   uuid NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id) ON DELETE CASCADE
);
CREATE INDEX user_emails_user ON user_emails (tenant_id, user_id);

CREATE TABLE stores (
    tenant_id                uuid NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    store_id                 uuid NOT NULL,
    shop_domain              text NOT NULL,
    shopify_shop_id          bigint,
    name                     text,
    currency                 char(3),
    iana_timezone            text,
    status                   text NOT NULL
        CHECK (status IN ('connecting', 'active', 'needs_reauth', 'uninstalled', 'disconnected')),
    connection_kind          text NOT NULL CHECK (connection_kind IN ('oauth', 'custom_app')),
    scopes                   text[] NOT NULL DEFAULT '{}',
    -- Secrets are AES-256-GCM ciphertexts (nonce || ciphertext); token_key_id names the key.
    access_token             bytea,
    refresh_token            bytea,
    webhook_secret           bytea,
    token_key_id             text,
    access_token_expires_at  timestamptz,
    refresh_token_expires_at timestamptz,
    installed_at             timestamptz,
    uninstalled_at           timestamptz,
    created_at               timestamptz NOT NULL DEFAULT now(),
    updated_at               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id),
    UNIQUE (tenant_id, shop_domain)
);

-- Global directory: a webhook names only its shop. One shop belongs to one tenant at a time.
CREATE TABLE shop_domains (
    shop_domain text PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    store_id    uuid NOT NULL,
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX shop_domains_store ON shop_domains (tenant_id, store_id);

CREATE TABLE customers (
    tenant_id             uuid NOT NULL,
    store_id              uuid NOT NULL,
    customer_id           bigint NOT NULL,
    email                 text,
    phone                 text,
    first_name            text,
    last_name             text,
    state                 text,
    verified_email        boolean,
    tags                  text[] NOT NULL DEFAULT '{}',
    currency              char(3),
    email_marketing_state text,
    default_address       jsonb,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    -- Tombstone: a delete is final against stale updates that arrive after it.
    deleted_at            timestamptz,
    redacted_at           timestamptz,
    ingested_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, customer_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX customers_created ON customers (tenant_id, store_id, created_at);
CREATE INDEX customers_updated ON customers (tenant_id, store_id, updated_at);
CREATE INDEX customers_email ON customers (tenant_id, lower(email));

CREATE TABLE products (
    tenant_id    uuid NOT NULL,
    store_id     uuid NOT NULL,
    product_id   bigint NOT NULL,
    title        text NOT NULL,
    handle       text,
    vendor       text,
    product_type text,
    status       text,
    tags         text[] NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    published_at timestamptz,
    deleted_at   timestamptz,
    ingested_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, product_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX products_updated ON products (tenant_id, store_id, updated_at);

CREATE TABLE product_variants (
    tenant_id          uuid NOT NULL,
    store_id           uuid NOT NULL,
    variant_id         bigint NOT NULL,
    product_id         bigint NOT NULL,
    title              text,
    sku                text,
    price              numeric NOT NULL,
    compare_at_price   numeric,
    currency           char(3) NOT NULL,
    position           integer,
    inventory_quantity integer,
    created_at         timestamptz,
    updated_at         timestamptz,
    PRIMARY KEY (tenant_id, store_id, variant_id),
    FOREIGN KEY (tenant_id, store_id, product_id)
        REFERENCES products (tenant_id, store_id, product_id) ON DELETE CASCADE
);
CREATE INDEX product_variants_product ON product_variants (tenant_id, store_id, product_id);

CREATE TABLE orders (
    tenant_id               uuid NOT NULL,
    store_id                uuid NOT NULL,
    order_id                bigint NOT NULL,
    name                    text,
    order_number            bigint,
    email                   text,
    customer_id             bigint,
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    processed_at            timestamptz NOT NULL,
    cancelled_at            timestamptz,
    cancel_reason           text,
    closed_at               timestamptz,
    currency                char(3) NOT NULL,
    presentment_currency    char(3),
    total_price             numeric NOT NULL,
    subtotal_price          numeric NOT NULL,
    total_tax               numeric NOT NULL,
    total_discounts         numeric NOT NULL,
    total_line_items_price  numeric NOT NULL,
    total_shipping          numeric NOT NULL DEFAULT 0,
    current_total_price     numeric NOT NULL,
    current_subtotal_price  numeric,
    current_total_tax       numeric,
    current_total_discounts numeric,
    financial_status        text,
    fulfillment_status      text,
    test                    boolean NOT NULL DEFAULT false,
    source_name             text,
    tags                    text[] NOT NULL DEFAULT '{}',
    deleted_at              timestamptz,
    ingested_at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, order_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX orders_processed ON orders (tenant_id, store_id, processed_at);
CREATE INDEX orders_updated ON orders (tenant_id, store_id, updated_at);
CREATE INDEX orders_customer ON orders (tenant_id, store_id, customer_id);

CREATE TABLE order_line_items (
    tenant_id        uuid NOT NULL,
    store_id         uuid NOT NULL,
    line_item_id     bigint NOT NULL,
    order_id         bigint NOT NULL,
    product_id       bigint,
    variant_id       bigint,
    title            text NOT NULL,
    variant_title    text,
    sku              text,
    vendor           text,
    quantity         integer NOT NULL,
    current_quantity integer,
    price            numeric NOT NULL,
    total_discount   numeric NOT NULL DEFAULT 0,
    currency         char(3) NOT NULL,
    gift_card        boolean NOT NULL DEFAULT false,
    taxable          boolean NOT NULL DEFAULT true,
    PRIMARY KEY (tenant_id, store_id, line_item_id),
    FOREIGN KEY (tenant_id, store_id, order_id)
        REFERENCES orders (tenant_id, store_id, order_id) ON DELETE CASCADE
);
CREATE INDEX order_line_items_order ON order_line_items (tenant_id, store_id, order_id);
CREATE INDEX order_line_items_product ON order_line_items (tenant_id, store_id, product_id);

CREATE TABLE refunds (
    tenant_id    uuid NOT NULL,
    store_id     uuid NOT NULL,
    refund_id    bigint NOT NULL,
    order_id     bigint NOT NULL,
    created_at   timestamptz NOT NULL,
    processed_at timestamptz,
    -- Money returned to the buyer (sum of successful refund transactions).
    amount       numeric NOT NULL,
    currency     char(3) NOT NULL,
    note         text,
    PRIMARY KEY (tenant_id, store_id, refund_id),
    FOREIGN KEY (tenant_id, store_id, order_id)
        REFERENCES orders (tenant_id, store_id, order_id) ON DELETE CASCADE
);
CREATE INDEX refunds_order ON refunds (tenant_id, store_id, order_id);
CREATE INDEX refunds_created ON refunds (tenant_id, store_id, created_at);

CREATE TABLE refund_line_items (
    tenant_id    uuid NOT NULL,
    store_id     uuid NOT NULL,
    refund_id    bigint NOT NULL,
    line_item_id bigint NOT NULL,
    quantity     integer NOT NULL,
    subtotal     numeric NOT NULL,
    total_tax    numeric NOT NULL,
    currency     char(3) NOT NULL,
    PRIMARY KEY (tenant_id, store_id, refund_id, line_item_id),
    FOREIGN KEY (tenant_id, store_id, refund_id)
        REFERENCES refunds (tenant_id, store_id, refund_id) ON DELETE CASCADE
);

CREATE TABLE checkouts (
    tenant_id              uuid NOT NULL,
    store_id               uuid NOT NULL,
    checkout_id            bigint NOT NULL,
    token                  text,
    cart_token             text,
    email                  text,
    customer_id            bigint,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL,
    completed_at           timestamptz,
    currency               char(3) NOT NULL,
    total_price            numeric NOT NULL,
    subtotal_price         numeric,
    line_items             jsonb NOT NULL DEFAULT '[]',
    abandoned_checkout_url text,
    deleted_at             timestamptz,
    ingested_at            timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, checkout_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX checkouts_created ON checkouts (tenant_id, store_id, created_at);
CREATE INDEX checkouts_updated ON checkouts (tenant_id, store_id, updated_at);

CREATE TABLE carts (
    tenant_id   uuid NOT NULL,
    store_id    uuid NOT NULL,
    cart_token  text NOT NULL,
    line_items  jsonb NOT NULL DEFAULT '[]',
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, cart_token),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);

-- Raw webhook deliveries: committed before Shopify gets its 200, applied later by the worker.
CREATE TABLE webhook_events (
    tenant_id        uuid NOT NULL,
    store_id         uuid NOT NULL,
    event_id         uuid NOT NULL,
    webhook_id       text NOT NULL,
    shopify_event_id text,
    topic            text NOT NULL,
    api_version      text,
    triggered_at     timestamptz,
    -- The body as received; payload is its parse, NULL when it was not valid JSON.
    body             bytea NOT NULL,
    payload          jsonb,
    received_at      timestamptz NOT NULL DEFAULT now(),
    status           text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'done', 'failed', 'dead')),
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    processed_at     timestamptz,
    PRIMARY KEY (tenant_id, event_id),
    UNIQUE (tenant_id, store_id, webhook_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);
CREATE INDEX webhook_events_due ON webhook_events (tenant_id, next_attempt_at)
    WHERE status IN ('pending', 'failed');
CREATE INDEX webhook_events_log ON webhook_events (tenant_id, store_id, received_at);

-- Per store and resource: how far incremental sync has got.
CREATE TABLE sync_state (
    tenant_id       uuid NOT NULL,
    store_id        uuid NOT NULL,
    resource        text NOT NULL,
    watermark       timestamptz,
    last_success_at timestamptz,
    last_error      text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, store_id, resource),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, store_id) ON DELETE CASCADE
);

-- Row-level security on every tenant-owned table. The global directories (user_emails,
-- shop_domains) are lookups by a key the caller already holds and carry no tenant data.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenants', 'users', 'stores', 'customers', 'products',
        'product_variants', 'orders', 'order_line_items', 'refunds', 'refund_line_items',
        'checkouts', 'carts', 'webhook_events', 'sync_state']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = xeno_current_tenant()) '
            'WITH CHECK (tenant_id = xeno_current_tenant())', t);
    END LOOP;
END $$;
