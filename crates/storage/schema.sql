CREATE FUNCTION public.xeno_accept_webhooks(tenant uuid, store_ids uuid[], event_ids uuid[], webhook_ids text[], shopify_event_ids text[], topics text[], api_versions text[], triggered_ats timestamp with time zone[], bodies bytea[], payloads text[], trace_parents text[]) RETURNS TABLE(store_id uuid, webhook_id text)
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM set_config('app.tenant_id', tenant::text, true);
    RETURN QUERY
    INSERT INTO webhook_events AS e (tenant_id, store_id, event_id, webhook_id, shopify_event_id,
                                     topic, api_version, triggered_at, body, payload, trace_parent)
    SELECT tenant, v.store_id, v.event_id, v.webhook_id, v.shopify_event_id, v.topic,
           v.api_version, v.triggered_at, v.body, v.payload::json, v.trace_parent
    FROM unnest(store_ids, event_ids, webhook_ids, shopify_event_ids, topics, api_versions,
                triggered_ats, bodies, payloads, trace_parents)
        AS v (store_id, event_id, webhook_id, shopify_event_id, topic, api_version,
              triggered_at, body, payload, trace_parent)
    ON CONFLICT DO NOTHING
    RETURNING e.store_id, e.webhook_id;
    IF FOUND THEN
        PERFORM pg_notify('xeno_webhook_events', '');
    END IF;
END $$;

ALTER FUNCTION public.xeno_accept_webhooks(tenant uuid, store_ids uuid[], event_ids uuid[], webhook_ids text[], shopify_event_ids text[], topics text[], api_versions text[], triggered_ats timestamp with time zone[], bodies bytea[], payloads text[], trace_parents text[]) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_bump_current() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF xeno_current_tenant() IS NOT NULL THEN
        PERFORM xeno_bump_versions(ARRAY[xeno_current_tenant()]);
    END IF;
    RETURN NULL;
END $$;

ALTER FUNCTION public.xeno_bump_current() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_bump_versions(tenants uuid[]) RETURNS void
    LANGUAGE sql
    AS $$
    INSERT INTO data_versions (tenant_id, version)
    SELECT t, 1 FROM unnest(tenants) AS t ORDER BY t
    ON CONFLICT (tenant_id) DO UPDATE SET version = data_versions.version + 1
$$;

ALTER FUNCTION public.xeno_bump_versions(tenants uuid[]) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_buyer_rollup() RETURNS trigger
    LANGUAGE plpgsql
    AS $_$
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
END $_$;

ALTER FUNCTION public.xeno_buyer_rollup() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_buyer_spend_rollup() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        DECLARE touched uuid[];
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;
            ELSIF NOT EXISTS (SELECT FROM old_rows) THEN
                RETURN NULL;
            END IF;
            IF xeno_current_tenant() IS NULL THEN
                EXECUTE format('SELECT array_agg(DISTINCT tenant_id) FROM (%s) c', xeno_signed(TG_OP))
                    INTO touched;
                PERFORM xeno_bump_versions(COALESCE(touched, '{}'));
            END IF;
            IF TG_OP = 'INSERT' THEN
                
    INSERT INTO buyer_spend AS b (tenant_id, store_id, customer_id, currency, orders, spent)
    SELECT c.tenant_id, c.store_id, c.customer_id, c.currency, sum(c.sign),
           sum(c.sign * c.current_total_price)
    FROM (SELECT n.*, 1 AS sign FROM new_rows n) c
    WHERE NOT c.test AND c.customer_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(c.sign) <> 0 OR sum(c.sign * c.current_total_price) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, customer_id, currency) DO UPDATE SET
        orders = b.orders + EXCLUDED.orders, spent = b.spent + EXCLUDED.spent;
    DELETE FROM buyer_spend b
    USING (SELECT DISTINCT c.tenant_id, c.store_id, c.customer_id FROM (SELECT n.*, 1 AS sign FROM new_rows n) c
           WHERE c.sign < 0 AND c.customer_id IS NOT NULL) o
    WHERE b.orders = 0 AND (b.tenant_id, b.store_id, b.customer_id)
        = (o.tenant_id, o.store_id, o.customer_id)
;
            ELSIF TG_OP = 'DELETE' THEN
                
    INSERT INTO buyer_spend AS b (tenant_id, store_id, customer_id, currency, orders, spent)
    SELECT c.tenant_id, c.store_id, c.customer_id, c.currency, sum(c.sign),
           sum(c.sign * c.current_total_price)
    FROM (SELECT o.*, -1 AS sign FROM old_rows o) c
    WHERE NOT c.test AND c.customer_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(c.sign) <> 0 OR sum(c.sign * c.current_total_price) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, customer_id, currency) DO UPDATE SET
        orders = b.orders + EXCLUDED.orders, spent = b.spent + EXCLUDED.spent;
    DELETE FROM buyer_spend b
    USING (SELECT DISTINCT c.tenant_id, c.store_id, c.customer_id FROM (SELECT o.*, -1 AS sign FROM old_rows o) c
           WHERE c.sign < 0 AND c.customer_id IS NOT NULL) o
    WHERE b.orders = 0 AND (b.tenant_id, b.store_id, b.customer_id)
        = (o.tenant_id, o.store_id, o.customer_id)
;
            ELSE
                
    INSERT INTO buyer_spend AS b (tenant_id, store_id, customer_id, currency, orders, spent)
    SELECT c.tenant_id, c.store_id, c.customer_id, c.currency, sum(c.sign),
           sum(c.sign * c.current_total_price)
    FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) c
    WHERE NOT c.test AND c.customer_id IS NOT NULL
    GROUP BY 1, 2, 3, 4
    HAVING sum(c.sign) <> 0 OR sum(c.sign * c.current_total_price) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, customer_id, currency) DO UPDATE SET
        orders = b.orders + EXCLUDED.orders, spent = b.spent + EXCLUDED.spent;
    DELETE FROM buyer_spend b
    USING (SELECT DISTINCT c.tenant_id, c.store_id, c.customer_id FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) c
           WHERE c.sign < 0 AND c.customer_id IS NOT NULL) o
    WHERE b.orders = 0 AND (b.tenant_id, b.store_id, b.customer_id)
        = (o.tenant_id, o.store_id, o.customer_id)
;
            END IF;
            RETURN NULL;
        END $$;

ALTER FUNCTION public.xeno_buyer_spend_rollup() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_checkout_rollup() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        DECLARE touched uuid[];
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;
            ELSIF NOT EXISTS (SELECT FROM old_rows) THEN
                RETURN NULL;
            END IF;
            IF xeno_current_tenant() IS NULL THEN
                EXECUTE format('SELECT array_agg(DISTINCT tenant_id) FROM (%s) c', xeno_signed(TG_OP))
                    INTO touched;
                PERFORM xeno_bump_versions(COALESCE(touched, '{}'));
            END IF;
            IF TG_OP = 'INSERT' THEN
                
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
    FROM (SELECT n.*, 1 AS sign FROM new_rows n) c
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
;
            ELSIF TG_OP = 'DELETE' THEN
                
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
    FROM (SELECT o.*, -1 AS sign FROM old_rows o) c
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
;
            ELSE
                
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
    FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) c
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
;
            END IF;
            RETURN NULL;
        END $$;

ALTER FUNCTION public.xeno_checkout_rollup() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_claim_webhook_events(batch integer) RETURNS TABLE(tenant_id uuid, event_id uuid)
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
DECLARE
    due uuid[];
    share integer;
    remaining integer := batch;
    taken integer;
    t uuid;
BEGIN
    WITH RECURSIVE tenants AS (
        (SELECT w.tenant_id FROM webhook_events w
         WHERE w.status IN ('pending', 'failed') ORDER BY w.tenant_id LIMIT 1)
        UNION ALL
        SELECT (SELECT w.tenant_id FROM webhook_events w
                WHERE w.status IN ('pending', 'failed') AND w.tenant_id > tenants.tenant_id
                ORDER BY w.tenant_id LIMIT 1)
        FROM tenants WHERE tenants.tenant_id IS NOT NULL
    )
    SELECT array_agg(tenants.tenant_id) INTO due FROM tenants WHERE tenants.tenant_id IS NOT NULL;
    IF due IS NULL THEN
        RETURN;
    END IF;
    share := greatest(batch / cardinality(due), 1);
    FOREACH t IN ARRAY due LOOP
        RETURN QUERY
            SELECT w.tenant_id, w.event_id FROM webhook_events w
            WHERE w.tenant_id = t AND w.status IN ('pending', 'failed') AND w.next_attempt_at <= now()
            ORDER BY w.next_attempt_at
            LIMIT least(share, remaining)
            FOR UPDATE SKIP LOCKED;
        GET DIAGNOSTICS taken = ROW_COUNT;
        remaining := remaining - taken;
        EXIT WHEN remaining <= 0;
    END LOOP;
END
$$;

ALTER FUNCTION public.xeno_claim_webhook_events(batch integer) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

ALTER FUNCTION public.xeno_current_tenant() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_customer_rollup() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        DECLARE touched uuid[];
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;
            ELSIF NOT EXISTS (SELECT FROM old_rows) THEN
                RETURN NULL;
            END IF;
            IF xeno_current_tenant() IS NULL THEN
                EXECUTE format('SELECT array_agg(DISTINCT tenant_id) FROM (%s) c', xeno_signed(TG_OP))
                    INTO touched;
                PERFORM xeno_bump_versions(COALESCE(touched, '{}'));
            END IF;
            IF TG_OP = 'INSERT' THEN
                
    INSERT INTO daily_customers AS d (tenant_id, store_id, day, new_customers)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, sum(c.sign)
    FROM (SELECT n.*, 1 AS sign FROM new_rows n) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    GROUP BY 1, 2, 3
    HAVING sum(c.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, store_id, day) DO UPDATE SET
        new_customers = d.new_customers + EXCLUDED.new_customers
;
            ELSIF TG_OP = 'DELETE' THEN
                
    INSERT INTO daily_customers AS d (tenant_id, store_id, day, new_customers)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, sum(c.sign)
    FROM (SELECT o.*, -1 AS sign FROM old_rows o) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    GROUP BY 1, 2, 3
    HAVING sum(c.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, store_id, day) DO UPDATE SET
        new_customers = d.new_customers + EXCLUDED.new_customers
;
            ELSE
                
    INSERT INTO daily_customers AS d (tenant_id, store_id, day, new_customers)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, sum(c.sign)
    FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    GROUP BY 1, 2, 3
    HAVING sum(c.sign) <> 0
    ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, store_id, day) DO UPDATE SET
        new_customers = d.new_customers + EXCLUDED.new_customers
;
            END IF;
            RETURN NULL;
        END $$;

ALTER FUNCTION public.xeno_customer_rollup() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_define_rollup(name text, statement text) RETURNS void
    LANGUAGE plpgsql
    AS $_$
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
END $_$;

ALTER FUNCTION public.xeno_define_rollup(name text, statement text) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_delete_store_leftovers() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
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

ALTER FUNCTION public.xeno_delete_store_leftovers() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_delete_tenant(doomed uuid) RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public'
    AS $_$
DECLARE
    t text;
    pass int;
BEGIN
    PERFORM set_config('app.tenant_id', '', true);
    FOR pass IN 1..2 LOOP
        FOR t IN
            SELECT c.table_name FROM information_schema.columns c
            JOIN information_schema.tables r
                ON r.table_schema = c.table_schema AND r.table_name = c.table_name
            WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id'
                AND r.table_type = 'BASE TABLE' AND c.table_name <> 'tenants'
            ORDER BY c.table_name
        LOOP
            EXECUTE format('DELETE FROM %I WHERE tenant_id = $1', t) USING doomed;
        END LOOP;
    END LOOP;
    DELETE FROM tenants WHERE tenant_id = doomed;
END $_$;

ALTER FUNCTION public.xeno_delete_tenant(doomed uuid) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_order_rollup() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        DECLARE touched uuid[];
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;
            ELSIF NOT EXISTS (SELECT FROM old_rows) THEN
                RETURN NULL;
            END IF;
            IF xeno_current_tenant() IS NULL THEN
                EXECUTE format('SELECT array_agg(DISTINCT tenant_id) FROM (%s) c', xeno_signed(TG_OP))
                    INTO touched;
                PERFORM xeno_bump_versions(COALESCE(touched, '{}'));
            END IF;
            IF TG_OP = 'INSERT' THEN
                
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
        FROM (SELECT n.*, 1 AS sign FROM new_rows n) c
        JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
        WHERE NOT c.test
        UNION ALL
        SELECT c.tenant_id, c.store_id,
               (c.cancelled_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
               0, 0, 0, c.sign * c.cancelled_returns, -c.sign * c.cancelled_shipping,
               -c.sign * c.cancelled_taxes, -c.sign * c.cancelled_duties,
               -c.sign * c.cancelled_fees, 0
        FROM (SELECT n.*, 1 AS sign FROM new_rows n) c
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
;
            ELSIF TG_OP = 'DELETE' THEN
                
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
        FROM (SELECT o.*, -1 AS sign FROM old_rows o) c
        JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
        WHERE NOT c.test
        UNION ALL
        SELECT c.tenant_id, c.store_id,
               (c.cancelled_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
               0, 0, 0, c.sign * c.cancelled_returns, -c.sign * c.cancelled_shipping,
               -c.sign * c.cancelled_taxes, -c.sign * c.cancelled_duties,
               -c.sign * c.cancelled_fees, 0
        FROM (SELECT o.*, -1 AS sign FROM old_rows o) c
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
;
            ELSE
                
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
        FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) c
        JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
        WHERE NOT c.test
        UNION ALL
        SELECT c.tenant_id, c.store_id,
               (c.cancelled_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
               0, 0, 0, c.sign * c.cancelled_returns, -c.sign * c.cancelled_shipping,
               -c.sign * c.cancelled_taxes, -c.sign * c.cancelled_duties,
               -c.sign * c.cancelled_fees, 0
        FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) c
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
;
            END IF;
            RETURN NULL;
        END $$;

ALTER FUNCTION public.xeno_order_rollup() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_product_sales(tenant uuid, store uuid, ids bigint[], sign integer) RETURNS void
    LANGUAGE plpgsql
    AS $$
        BEGIN
            
    WITH o AS (
        SELECT o.tenant_id, o.store_id, o.order_id, o.processed_at, o.cancelled_at, o.test,
               COALESCE(s.iana_timezone, 'UTC') AS tz
        FROM (SELECT * FROM orders WHERE tenant_id = tenant AND store_id = store AND order_id = ANY(ids)) o JOIN stores s ON s.tenant_id = o.tenant_id AND s.store_id = o.store_id
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
           min(variant_title), sign * sum(lines), sign * sum(orders),
           sign * sum(product_orders), sign * sum(units), sign * sum(revenue),
           sign * sum(returns)
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
;
            DELETE FROM product_sales WHERE tenant_id = tenant AND lines = 0;
        END $$;

ALTER FUNCTION public.xeno_product_sales(tenant uuid, store uuid, ids bigint[], sign integer) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_product_sales_retract() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        BEGIN
            IF NOT EXISTS (SELECT FROM old_rows) THEN RETURN NULL; END IF;
            
    WITH o AS (
        SELECT o.tenant_id, o.store_id, o.order_id, o.processed_at, o.cancelled_at, o.test,
               COALESCE(s.iana_timezone, 'UTC') AS tz
        FROM old_rows o JOIN stores s ON s.tenant_id = o.tenant_id AND s.store_id = o.store_id
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
           min(variant_title), -1 * sum(lines), -1 * sum(orders),
           -1 * sum(product_orders), -1 * sum(units), -1 * sum(revenue),
           -1 * sum(returns)
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
;
            RETURN NULL;
        END $$;

ALTER FUNCTION public.xeno_product_sales_retract() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_product_sales_statement(orders text, sign text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $_$
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
$_$;

ALTER FUNCTION public.xeno_product_sales_statement(orders text, sign text) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_prune_audit(cutoff timestamp with time zone) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
    WITH pruned AS (DELETE FROM audit_events WHERE at < cutoff RETURNING 1)
    SELECT count(*) FROM pruned
$$;

ALTER FUNCTION public.xeno_prune_audit(cutoff timestamp with time zone) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_prune_webhook_events(cutoff timestamp with time zone, batch integer) RETURNS bigint
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
        WITH old AS (
            SELECT o.tenant_id, o.event_id
            FROM stores s
            CROSS JOIN LATERAL (
                SELECT e.tenant_id, e.event_id
                FROM webhook_events e
                WHERE e.tenant_id = s.tenant_id AND e.store_id = s.store_id
                  AND e.received_at < cutoff AND e.status = 'done'
                  AND e.received_at < (SELECT max(n.received_at) FROM webhook_events n
                                       WHERE n.tenant_id = s.tenant_id AND n.store_id = s.store_id)
                ORDER BY e.received_at
                LIMIT batch
                FOR UPDATE SKIP LOCKED
            ) o
            LIMIT batch
        ), pruned AS (
            DELETE FROM webhook_events e USING old
            WHERE e.tenant_id = old.tenant_id AND e.event_id = old.event_id
            RETURNING 1
        )
        SELECT count(*) FROM pruned
    $$;

ALTER FUNCTION public.xeno_prune_webhook_events(cutoff timestamp with time zone, batch integer) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_reconciliation_mismatched_days() RETURNS bigint
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public'
    AS $$ SELECT COALESCE(sum(days_checked - days_matched), 0)::bigint FROM reconciliations $$;

ALTER FUNCTION public.xeno_reconciliation_mismatched_days() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_refresh_statistics() RETURNS void
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
DECLARE t text;
BEGIN
    FOR t IN
        SELECT relname FROM pg_stat_user_tables
        WHERE relname = ANY (ARRAY['customers', 'products', 'product_variants', 'orders',
                'order_line_items', 'refunds', 'refund_line_items', 'checkouts'])
            AND n_mod_since_analyze > 50 + 0.1 * n_live_tup
    LOOP
        EXECUTE format('ANALYZE %I', t);
    END LOOP;
END $$;

ALTER FUNCTION public.xeno_refresh_statistics() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_refund_rollup() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
        DECLARE touched uuid[];
        BEGIN
            IF TG_OP = 'INSERT' THEN
                IF NOT EXISTS (SELECT FROM new_rows) THEN RETURN NULL; END IF;
            ELSIF NOT EXISTS (SELECT FROM old_rows) THEN
                RETURN NULL;
            END IF;
            IF xeno_current_tenant() IS NULL THEN
                EXECUTE format('SELECT array_agg(DISTINCT tenant_id) FROM (%s) c', xeno_signed(TG_OP))
                    INTO touched;
                PERFORM xeno_bump_versions(COALESCE(touched, '{}'));
            END IF;
            IF TG_OP = 'INSERT' THEN
                
    INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, returns, shipping, taxes,
                                  duties)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
           sum(c.sign * c.line_subtotal), -sum(c.sign * c.shipping),
           -sum(c.sign * (c.line_tax + c.shipping_tax)), -sum(c.sign * c.duties)
    FROM (SELECT n.*, 1 AS sign FROM new_rows n) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    WHERE c.test_order IS NOT TRUE
    GROUP BY 1, 2, 3, 4
    HAVING sum(c.sign * c.line_subtotal) <> 0 OR sum(c.sign * c.shipping) <> 0
        OR sum(c.sign * (c.line_tax + c.shipping_tax)) <> 0 OR sum(c.sign * c.duties) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
        returns = d.returns + EXCLUDED.returns, shipping = d.shipping + EXCLUDED.shipping,
        taxes = d.taxes + EXCLUDED.taxes, duties = d.duties + EXCLUDED.duties
;
            ELSIF TG_OP = 'DELETE' THEN
                
    INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, returns, shipping, taxes,
                                  duties)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
           sum(c.sign * c.line_subtotal), -sum(c.sign * c.shipping),
           -sum(c.sign * (c.line_tax + c.shipping_tax)), -sum(c.sign * c.duties)
    FROM (SELECT o.*, -1 AS sign FROM old_rows o) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    WHERE c.test_order IS NOT TRUE
    GROUP BY 1, 2, 3, 4
    HAVING sum(c.sign * c.line_subtotal) <> 0 OR sum(c.sign * c.shipping) <> 0
        OR sum(c.sign * (c.line_tax + c.shipping_tax)) <> 0 OR sum(c.sign * c.duties) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
        returns = d.returns + EXCLUDED.returns, shipping = d.shipping + EXCLUDED.shipping,
        taxes = d.taxes + EXCLUDED.taxes, duties = d.duties + EXCLUDED.duties
;
            ELSE
                
    INSERT INTO daily_sales AS d (tenant_id, store_id, day, currency, returns, shipping, taxes,
                                  duties)
    SELECT c.tenant_id, c.store_id,
           (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date, c.currency,
           sum(c.sign * c.line_subtotal), -sum(c.sign * c.shipping),
           -sum(c.sign * (c.line_tax + c.shipping_tax)), -sum(c.sign * c.duties)
    FROM (SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o) c
    JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id
    WHERE c.test_order IS NOT TRUE
    GROUP BY 1, 2, 3, 4
    HAVING sum(c.sign * c.line_subtotal) <> 0 OR sum(c.sign * c.shipping) <> 0
        OR sum(c.sign * (c.line_tax + c.shipping_tax)) <> 0 OR sum(c.sign * c.duties) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (tenant_id, store_id, day, currency) DO UPDATE SET
        returns = d.returns + EXCLUDED.returns, shipping = d.shipping + EXCLUDED.shipping,
        taxes = d.taxes + EXCLUDED.taxes, duties = d.duties + EXCLUDED.duties
;
            END IF;
            RETURN NULL;
        END $$;

ALTER FUNCTION public.xeno_refund_rollup() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_signed(op text) RETURNS text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT CASE op
        WHEN 'INSERT' THEN 'SELECT n.*, 1 AS sign FROM new_rows n'
        WHEN 'DELETE' THEN 'SELECT o.*, -1 AS sign FROM old_rows o'
        ELSE 'SELECT n.*, 1 AS sign FROM new_rows n UNION ALL SELECT o.*, -1 AS sign FROM old_rows o'
    END
$$;

ALTER FUNCTION public.xeno_signed(op text) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_stores_due(every interval, how_many integer) RETURNS TABLE(tenant_id uuid, store_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
    SELECT s.tenant_id, s.store_id
    FROM stores s
    LEFT JOIN LATERAL (
        SELECT max(COALESCE(r.finished_at, r.started_at)) AS last
        FROM sync_runs r WHERE r.tenant_id = s.tenant_id AND r.store_id = s.store_id) r ON true
    WHERE s.status = 'active'
        AND NOT EXISTS (
            SELECT 1 FROM pg_locks l
            WHERE l.locktype = 'advisory' AND l.granted
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND l.classid::bigint = 1481857358 AND l.objsubid = 2
                AND l.objid::bigint = (hashtext(s.store_id::text)::bigint & 4294967295))
        AND (r.last IS NULL OR r.last < now() - every)
    ORDER BY r.last NULLS FIRST, s.tenant_id, s.store_id
    LIMIT how_many
$$;

ALTER FUNCTION public.xeno_stores_due(every interval, how_many integer) OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_sync_health() RETURNS TABLE(running bigint, stalest_seconds double precision)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
        SELECT count(*), extract(epoch FROM now() - min(r.updated_at))::double precision
        FROM sync_runs r
        WHERE r.status = 'running'
    $$;

ALTER FUNCTION public.xeno_sync_health() OWNER TO xeno_owner;

CREATE FUNCTION public.xeno_webhook_backlog() RETURNS TABLE(due bigint, oldest_due_seconds double precision, retrying bigint, dead bigint)
    LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path TO 'public'
    AS $$
        SELECT count(*) FILTER (WHERE e.next_attempt_at <= now()),
               extract(epoch FROM now() - min(e.received_at)
                   FILTER (WHERE e.next_attempt_at <= now()))::double precision,
               count(*) FILTER (WHERE e.next_attempt_at > now()),
               (SELECT count(*) FROM webhook_events d WHERE d.status = 'dead')
        FROM webhook_events e
        WHERE e.status IN ('pending', 'failed')
    $$;

ALTER FUNCTION public.xeno_webhook_backlog() OWNER TO xeno_owner;

CREATE TABLE public._sqlx_migrations (
    version bigint NOT NULL,
    description text NOT NULL,
    installed_on timestamp with time zone DEFAULT now() NOT NULL,
    success boolean NOT NULL,
    checksum bytea NOT NULL,
    execution_time bigint NOT NULL
);

ALTER TABLE public._sqlx_migrations OWNER TO xeno_owner;

CREATE TABLE public.api_keys (
    tenant_id uuid NOT NULL,
    key_id uuid NOT NULL,
    name text NOT NULL,
    prefix text NOT NULL,
    secret_hash bytea NOT NULL,
    role text NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    last_used_ip text,
    revoked_at timestamp with time zone,
    store_ids uuid[],
    CONSTRAINT api_keys_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100))),
    CONSTRAINT api_keys_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'analyst'::text, 'viewer'::text])))
);

ALTER TABLE public.api_keys OWNER TO xeno_owner;

CREATE TABLE public.audit_events (
    tenant_id uuid NOT NULL,
    audit_id uuid NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    actor_user uuid,
    actor_key uuid,
    action text NOT NULL,
    subject text,
    detail jsonb DEFAULT '{}'::jsonb NOT NULL,
    address text,
    actor_email text
);

ALTER TABLE public.audit_events OWNER TO xeno_owner;

CREATE TABLE public.buyer_history (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    customer_id bigint NOT NULL,
    first_order_at timestamp with time zone NOT NULL,
    second_order_at timestamp with time zone,
    last_order_at timestamp with time zone NOT NULL
);

ALTER TABLE public.buyer_history OWNER TO xeno_owner;

CREATE TABLE public.buyer_spend (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    customer_id bigint NOT NULL,
    currency character(3) NOT NULL,
    orders bigint NOT NULL,
    spent numeric NOT NULL
);

ALTER TABLE public.buyer_spend OWNER TO xeno_owner;

CREATE TABLE public.carts (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    cart_token text NOT NULL,
    line_items jsonb DEFAULT '[]'::jsonb NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    ingested_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.carts OWNER TO xeno_owner;

CREATE TABLE public.checkout_days (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    day date NOT NULL,
    currency character(3) NOT NULL,
    started bigint DEFAULT 0 NOT NULL,
    completed bigint DEFAULT 0 NOT NULL,
    completed_value numeric DEFAULT 0 NOT NULL,
    completed_known bigint DEFAULT 0 NOT NULL,
    open bigint DEFAULT 0 NOT NULL,
    open_value numeric DEFAULT 0 NOT NULL,
    open_known bigint DEFAULT 0 NOT NULL,
    recovered bigint DEFAULT 0 NOT NULL,
    recovered_value numeric DEFAULT 0 NOT NULL
);

ALTER TABLE public.checkout_days OWNER TO xeno_owner;

CREATE TABLE public.checkouts (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    checkout_id bigint NOT NULL,
    token text,
    cart_token text,
    email text,
    customer_id bigint,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    completed_at timestamp with time zone,
    currency character(3) NOT NULL,
    total_price numeric NOT NULL,
    subtotal_price numeric,
    line_items jsonb DEFAULT '[]'::jsonb NOT NULL,
    abandoned_checkout_url text,
    ingested_at timestamp with time zone DEFAULT now() NOT NULL,
    version_at timestamp with time zone
);

ALTER TABLE public.checkouts OWNER TO xeno_owner;

CREATE TABLE public.customer_predictions (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    customer_id bigint NOT NULL,
    p_alive double precision NOT NULL,
    expected_orders_30 double precision NOT NULL,
    expected_orders_90 double precision NOT NULL,
    expected_orders_365 double precision NOT NULL,
    expected_order_value numeric NOT NULL,
    clv_365 numeric NOT NULL
);

ALTER TABLE public.customer_predictions OWNER TO xeno_owner;

CREATE TABLE public.customers (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    customer_id bigint NOT NULL,
    email text,
    phone text,
    first_name text,
    last_name text,
    state text,
    verified_email boolean,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    currency character(3),
    email_marketing_state text,
    default_address jsonb,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    redacted_at timestamp with time zone,
    ingested_at timestamp with time zone DEFAULT now() NOT NULL,
    version_at timestamp with time zone
);

ALTER TABLE public.customers OWNER TO xeno_owner;

CREATE TABLE public.daily_customers (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    day date NOT NULL,
    new_customers bigint DEFAULT 0 NOT NULL
);

ALTER TABLE public.daily_customers OWNER TO xeno_owner;

CREATE TABLE public.daily_sales (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    day date NOT NULL,
    currency character(3) NOT NULL,
    orders bigint DEFAULT 0 NOT NULL,
    gross numeric DEFAULT 0 NOT NULL,
    discounts numeric DEFAULT 0 NOT NULL,
    returns numeric DEFAULT 0 NOT NULL,
    shipping numeric DEFAULT 0 NOT NULL,
    taxes numeric DEFAULT 0 NOT NULL,
    units bigint DEFAULT 0 NOT NULL,
    duties numeric DEFAULT 0 NOT NULL,
    additional_fees numeric DEFAULT 0 NOT NULL
);

ALTER TABLE public.daily_sales OWNER TO xeno_owner;

CREATE TABLE public.data_versions (
    tenant_id uuid NOT NULL,
    version bigint DEFAULT 0 NOT NULL
);

ALTER TABLE public.data_versions OWNER TO xeno_owner;

CREATE TABLE public.invitations (
    tenant_id uuid NOT NULL,
    invitation_id uuid NOT NULL,
    email text NOT NULL,
    role text NOT NULL,
    token_hash bytea NOT NULL,
    created_by uuid NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    accepted_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT invitations_role_check CHECK ((role = ANY (ARRAY['admin'::text, 'analyst'::text, 'viewer'::text])))
);

ALTER TABLE public.invitations OWNER TO xeno_owner;

CREATE TABLE public.memberships (
    user_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    joined_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.memberships OWNER TO xeno_owner;

CREATE TABLE public.oauth_nonces (
    tenant_id uuid NOT NULL,
    nonce text NOT NULL,
    user_id uuid NOT NULL,
    shop_domain text NOT NULL,
    expires_at timestamp with time zone NOT NULL
);

ALTER TABLE public.oauth_nonces OWNER TO xeno_owner;

CREATE TABLE public.order_line_items (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    line_item_id bigint NOT NULL,
    order_id bigint NOT NULL,
    product_id bigint,
    variant_id bigint,
    title text NOT NULL,
    variant_title text,
    sku text,
    vendor text,
    quantity integer NOT NULL,
    current_quantity integer,
    price numeric NOT NULL,
    total_discount numeric DEFAULT 0 NOT NULL,
    currency character(3) NOT NULL,
    gift_card boolean DEFAULT false NOT NULL,
    taxable boolean DEFAULT true NOT NULL,
    discount numeric DEFAULT 0 NOT NULL
);

ALTER TABLE public.order_line_items OWNER TO xeno_owner;

CREATE TABLE public.orders (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    order_id bigint NOT NULL,
    name text,
    order_number bigint,
    email text,
    customer_id bigint,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    processed_at timestamp with time zone NOT NULL,
    cancelled_at timestamp with time zone,
    cancel_reason text,
    closed_at timestamp with time zone,
    currency character(3) NOT NULL,
    presentment_currency character(3),
    total_price numeric NOT NULL,
    subtotal_price numeric NOT NULL,
    total_tax numeric NOT NULL,
    total_discounts numeric NOT NULL,
    total_line_items_price numeric NOT NULL,
    total_shipping numeric DEFAULT 0 NOT NULL,
    current_total_price numeric NOT NULL,
    current_subtotal_price numeric,
    current_total_tax numeric,
    current_total_discounts numeric,
    financial_status text,
    fulfillment_status text,
    test boolean DEFAULT false NOT NULL,
    source_name text,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    ingested_at timestamp with time zone DEFAULT now() NOT NULL,
    units integer DEFAULT 0 NOT NULL,
    gross_sales numeric DEFAULT 0 NOT NULL,
    line_discounts numeric DEFAULT 0 NOT NULL,
    cancelled_returns numeric DEFAULT 0 NOT NULL,
    cancelled_shipping numeric DEFAULT 0 NOT NULL,
    cancelled_taxes numeric DEFAULT 0 NOT NULL,
    version_at timestamp with time zone,
    duties numeric DEFAULT 0 NOT NULL,
    additional_fees numeric DEFAULT 0 NOT NULL,
    tips numeric DEFAULT 0 NOT NULL,
    cancelled_duties numeric DEFAULT 0 NOT NULL,
    cancelled_fees numeric DEFAULT 0 NOT NULL
);

ALTER TABLE public.orders OWNER TO xeno_owner;

CREATE TABLE public.people (
    user_id uuid NOT NULL,
    email text NOT NULL,
    password_hash text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.people OWNER TO xeno_owner;

CREATE TABLE public.prediction_fits (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    fitted_at timestamp with time zone DEFAULT now() NOT NULL,
    observed_until timestamp with time zone NOT NULL,
    status text NOT NULL,
    reason text,
    customers bigint NOT NULL,
    repeaters bigint NOT NULL,
    r double precision,
    alpha double precision,
    a double precision,
    b double precision,
    bgnbd_log_likelihood double precision,
    p double precision,
    q double precision,
    gamma double precision,
    gamma_gamma_log_likelihood double precision,
    monthly_discount double precision DEFAULT 0.01 NOT NULL,
    CONSTRAINT prediction_fits_status_check CHECK ((status = ANY (ARRAY['fitted'::text, 'insufficient'::text])))
);

ALTER TABLE public.prediction_fits OWNER TO xeno_owner;

CREATE TABLE public.privacy_requests (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    request_id uuid NOT NULL,
    topic text NOT NULL,
    customer_id bigint,
    email text,
    order_ids bigint[] DEFAULT '{}'::bigint[] NOT NULL,
    payload jsonb NOT NULL,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone
);

ALTER TABLE public.privacy_requests OWNER TO xeno_owner;

CREATE TABLE public.product_sales (
    tenant_id uuid NOT NULL,
    period text NOT NULL,
    starts date NOT NULL,
    store_id uuid NOT NULL,
    currency character(3) NOT NULL,
    product_id bigint,
    variant_id bigint,
    line_title text,
    line_variant_title text,
    lines bigint NOT NULL,
    orders bigint NOT NULL,
    product_orders bigint NOT NULL,
    units bigint NOT NULL,
    revenue numeric NOT NULL,
    returns numeric NOT NULL,
    CONSTRAINT product_sales_period_check CHECK ((period = ANY (ARRAY['day'::text, 'month'::text])))
);

ALTER TABLE public.product_sales OWNER TO xeno_owner;

CREATE TABLE public.product_variants (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    variant_id bigint NOT NULL,
    product_id bigint NOT NULL,
    title text,
    sku text,
    price numeric NOT NULL,
    compare_at_price numeric,
    currency character(3) NOT NULL,
    "position" integer,
    inventory_quantity integer,
    created_at timestamp with time zone,
    updated_at timestamp with time zone
);

ALTER TABLE public.product_variants OWNER TO xeno_owner;

CREATE TABLE public.products (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    product_id bigint NOT NULL,
    title text NOT NULL,
    handle text,
    vendor text,
    product_type text,
    status text,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL,
    published_at timestamp with time zone,
    ingested_at timestamp with time zone DEFAULT now() NOT NULL,
    version_at timestamp with time zone
);

ALTER TABLE public.products OWNER TO xeno_owner;

CREATE TABLE public.reconciliations (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    checked_at timestamp with time zone DEFAULT now() NOT NULL,
    status text NOT NULL,
    window_from date,
    window_to date,
    days_checked integer DEFAULT 0 NOT NULL,
    days_matched integer DEFAULT 0 NOT NULL,
    mismatches jsonb DEFAULT '[]'::jsonb NOT NULL,
    detail text,
    CONSTRAINT reconciliations_status_check CHECK ((status = ANY (ARRAY['matched'::text, 'mismatched'::text, 'not_checked'::text, 'failed'::text])))
);

ALTER TABLE public.reconciliations OWNER TO xeno_owner;

CREATE TABLE public.refund_line_items (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    refund_id bigint NOT NULL,
    line_item_id bigint NOT NULL,
    quantity integer NOT NULL,
    subtotal numeric NOT NULL,
    total_tax numeric NOT NULL,
    currency character(3) NOT NULL
);

ALTER TABLE public.refund_line_items OWNER TO xeno_owner;

CREATE TABLE public.refunds (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    refund_id bigint NOT NULL,
    order_id bigint NOT NULL,
    created_at timestamp with time zone NOT NULL,
    processed_at timestamp with time zone,
    amount numeric NOT NULL,
    currency character(3) NOT NULL,
    note text,
    line_subtotal numeric DEFAULT 0 NOT NULL,
    line_tax numeric DEFAULT 0 NOT NULL,
    test_order boolean DEFAULT false NOT NULL,
    shipping numeric DEFAULT 0 NOT NULL,
    shipping_tax numeric DEFAULT 0 NOT NULL,
    duties numeric DEFAULT 0 NOT NULL
);

ALTER TABLE public.refunds OWNER TO xeno_owner;

CREATE TABLE public.segment_tag_syncs (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    segment text NOT NULL,
    tag text NOT NULL,
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    removing boolean DEFAULT false NOT NULL,
    last_run_at timestamp with time zone,
    added integer DEFAULT 0 NOT NULL,
    removed integer DEFAULT 0 NOT NULL,
    last_error text,
    CONSTRAINT segment_tag_syncs_tag_check CHECK (((length(tag) >= 1) AND (length(tag) <= 40)))
);

ALTER TABLE public.segment_tag_syncs OWNER TO xeno_owner;

CREATE TABLE public.segment_tagged (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    segment text NOT NULL,
    customer_id bigint NOT NULL,
    tagged_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.segment_tagged OWNER TO xeno_owner;

CREATE TABLE public.sessions (
    tenant_id uuid NOT NULL,
    session_id uuid NOT NULL,
    user_id uuid NOT NULL,
    family_id uuid NOT NULL,
    refresh_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    rotated_at timestamp with time zone,
    revoked_at timestamp with time zone
);

ALTER TABLE public.sessions OWNER TO xeno_owner;

CREATE TABLE public.shop_domains (
    shop_domain text NOT NULL,
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL
);

ALTER TABLE public.shop_domains OWNER TO xeno_owner;

CREATE TABLE public.stores (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    shop_domain text NOT NULL,
    shopify_shop_id bigint,
    name text,
    currency character(3),
    iana_timezone text,
    status text NOT NULL,
    connection_kind text NOT NULL,
    scopes text[] DEFAULT '{}'::text[] NOT NULL,
    access_token bytea,
    refresh_token bytea,
    webhook_secret bytea,
    token_key_id text,
    access_token_expires_at timestamp with time zone,
    refresh_token_expires_at timestamp with time zone,
    installed_at timestamp with time zone,
    uninstalled_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    status_reason text,
    api_version text,
    CONSTRAINT stores_connection_kind_check CHECK ((connection_kind = ANY (ARRAY['oauth'::text, 'custom_app'::text]))),
    CONSTRAINT stores_status_check CHECK ((status = ANY (ARRAY['connecting'::text, 'active'::text, 'needs_reauth'::text, 'uninstalled'::text, 'disconnected'::text])))
);

ALTER TABLE public.stores OWNER TO xeno_owner;

CREATE TABLE public.sync_runs (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    run_id uuid NOT NULL,
    kind text NOT NULL,
    status text NOT NULL,
    phase text NOT NULL,
    records bigint DEFAULT 0 NOT NULL,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    error text,
    api_calls bigint DEFAULT 0 NOT NULL,
    api_cost double precision DEFAULT 0 NOT NULL,
    throttle_waits bigint DEFAULT 0 NOT NULL,
    throttle_wait_ms bigint DEFAULT 0 NOT NULL,
    throttled bigint DEFAULT 0 NOT NULL,
    retries bigint DEFAULT 0 NOT NULL,
    expected_records bigint,
    paged_exports integer DEFAULT 0 NOT NULL,
    CONSTRAINT sync_runs_kind_check CHECK ((kind = ANY (ARRAY['backfill'::text, 'incremental'::text]))),
    CONSTRAINT sync_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'completed'::text, 'failed'::text])))
);

ALTER TABLE public.sync_runs OWNER TO xeno_owner;

CREATE TABLE public.sync_state (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    resource text NOT NULL,
    watermark timestamp with time zone,
    last_success_at timestamp with time zone,
    last_error text,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);

ALTER TABLE public.sync_state OWNER TO xeno_owner;

CREATE TABLE public.tenant_deletions (
    former_tenant_id uuid NOT NULL,
    deleted_at timestamp with time zone DEFAULT now() NOT NULL,
    stores integer NOT NULL,
    members integer NOT NULL
);

ALTER TABLE public.tenant_deletions OWNER TO xeno_owner;

CREATE TABLE public.tenants (
    tenant_id uuid NOT NULL,
    name text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tenants_name_check CHECK (((length(name) >= 1) AND (length(name) <= 100)))
);

ALTER TABLE public.tenants OWNER TO xeno_owner;

CREATE TABLE public.tombstones (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    resource text NOT NULL,
    resource_id bigint NOT NULL,
    deleted_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT tombstones_resource_check CHECK ((resource = ANY (ARRAY['customer'::text, 'product'::text, 'order'::text, 'checkout'::text])))
);

ALTER TABLE public.tombstones OWNER TO xeno_owner;

CREATE TABLE public.users (
    tenant_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT users_role_check CHECK ((role = ANY (ARRAY['owner'::text, 'admin'::text, 'analyst'::text, 'viewer'::text])))
);

ALTER TABLE public.users OWNER TO xeno_owner;

CREATE TABLE public.webhook_events (
    tenant_id uuid NOT NULL,
    store_id uuid NOT NULL,
    event_id uuid NOT NULL,
    webhook_id text NOT NULL,
    shopify_event_id text,
    topic text NOT NULL,
    api_version text,
    triggered_at timestamp with time zone,
    body bytea,
    payload json,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    status text DEFAULT 'pending'::text NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    next_attempt_at timestamp with time zone DEFAULT now() NOT NULL,
    last_error text,
    processed_at timestamp with time zone,
    outcome text,
    dated_on_receipt boolean DEFAULT false NOT NULL,
    trace_parent text,
    CONSTRAINT webhook_events_body_or_payload CHECK (((body IS NOT NULL) OR (payload IS NOT NULL))),
    CONSTRAINT webhook_events_outcome_check CHECK ((outcome = ANY (ARRAY['duplicate'::text, 'stale'::text, 'deleted'::text, 'redacted'::text, 'ignored'::text, 'store_inactive'::text]))),
    CONSTRAINT webhook_events_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'done'::text, 'failed'::text, 'dead'::text, 'rejected'::text])))
);
ALTER TABLE ONLY public.webhook_events ALTER COLUMN body SET COMPRESSION lz4;
ALTER TABLE ONLY public.webhook_events ALTER COLUMN payload SET COMPRESSION lz4;

ALTER TABLE public.webhook_events OWNER TO xeno_owner;

ALTER TABLE ONLY public._sqlx_migrations
    ADD CONSTRAINT _sqlx_migrations_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_pkey PRIMARY KEY (tenant_id, key_id);

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_pkey PRIMARY KEY (tenant_id, audit_id);

ALTER TABLE ONLY public.buyer_history
    ADD CONSTRAINT buyer_history_pkey PRIMARY KEY (tenant_id, store_id, customer_id);

ALTER TABLE ONLY public.buyer_spend
    ADD CONSTRAINT buyer_spend_pkey PRIMARY KEY (tenant_id, store_id, customer_id, currency);

ALTER TABLE ONLY public.carts
    ADD CONSTRAINT carts_pkey PRIMARY KEY (tenant_id, store_id, cart_token);

ALTER TABLE ONLY public.checkout_days
    ADD CONSTRAINT checkout_days_pkey PRIMARY KEY (tenant_id, store_id, day, currency);

ALTER TABLE ONLY public.checkouts
    ADD CONSTRAINT checkouts_pkey PRIMARY KEY (tenant_id, store_id, checkout_id);

ALTER TABLE ONLY public.customer_predictions
    ADD CONSTRAINT customer_predictions_pkey PRIMARY KEY (tenant_id, store_id, customer_id);

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_pkey PRIMARY KEY (tenant_id, store_id, customer_id);

ALTER TABLE ONLY public.daily_customers
    ADD CONSTRAINT daily_customers_pkey PRIMARY KEY (tenant_id, store_id, day);

ALTER TABLE ONLY public.daily_sales
    ADD CONSTRAINT daily_sales_pkey PRIMARY KEY (tenant_id, store_id, day, currency);

ALTER TABLE ONLY public.data_versions
    ADD CONSTRAINT data_versions_pkey PRIMARY KEY (tenant_id);

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_pkey PRIMARY KEY (tenant_id, invitation_id);

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_pkey PRIMARY KEY (user_id, tenant_id);

ALTER TABLE ONLY public.oauth_nonces
    ADD CONSTRAINT oauth_nonces_pkey PRIMARY KEY (tenant_id, nonce);

ALTER TABLE ONLY public.order_line_items
    ADD CONSTRAINT order_line_items_pkey PRIMARY KEY (tenant_id, store_id, line_item_id);

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_pkey PRIMARY KEY (tenant_id, store_id, order_id);

ALTER TABLE ONLY public.people
    ADD CONSTRAINT people_email_key UNIQUE (email);

ALTER TABLE ONLY public.people
    ADD CONSTRAINT people_pkey PRIMARY KEY (user_id);

ALTER TABLE ONLY public.prediction_fits
    ADD CONSTRAINT prediction_fits_pkey PRIMARY KEY (tenant_id, store_id);

ALTER TABLE ONLY public.privacy_requests
    ADD CONSTRAINT privacy_requests_pkey PRIMARY KEY (tenant_id, request_id);

ALTER TABLE ONLY public.product_variants
    ADD CONSTRAINT product_variants_pkey PRIMARY KEY (tenant_id, store_id, variant_id);

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_pkey PRIMARY KEY (tenant_id, store_id, product_id);

ALTER TABLE ONLY public.reconciliations
    ADD CONSTRAINT reconciliations_pkey PRIMARY KEY (tenant_id, store_id);

ALTER TABLE ONLY public.refund_line_items
    ADD CONSTRAINT refund_line_items_pkey PRIMARY KEY (tenant_id, store_id, refund_id, line_item_id);

ALTER TABLE ONLY public.refunds
    ADD CONSTRAINT refunds_pkey PRIMARY KEY (tenant_id, store_id, refund_id);

ALTER TABLE ONLY public.segment_tag_syncs
    ADD CONSTRAINT segment_tag_syncs_pkey PRIMARY KEY (tenant_id, store_id, segment);

ALTER TABLE ONLY public.segment_tag_syncs
    ADD CONSTRAINT segment_tag_syncs_tenant_id_store_id_tag_key UNIQUE (tenant_id, store_id, tag);

ALTER TABLE ONLY public.segment_tagged
    ADD CONSTRAINT segment_tagged_pkey PRIMARY KEY (tenant_id, store_id, segment, customer_id);

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_pkey PRIMARY KEY (tenant_id, session_id);

ALTER TABLE ONLY public.shop_domains
    ADD CONSTRAINT shop_domains_pkey PRIMARY KEY (shop_domain);

ALTER TABLE ONLY public.stores
    ADD CONSTRAINT stores_pkey PRIMARY KEY (tenant_id, store_id);

ALTER TABLE ONLY public.stores
    ADD CONSTRAINT stores_tenant_id_shop_domain_key UNIQUE (tenant_id, shop_domain);

ALTER TABLE ONLY public.sync_runs
    ADD CONSTRAINT sync_runs_pkey PRIMARY KEY (tenant_id, run_id);

ALTER TABLE ONLY public.sync_state
    ADD CONSTRAINT sync_state_pkey PRIMARY KEY (tenant_id, store_id, resource);

ALTER TABLE ONLY public.tenant_deletions
    ADD CONSTRAINT tenant_deletions_pkey PRIMARY KEY (former_tenant_id);

ALTER TABLE ONLY public.tenants
    ADD CONSTRAINT tenants_pkey PRIMARY KEY (tenant_id);

ALTER TABLE ONLY public.tombstones
    ADD CONSTRAINT tombstones_pkey PRIMARY KEY (tenant_id, store_id, resource, resource_id);

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_pkey PRIMARY KEY (tenant_id, user_id);

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_pkey PRIMARY KEY (tenant_id, event_id);

ALTER TABLE ONLY public.webhook_events
    ADD CONSTRAINT webhook_events_tenant_id_store_id_webhook_id_key UNIQUE (tenant_id, store_id, webhook_id);

CREATE INDEX api_keys_creator ON public.api_keys USING btree (tenant_id, created_by);

CREATE INDEX audit_events_recent ON public.audit_events USING btree (tenant_id, at DESC, audit_id DESC);

CREATE INDEX buyer_history_first ON public.buyer_history USING btree (tenant_id, store_id, first_order_at) INCLUDE (second_order_at);

CREATE INDEX buyer_history_last ON public.buyer_history USING btree (tenant_id, store_id, last_order_at) INCLUDE (first_order_at);

CREATE INDEX buyer_spend_empty ON public.buyer_spend USING btree (tenant_id) WHERE (orders = 0);

CREATE INDEX buyer_spend_rank ON public.buyer_spend USING btree (tenant_id, currency, spent, store_id, customer_id);

CREATE INDEX checkouts_created ON public.checkouts USING btree (tenant_id, store_id, created_at);

CREATE INDEX checkouts_updated ON public.checkouts USING btree (tenant_id, store_id, updated_at);

CREATE INDEX customers_by_created ON public.customers USING btree (tenant_id, created_at, store_id, customer_id);

CREATE INDEX customers_by_email ON public.customers USING btree (tenant_id, lower(email), store_id, customer_id);

CREATE INDEX customers_by_updated ON public.customers USING btree (tenant_id, updated_at, store_id, customer_id);

CREATE INDEX customers_created ON public.customers USING btree (tenant_id, store_id, created_at);

CREATE INDEX customers_updated ON public.customers USING btree (tenant_id, store_id, updated_at);

CREATE INDEX daily_sales_day ON public.daily_sales USING btree (tenant_id, day);

CREATE INDEX order_line_items_order ON public.order_line_items USING btree (tenant_id, store_id, order_id);

CREATE INDEX order_line_items_product ON public.order_line_items USING btree (tenant_id, store_id, product_id);

CREATE INDEX orders_buyer_history ON public.orders USING btree (tenant_id, store_id, customer_id, processed_at) WHERE ((NOT test) AND (customer_id IS NOT NULL));

CREATE INDEX orders_by_processed ON public.orders USING btree (tenant_id, processed_at, store_id, order_id);

CREATE INDEX orders_by_total ON public.orders USING btree (tenant_id, total_price, store_id, order_id);

CREATE INDEX orders_customer ON public.orders USING btree (tenant_id, store_id, customer_id);

CREATE INDEX orders_range ON public.orders USING btree (tenant_id, store_id, processed_at) INCLUDE (customer_id, currency, current_total_price) WHERE (NOT test);

CREATE INDEX orders_updated ON public.orders USING btree (tenant_id, store_id, updated_at);

CREATE INDEX product_sales_empty ON public.product_sales USING btree (tenant_id) WHERE (lines = 0);

CREATE UNIQUE INDEX product_sales_key ON public.product_sales USING btree (tenant_id, period, starts, store_id, currency, product_id, variant_id) NULLS NOT DISTINCT;

CREATE INDEX product_variants_product ON public.product_variants USING btree (tenant_id, store_id, product_id);

CREATE INDEX products_by_created ON public.products USING btree (tenant_id, created_at, store_id, product_id);

CREATE INDEX products_by_title ON public.products USING btree (tenant_id, lower(title), store_id, product_id);

CREATE INDEX products_by_updated ON public.products USING btree (tenant_id, updated_at, store_id, product_id);

CREATE INDEX products_updated ON public.products USING btree (tenant_id, store_id, updated_at);

CREATE INDEX refunds_created ON public.refunds USING btree (tenant_id, store_id, created_at);

CREATE INDEX refunds_order ON public.refunds USING btree (tenant_id, store_id, order_id);

CREATE INDEX sessions_family ON public.sessions USING btree (tenant_id, family_id);

CREATE INDEX sessions_user ON public.sessions USING btree (tenant_id, user_id);

CREATE INDEX shop_domains_store ON public.shop_domains USING btree (tenant_id, store_id);

CREATE UNIQUE INDEX sync_runs_one_running ON public.sync_runs USING btree (tenant_id, store_id) WHERE (status = 'running'::text);

CREATE INDEX sync_runs_store ON public.sync_runs USING btree (tenant_id, store_id, started_at);

CREATE UNIQUE INDEX webhook_events_action ON public.webhook_events USING btree (tenant_id, store_id, topic, shopify_event_id) WHERE ((shopify_event_id IS NOT NULL) AND (topic = ANY (ARRAY['app/uninstalled'::text, 'shop/redact'::text, 'customers/redact'::text, 'customers/data_request'::text])));

CREATE INDEX webhook_events_dead ON public.webhook_events USING btree (tenant_id, store_id) WHERE (status = 'dead'::text);

CREATE INDEX webhook_events_due ON public.webhook_events USING btree (tenant_id, next_attempt_at) WHERE (status = ANY (ARRAY['pending'::text, 'failed'::text]));

CREATE INDEX webhook_events_log ON public.webhook_events USING btree (tenant_id, store_id, received_at);

CREATE INDEX webhook_events_unchanged ON public.webhook_events USING btree (tenant_id, store_id, outcome) WHERE (outcome IS NOT NULL);

CREATE TRIGGER checkouts_insights_delete AFTER DELETE ON public.checkouts REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_checkout_rollup();

CREATE TRIGGER checkouts_insights_insert AFTER INSERT ON public.checkouts REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_checkout_rollup();

CREATE TRIGGER checkouts_insights_update AFTER UPDATE ON public.checkouts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_checkout_rollup();

CREATE TRIGGER checkouts_version BEFORE INSERT OR DELETE OR UPDATE ON public.checkouts FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_bump_current();

CREATE TRIGGER customers_insights_delete AFTER DELETE ON public.customers REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_customer_rollup();

CREATE TRIGGER customers_insights_insert AFTER INSERT ON public.customers REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_customer_rollup();

CREATE TRIGGER customers_insights_update AFTER UPDATE ON public.customers REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_customer_rollup();

CREATE TRIGGER customers_version BEFORE INSERT OR DELETE OR UPDATE ON public.customers FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_bump_current();

CREATE TRIGGER orders_buyer_spend_delete AFTER DELETE ON public.orders REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_buyer_spend_rollup();

CREATE TRIGGER orders_buyer_spend_insert AFTER INSERT ON public.orders REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_buyer_spend_rollup();

CREATE TRIGGER orders_buyer_spend_update AFTER UPDATE ON public.orders REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_buyer_spend_rollup();

CREATE TRIGGER orders_buyers_delete AFTER DELETE ON public.orders REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_buyer_rollup();

CREATE TRIGGER orders_buyers_insert AFTER INSERT ON public.orders REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_buyer_rollup();

CREATE TRIGGER orders_buyers_update AFTER UPDATE ON public.orders REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_buyer_rollup();

CREATE TRIGGER orders_insights_delete AFTER DELETE ON public.orders REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_order_rollup();

CREATE TRIGGER orders_insights_insert AFTER INSERT ON public.orders REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_order_rollup();

CREATE TRIGGER orders_insights_update AFTER UPDATE ON public.orders REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_order_rollup();

CREATE TRIGGER orders_product_sales_retract AFTER UPDATE ON public.orders REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_product_sales_retract();

CREATE TRIGGER orders_version BEFORE INSERT OR DELETE OR UPDATE ON public.orders FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_bump_current();

CREATE TRIGGER products_version BEFORE INSERT OR DELETE OR UPDATE ON public.products FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_bump_current();

CREATE TRIGGER refunds_insights_delete AFTER DELETE ON public.refunds REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_refund_rollup();

CREATE TRIGGER refunds_insights_insert AFTER INSERT ON public.refunds REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_refund_rollup();

CREATE TRIGGER refunds_insights_update AFTER UPDATE ON public.refunds REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_refund_rollup();

CREATE TRIGGER refunds_version BEFORE INSERT OR DELETE OR UPDATE ON public.refunds FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_bump_current();

CREATE CONSTRAINT TRIGGER stores_delete_leftovers AFTER DELETE ON public.stores DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.xeno_delete_store_leftovers();

CREATE TRIGGER stores_version BEFORE INSERT OR DELETE OR UPDATE OF name, currency, iana_timezone ON public.stores FOR EACH STATEMENT EXECUTE FUNCTION public.xeno_bump_current();

ALTER TABLE ONLY public.api_keys
    ADD CONSTRAINT api_keys_tenant_id_created_by_fkey FOREIGN KEY (tenant_id, created_by) REFERENCES public.users(tenant_id, user_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.audit_events
    ADD CONSTRAINT audit_events_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(tenant_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.buyer_history
    ADD CONSTRAINT buyer_history_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.buyer_spend
    ADD CONSTRAINT buyer_spend_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.carts
    ADD CONSTRAINT carts_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.checkout_days
    ADD CONSTRAINT checkout_days_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.checkouts
    ADD CONSTRAINT checkouts_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.customer_predictions
    ADD CONSTRAINT customer_predictions_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.customers
    ADD CONSTRAINT customers_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.daily_customers
    ADD CONSTRAINT daily_customers_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.daily_sales
    ADD CONSTRAINT daily_sales_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.data_versions
    ADD CONSTRAINT data_versions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(tenant_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_tenant_id_created_by_fkey FOREIGN KEY (tenant_id, created_by) REFERENCES public.users(tenant_id, user_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.invitations
    ADD CONSTRAINT invitations_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(tenant_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.memberships
    ADD CONSTRAINT memberships_tenant_id_user_id_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES public.users(tenant_id, user_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.oauth_nonces
    ADD CONSTRAINT oauth_nonces_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(tenant_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.orders
    ADD CONSTRAINT orders_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.prediction_fits
    ADD CONSTRAINT prediction_fits_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.privacy_requests
    ADD CONSTRAINT privacy_requests_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.product_sales
    ADD CONSTRAINT product_sales_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED;

ALTER TABLE ONLY public.product_variants
    ADD CONSTRAINT product_variants_tenant_id_store_id_product_id_fkey FOREIGN KEY (tenant_id, store_id, product_id) REFERENCES public.products(tenant_id, store_id, product_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.products
    ADD CONSTRAINT products_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.reconciliations
    ADD CONSTRAINT reconciliations_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.refund_line_items
    ADD CONSTRAINT refund_line_items_tenant_id_store_id_refund_id_fkey FOREIGN KEY (tenant_id, store_id, refund_id) REFERENCES public.refunds(tenant_id, store_id, refund_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.refunds
    ADD CONSTRAINT refunds_tenant_id_store_id_order_id_fkey FOREIGN KEY (tenant_id, store_id, order_id) REFERENCES public.orders(tenant_id, store_id, order_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.segment_tag_syncs
    ADD CONSTRAINT segment_tag_syncs_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.segment_tagged
    ADD CONSTRAINT segment_tagged_tenant_id_store_id_segment_fkey FOREIGN KEY (tenant_id, store_id, segment) REFERENCES public.segment_tag_syncs(tenant_id, store_id, segment) ON DELETE CASCADE;

ALTER TABLE ONLY public.sessions
    ADD CONSTRAINT sessions_tenant_id_user_id_fkey FOREIGN KEY (tenant_id, user_id) REFERENCES public.users(tenant_id, user_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.shop_domains
    ADD CONSTRAINT shop_domains_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.stores
    ADD CONSTRAINT stores_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(tenant_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.sync_runs
    ADD CONSTRAINT sync_runs_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.sync_state
    ADD CONSTRAINT sync_state_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.tombstones
    ADD CONSTRAINT tombstones_tenant_id_store_id_fkey FOREIGN KEY (tenant_id, store_id) REFERENCES public.stores(tenant_id, store_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES public.tenants(tenant_id) ON DELETE CASCADE;

ALTER TABLE ONLY public.users
    ADD CONSTRAINT users_user_id_fkey FOREIGN KEY (user_id) REFERENCES public.people(user_id);

ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.audit_events ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.buyer_history ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.buyer_spend ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.carts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.checkout_days ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.checkouts ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.customer_predictions ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.customers ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.daily_customers ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.daily_sales ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.data_versions ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.invitations ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.oauth_nonces ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.order_line_items ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.orders ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.prediction_fits ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.privacy_requests ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.product_sales ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.product_variants ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.products ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.reconciliations ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.refund_line_items ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.refunds ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.segment_tag_syncs ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.segment_tagged ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.sessions ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.stores ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.sync_runs ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.sync_state ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_isolation ON public.api_keys USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.audit_events USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.buyer_history USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.buyer_spend USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.carts USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.checkout_days USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.checkouts USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.customer_predictions USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.customers USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.daily_customers USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.daily_sales USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.data_versions USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.invitations USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.oauth_nonces USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.order_line_items USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.orders USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.prediction_fits USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.privacy_requests USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.product_sales USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.product_variants USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.products USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.reconciliations USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.refund_line_items USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.refunds USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.segment_tag_syncs USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.segment_tagged USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.sessions USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.stores USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.sync_runs USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.sync_state USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.tenants USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.tombstones USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.users USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

CREATE POLICY tenant_isolation ON public.webhook_events USING ((tenant_id = public.xeno_current_tenant())) WITH CHECK ((tenant_id = public.xeno_current_tenant()));

ALTER TABLE public.tenants ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.tombstones ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;

ALTER TABLE public.webhook_events ENABLE ROW LEVEL SECURITY;

GRANT USAGE ON SCHEMA public TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.api_keys TO xeno_app;

GRANT SELECT,INSERT ON TABLE public.audit_events TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.buyer_history TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.buyer_spend TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.carts TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.checkout_days TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.checkouts TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.customer_predictions TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.customers TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.daily_customers TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.daily_sales TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.data_versions TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.invitations TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.memberships TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.oauth_nonces TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.order_line_items TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.orders TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.people TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.prediction_fits TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.privacy_requests TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.product_sales TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.product_variants TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.products TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.reconciliations TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.refund_line_items TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.refunds TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.segment_tag_syncs TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.segment_tagged TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.sessions TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.shop_domains TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.stores TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.sync_runs TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.sync_state TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.tenant_deletions TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.tenants TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.tombstones TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.users TO xeno_app;

GRANT SELECT,INSERT,DELETE,UPDATE ON TABLE public.webhook_events TO xeno_app;
