//! The rollups the write path keeps, against a recount from the records.

use crate::support::TestApp;

/// After every kind of change (updates, refunds, cancellations, a deletion, an order made a
/// test), the product and checkout rollups kept change by change equal the same figures
/// counted afresh from the records in one pass.
pub async fn check_rollups_equal_a_recount(app: &TestApp) {
    let mut owner = app.connect_as("postgres").await;
    let columns = "tenant_id, period, starts, store_id, currency, product_id, variant_id, \
                   lines, orders, product_orders, units, revenue, returns";
    let differences = |a: &str, b: &str| {
        format!(
            "SELECT count(*) FROM ((SELECT * FROM {a} EXCEPT SELECT * FROM {b}) \
             UNION ALL (SELECT * FROM {b} EXCEPT SELECT * FROM {a})) d"
        )
    };
    sqlx::query(&format!(
        "CREATE TEMP TABLE kept AS SELECT {columns} FROM product_sales WHERE lines <> 0"
    ))
    .execute(&mut owner)
    .await
    .unwrap();
    // The recount writes into the rollup inside a transaction that is rolled back.
    let mut tx = sqlx::Connection::begin(&mut owner).await.unwrap();
    for statement in [
        "DELETE FROM product_sales".to_owned(),
        "DO $$ BEGIN EXECUTE xeno_product_sales_statement('orders', '1'); END $$".to_owned(),
        format!("CREATE TEMP TABLE recount AS SELECT {columns} FROM product_sales"),
    ] {
        sqlx::query(&statement).execute(&mut *tx).await.unwrap();
    }
    let (rows, differing): (i64, i64) = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM kept), ({})",
        differences("kept", "recount")
    ))
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert!(rows > 0);
    assert_eq!(differing, 0, "product sales kept change by change");

    // Checkouts per day, counted straight from the checkouts.
    sqlx::query(
        "CREATE TEMP TABLE counted AS \
         SELECT c.tenant_id, c.store_id, \
                (c.created_at AT TIME ZONE COALESCE(s.iana_timezone, 'UTC'))::date AS day, \
                c.currency, count(*) AS started, \
                count(*) FILTER (WHERE c.completed_at IS NOT NULL) AS completed, \
                COALESCE(sum(c.total_price) FILTER (WHERE c.completed_at IS NULL), 0) AS open_value \
         FROM checkouts c JOIN stores s ON s.tenant_id = c.tenant_id AND s.store_id = c.store_id \
         GROUP BY 1, 2, 3, 4",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    sqlx::query(
        "CREATE TEMP TABLE kept_days AS SELECT tenant_id, store_id, day, currency, started, \
         completed, open_value FROM checkout_days WHERE started <> 0",
    )
    .execute(&mut owner)
    .await
    .unwrap();
    let (rows, differing): (i64, i64) = sqlx::query_as(&format!(
        "SELECT (SELECT count(*) FROM kept_days), ({})",
        differences("kept_days", "counted")
    ))
    .fetch_one(&mut owner)
    .await
    .unwrap();
    assert!(rows > 0);
    assert_eq!(differing, 0, "checkouts per day kept change by change");
}
