//! Lists of orders, customers, products and events: every record once, while records arrive.

use crate::support::expect_problem;
use crate::support::oracle::{api_id, counted, d, date, in_range, instant, local_day};
use crate::support::shop::{activity, all_pages, connect, get, truth, wait_for_sync};
use crate::support::webhooks::drain;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

#[tokio::test]
async fn lists_page_through_everything_once_even_while_records_arrive() {
    let c = connect(
        json!({ "customers": 90, "products": 25, "orders": 160, "timezone": "Pacific/Pago_Pago" }),
        &[],
        1.0,
    )
    .await;
    let (app, token) = (&c.app, c.token.as_str());
    wait_for_sync(app, token, &c.store_id).await;
    let truth = truth(&c.sim, &c.shop).await;
    let tz: Tz = "Pacific/Pago_Pago".parse().unwrap();

    // Customers, newest first, seven a page; new customers arriving meanwhile sort before
    // the cursor and never shift what follows.
    let rows = all_pages(app, token, "/api/customers?limit=7", async || {
        activity(&c.sim, &c.shop, json!({ "customers": 3 })).await;
        drain(app).await;
    })
    .await;
    let mut expected: Vec<(DateTime<Utc>, i64)> = truth["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (instant(&c["created_at"]), c["id"].as_i64().unwrap()))
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    let got: Vec<(DateTime<Utc>, i64)> = rows
        .iter()
        .map(|c| (instant(&c["created_at"]), api_id(&c["id"])))
        .collect();
    // The first page may already hold some of the newest; the rest is exactly the truth's order.
    let first_page = 7;
    assert_eq!(
        got[first_page..],
        expected[first_page..],
        "no row skipped or repeated"
    );
    assert_eq!(got[..first_page], expected[..first_page]);
    let spent_by_customer: BTreeMap<i64, (i64, Decimal)> = {
        let mut spent = BTreeMap::new();
        for order in truth["orders"].as_array().unwrap() {
            if let (Some(customer), true) = (order["customer"]["id"].as_i64(), counted(order)) {
                let entry = spent.entry(customer).or_insert((0, Decimal::ZERO));
                entry.0 += 1;
                entry.1 += d(&order["current_total_price"]);
            }
        }
        spent
    };
    for row in &rows {
        let (orders, spent) = spent_by_customer
            .get(&api_id(&row["id"]))
            .copied()
            .unwrap_or((0, Decimal::ZERO));
        assert_eq!(row["orders"], orders);
        assert_eq!(d(&row["spent"]), spent);
    }

    // By spend (then orders, then last order): buyers most spent first, customers who never
    // ordered last; each page's cursor carries on exactly.
    let by_spend = all_pages(app, token, "/api/customers?sort=spent&limit=9", async || {}).await;
    let mut expected: Vec<(Option<Decimal>, i64)> = by_spend
        .iter()
        .map(|row| {
            let id = api_id(&row["id"]);
            (spent_by_customer.get(&id).map(|(_, spent)| *spent), id)
        })
        .collect();
    // Descending, no spend last; ties by id, descending too.
    expected.sort_by(|a, b| match (a.0, b.0) {
        (Some(x), Some(y)) => y.cmp(&x).then(b.1.cmp(&a.1)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => b.1.cmp(&a.1),
    });
    let got: Vec<i64> = by_spend.iter().map(|row| api_id(&row["id"])).collect();
    assert_eq!(got, expected.iter().map(|(_, id)| *id).collect::<Vec<_>>());
    let stored = get(app, token, &format!("/api/stores/{}", c.store_id)).await["counts"]
        ["customers"]
        .as_u64()
        .unwrap() as usize;
    assert_eq!(by_spend.len(), stored, "every customer once");
    for sort in ["orders", "last_order"] {
        let sorted = all_pages(
            app,
            token,
            &format!("/api/customers?sort={sort}&limit=11"),
            async || {},
        )
        .await;
        assert_eq!(sorted.len(), stored, "{sort}: every customer once");
        let keys: Vec<Option<String>> = sorted
            .iter()
            .map(|row| match sort {
                "orders" => (row["orders"].as_i64().unwrap() > 0)
                    .then(|| format!("{:010}", row["orders"].as_i64().unwrap())),
                _ => row["last_order_at"].as_str().map(str::to_owned),
            })
            .collect();
        let mut descending = keys.clone();
        descending.sort_by(|a, b| match (a, b) {
            (Some(x), Some(y)) => y.cmp(x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        assert_eq!(keys, descending, "{sort}");
    }

    // Search by part of an email, any case.
    let someone = truth["customers"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|c| c["email"].as_str())
        .unwrap();
    let fragment = someone.split('@').next().unwrap().to_uppercase();
    let found = get(
        app,
        token,
        &format!("/api/customers?q={fragment}&limit=200"),
    )
    .await;
    let wanted = truth["customers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| {
            let email = c["email"].as_str().unwrap_or_default().to_lowercase();
            let name = format!(
                "{} {}",
                c["first_name"].as_str().unwrap_or_default(),
                c["last_name"].as_str().unwrap_or_default()
            )
            .to_lowercase();
            email.contains(&fragment.to_lowercase()) || name.contains(&fragment.to_lowercase())
        })
        .count();
    assert_eq!(found["data"].as_array().unwrap().len(), wanted);
    assert!(wanted >= 1);

    // A customer's detail: their orders, newest first.
    let (customer, (orders, spent)) = spent_by_customer.iter().next_back().unwrap();
    let detail = get(
        app,
        token,
        &format!("/api/customers/{}/{customer}", c.store_id),
    )
    .await;
    assert_eq!(detail["customer"]["orders"], *orders);
    assert_eq!(d(&detail["customer"]["spent"]), *spent);
    assert_eq!(detail["orders"].as_array().unwrap().len() as i64, *orders);
    let missing = app
        .get_authed(&format!("/api/customers/{}/1", c.store_id), token)
        .await;
    expect_problem(missing, 404, "not_found").await;
    let malformed = app.get_authed("/api/customers/nope/1", token).await;
    expect_problem(malformed, 400, "bad_request").await;

    // Orders by total, largest first, every one once; and filters that match the truth.
    let orders = all_pages(
        app,
        token,
        "/api/orders?sort=total_price&limit=13",
        async || {},
    )
    .await;
    let totals: Vec<Decimal> = orders.iter().map(|o| d(&o["total_price"])).collect();
    assert!(totals.windows(2).all(|w| w[0] >= w[1]), "largest first");
    let ids: BTreeSet<i64> = orders.iter().map(|o| api_id(&o["id"])).collect();
    let all: BTreeSet<i64> = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, all);
    assert_eq!(orders.len(), all.len());
    let refunded = get(
        app,
        token,
        "/api/orders?financial_status=refunded&limit=200",
    )
    .await;
    let wanted = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["financial_status"] == "refunded")
        .count();
    assert_eq!(refunded["data"].as_array().unwrap().len(), wanted);
    let (from, to) = (date("2026-10-10"), date("2026-10-20"));
    let ranged = all_pages(
        app,
        token,
        &format!("/api/orders?from={from}&to={to}&order=asc&limit=50"),
        async || {},
    )
    .await;
    let wanted: BTreeSet<i64> = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| in_range(local_day(&o["processed_at"], tz), from, to))
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    let got: BTreeSet<i64> = ranged.iter().map(|o| api_id(&o["id"])).collect();
    assert_eq!(got, wanted, "days in the store's zone");
    assert!(!wanted.is_empty());

    // An order's detail: its lines and refunds as the shop has them.
    let refunded_order = truth["orders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| !o["refunds"].as_array().unwrap().is_empty())
        .unwrap();
    let detail = get(
        app,
        token,
        &format!("/api/orders/{}/{}", c.store_id, refunded_order["id"]),
    )
    .await;
    assert_eq!(
        detail["line_items"].as_array().unwrap().len(),
        refunded_order["line_items"].as_array().unwrap().len()
    );
    assert_eq!(
        detail["refunds"].as_array().unwrap().len(),
        refunded_order["refunds"].as_array().unwrap().len()
    );
    assert_eq!(
        d(&detail["order"]["total_price"]),
        d(&refunded_order["total_price"])
    );
    assert_eq!(
        d(&detail["total_shipping"]),
        d(&refunded_order["total_shipping_price_set"]["shop_money"]["amount"])
    );
    let missing = app
        .get_authed(&format!("/api/orders/{}/1", c.store_id), token)
        .await;
    expect_problem(missing, 404, "not_found").await;

    // A product's detail: its variants.
    let product = &truth["products"][0];
    let detail = get(
        app,
        token,
        &format!("/api/products/{}/{}", c.store_id, product["id"]),
    )
    .await;
    assert_eq!(detail["product"]["title"], product["title"]);
    assert_eq!(
        detail["variants"].as_array().unwrap().len(),
        product["variants"].as_array().unwrap().len()
    );

    // Products by title.
    let products = all_pages(app, token, "/api/products?limit=4", async || {}).await;
    let titles: Vec<String> = products
        .iter()
        .map(|p| p["title"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(titles.windows(2).all(|w| w[0] <= w[1]), "by title");
    assert_eq!(products.len(), truth["products"].as_array().unwrap().len());

    // Bad requests say what is wrong; another tenant sees nothing.
    let first = get(app, token, "/api/orders?limit=5").await;
    let cursor = first["next_cursor"].as_str().unwrap();
    for query in [
        "/api/orders?sort=weight".to_owned(),
        "/api/orders?limit=0".to_owned(),
        "/api/orders?cursor=garbage".to_owned(),
        format!("/api/orders?sort=total_price&cursor={cursor}"),
        "/api/orders?from=2026-10-02&to=2026-10-01".to_owned(),
    ] {
        expect_problem(app.get_authed(&query, token).await, 400, "bad_request").await;
    }
    let stranger = app.register("Stranger", "stranger@example.com").await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for list in ["/api/customers", "/api/orders", "/api/products"] {
        let page = get(app, &stranger, list).await;
        assert_eq!(page["data"].as_array().unwrap().len(), 0, "{list}");
    }
}

/// Rows PostgreSQL read from `table` to answer a plan (every scan node of it, all loops).
fn rows_read(plan: &serde_json::Value, table: &str) -> f64 {
    let own = if plan["Relation Name"] == table {
        plan["Actual Rows"].as_f64().unwrap_or(0.0) * plan["Actual Loops"].as_f64().unwrap_or(1.0)
            + plan["Rows Removed by Filter"].as_f64().unwrap_or(0.0)
    } else {
        0.0
    };
    own + plan["Plans"]
        .as_array()
        .map(|children| children.iter().map(|c| rows_read(c, table)).sum())
        .unwrap_or(0.0)
}

#[tokio::test]
async fn a_page_reads_the_page_not_the_tenant() {
    use xeno_storage::lists::{
        After, CustomerSort, Direction, ListQuery, OrderFilters, OrderSort, Page, ProductSort,
    };
    let c = connect(
        json!({ "orders": 0, "customers": 0, "products": 0 }),
        &[],
        1.0,
    )
    .await;
    wait_for_sync(&c.app, &c.token, &c.store_id).await;
    // A few hundred thousand rows in two stores, written straight to the tables (triggers
    // off: only the lists' reads are measured here).
    let mut owner = c.app.connect_as("postgres").await;
    let (tenant, store): (uuid::Uuid, uuid::Uuid) =
        sqlx::query_as("SELECT tenant_id, store_id FROM stores")
            .fetch_one(&mut owner)
            .await
            .unwrap();
    let other = uuid::Uuid::now_v7();
    for statement in [
        "SET session_replication_role = replica".to_owned(),
        format!(
            "INSERT INTO stores (tenant_id, store_id, shop_domain, status, connection_kind) \
             VALUES ('{tenant}', '{other}', 'other-lists.myshopify.com', 'active', 'oauth')"
        ),
        format!(
            "INSERT INTO orders (tenant_id, store_id, order_id, created_at, updated_at, processed_at, \
                 currency, total_price, subtotal_price, total_tax, total_discounts, \
                 total_line_items_price, current_total_price) \
             SELECT '{tenant}', CASE WHEN i % 3 = 0 THEN '{other}'::uuid ELSE '{store}'::uuid END, i, \
                 t, t, t, 'USD', p, p, 0, 0, p, p \
             FROM generate_series(1::bigint, 300000) i, \
                 LATERAL (SELECT timestamptz '2024-01-01' + i * interval '3 minutes' AS t, \
                                 ((i * 7919) % 50000) / 100.0 AS p) v"
        ),
        format!(
            "INSERT INTO customers (tenant_id, store_id, customer_id, email, created_at, updated_at) \
             SELECT '{tenant}', '{store}', i, CASE WHEN i % 10 = 0 THEN NULL ELSE 'c' || ((i * 7919) % 100000) || '@example.com' END, \
                 timestamptz '2024-01-01' + i * interval '5 minutes', \
                 timestamptz '2025-01-01' + ((i * 31) % 100000) * interval '1 minute' \
             FROM generate_series(1::bigint, 100000) i"
        ),
        format!(
            "INSERT INTO products (tenant_id, store_id, product_id, title, created_at, updated_at) \
             SELECT '{tenant}', '{store}', i, 'Product ' || ((i * 7919) % 100000), \
                 timestamptz '2024-01-01' + i * interval '5 minutes', \
                 timestamptz '2025-01-01' + ((i * 31) % 100000) * interval '1 minute' \
             FROM generate_series(1::bigint, 100000) i"
        ),
        "ANALYZE orders, customers, products".to_owned(),
    ] {
        sqlx::query(&statement).execute(&mut owner).await.unwrap();
    }

    let db = xeno::db(&c.app.config);
    let tenant = xeno_domain::ids::TenantId(tenant);
    const LIMIT: i64 = 50;
    let list = |sort, direction, after| ListQuery {
        tenant,
        store: None,
        search: None,
        sort,
        direction,
        after,
        limit: LIMIT,
    };
    // The same for the other lists' sorts.
    fn with_sort<S, T>(list: &ListQuery<S>, sort: T) -> ListQuery<T> {
        ListQuery {
            tenant: list.tenant,
            store: list.store,
            search: None,
            sort,
            direction: list.direction,
            after: list.after.clone(),
            limit: list.limit,
        }
    }
    // A cursor half way down the list, read in the list's own order.
    async fn middle(
        owner: &mut sqlx::PgConnection,
        table: &str,
        key: &str,
        id: &str,
        order: &str,
    ) -> After {
        let (key, store_id, id): (String, uuid::Uuid, i64) = sqlx::query_as(&format!(
            "SELECT ({key})::text, store_id, {id} FROM {table} \
             ORDER BY {key} {order}, store_id {order}, {id} {order} OFFSET 50000 LIMIT 1"
        ))
        .fetch_one(owner)
        .await
        .unwrap();
        After {
            key: Some(key),
            store_id,
            id,
        }
    }
    // Every sort's first page reads the page. Deep in a list, a key whose comparison
    // PostgreSQL may run before row-level security (a leakproof one: times) continues in the
    // index; a price or a lowercased title is compared after it, row by row (see
    // xeno_storage::lists), so only the times are checked from a cursor.
    let filters = OrderFilters::default();
    for (sort, key, deep) in [
        (OrderSort::ProcessedAt, "processed_at", true),
        (OrderSort::TotalPrice, "total_price", false),
    ] {
        for (direction, order) in [
            (Direction::Descending, "DESC"),
            (Direction::Ascending, "ASC"),
        ] {
            let after = middle(&mut owner, "orders", key, "order_id", order).await;
            for after in [None, Some(after).filter(|_| deep)] {
                let query = list(sort, direction, after.clone());
                let plan = db
                    .explain_page(Page::Orders(&query, &filters))
                    .await
                    .unwrap();
                let read = rows_read(&plan[0]["Plan"], "orders");
                assert!(
                    read <= (2 * LIMIT) as f64,
                    "orders by {key} {order} after {after:?} read {read} rows: {plan:#}"
                );
            }
        }
    }
    for (sort, key, deep) in [
        (ProductSort::Title, "lower(title)", false),
        (ProductSort::CreatedAt, "created_at", true),
        (ProductSort::UpdatedAt, "updated_at", true),
    ] {
        for (direction, order) in [
            (Direction::Descending, "DESC"),
            (Direction::Ascending, "ASC"),
        ] {
            let after = middle(&mut owner, "products", key, "product_id", order).await;
            for after in [None, Some(after).filter(|_| deep)] {
                let query = with_sort(
                    &list(OrderSort::ProcessedAt, direction, after.clone()),
                    sort,
                );
                let plan = db.explain_page(Page::Products(&query)).await.unwrap();
                let read = rows_read(&plan[0]["Plan"], "products");
                assert!(
                    read <= (2 * LIMIT) as f64,
                    "products by {key} {order} after {after:?} read {read} rows: {plan:#}"
                );
            }
        }
    }
    // Customers by when they joined or changed (either way) and by email (A to Z, its
    // default; emails are optional and sort last, so Z to A is not an index's order).
    for (sort, key, direction, order, deep) in [
        (
            CustomerSort::CreatedAt,
            "created_at",
            Direction::Descending,
            "DESC",
            true,
        ),
        (
            CustomerSort::CreatedAt,
            "created_at",
            Direction::Ascending,
            "ASC",
            true,
        ),
        (
            CustomerSort::UpdatedAt,
            "updated_at",
            Direction::Descending,
            "DESC",
            true,
        ),
        (
            CustomerSort::UpdatedAt,
            "updated_at",
            Direction::Ascending,
            "ASC",
            true,
        ),
        (
            CustomerSort::Email,
            "lower(email)",
            Direction::Ascending,
            "ASC",
            false,
        ),
    ] {
        let after = middle(&mut owner, "customers", key, "customer_id", order).await;
        for after in [None, Some(after).filter(|_| deep)] {
            let query = with_sort(
                &list(OrderSort::ProcessedAt, direction, after.clone()),
                sort,
            );
            let plan = db.explain_page(Page::Customers(&query)).await.unwrap();
            let read = rows_read(&plan[0]["Plan"], "customers");
            assert!(
                read <= (2 * LIMIT) as f64,
                "customers by {key} {order} after {after:?} read {read} rows: {plan:#}"
            );
        }
    }
}
