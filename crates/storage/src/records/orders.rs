//! Orders with their line items and refunds, and the facts rollups read.

use super::*;

/// Inserts or updates orders; for those written, replaces their line items and adds their
/// refunds. Embedded customers are added if unknown. Both statements bind one array per
/// column, so their text never changes and PostgreSQL plans them once per connection.
pub async fn upsert_orders(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    orders: &[OrderRecord],
) -> Result<(), StorageError> {
    let embedded: Vec<CustomerRecord> = orders.iter().filter_map(|o| o.customer.clone()).collect();
    insert_customers_if_absent(conn, tenant, store, &embedded).await?;
    let orders = newest(
        orders,
        |o| o.order_id,
        |o| version(o.updated_at, o.version_at),
    );
    for chunk in orders.chunks(CHUNK) {
        let sales: Vec<OrderSales> = chunk.iter().map(OrderSales::of).collect();
        let written: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO orders (tenant_id, store_id, order_id, name, order_number, email, customer_id, \
                 created_at, updated_at, processed_at, cancelled_at, cancel_reason, closed_at, currency, \
                 presentment_currency, total_price, subtotal_price, total_tax, total_discounts, \
                 total_line_items_price, total_shipping, current_total_price, current_subtotal_price, \
                 current_total_tax, current_total_discounts, financial_status, fulfillment_status, test, \
                 source_name, tags, units, gross_sales, line_discounts, cancelled_returns, \
                 cancelled_shipping, cancelled_taxes, version_at, duties, additional_fees, tips, \
                 cancelled_duties, cancelled_fees) \
             SELECT $1, $2, v.order_id, v.name, v.order_number, v.email, v.customer_id, v.created_at, \
                 v.updated_at, v.processed_at, v.cancelled_at, v.cancel_reason, v.closed_at, v.currency, \
                 v.presentment_currency, v.total_price, v.subtotal_price, v.total_tax, v.total_discounts, \
                 v.total_line_items_price, v.total_shipping, v.current_total_price, v.current_subtotal_price, \
                 v.current_total_tax, v.current_total_discounts, v.financial_status, v.fulfillment_status, \
                 v.test, v.source_name, string_to_array(v.tags, chr(31)), v.units, v.gross_sales, \
                 v.line_discounts, v.cancelled_returns, v.cancelled_shipping, v.cancelled_taxes, v.version_at, \
                 v.duties, v.additional_fees, v.tips, v.cancelled_duties, v.cancelled_fees \
             FROM UNNEST($3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::bigint[], \
                 $8::timestamptz[], $9::timestamptz[], $10::timestamptz[], $11::timestamptz[], $12::text[], \
                 $13::timestamptz[], $14::text[], $15::text[], $16::numeric[], $17::numeric[], \
                 $18::numeric[], $19::numeric[], $20::numeric[], $21::numeric[], $22::numeric[], \
                 $23::numeric[], $24::numeric[], $25::numeric[], $26::text[], $27::text[], $28::boolean[], \
                 $29::text[], $30::text[], $31::integer[], $32::numeric[], $33::numeric[], \
                 $34::numeric[], $35::numeric[], $36::numeric[], $37::timestamptz[], $38::numeric[], \
                 $39::numeric[], $40::numeric[], $41::numeric[], $42::numeric[]) \
                 AS v (order_id, name, order_number, email, customer_id, created_at, updated_at, \
                       processed_at, cancelled_at, cancel_reason, closed_at, currency, presentment_currency, \
                       total_price, subtotal_price, total_tax, total_discounts, total_line_items_price, \
                       total_shipping, current_total_price, current_subtotal_price, current_total_tax, \
                       current_total_discounts, financial_status, fulfillment_status, test, source_name, \
                       tags, units, gross_sales, line_discounts, cancelled_returns, cancelled_shipping, \
                       cancelled_taxes, version_at, duties, additional_fees, tips, cancelled_duties, \
                       cancelled_fees) \
             WHERE NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.tenant_id = $1 AND t.store_id = $2 \
                 AND t.resource = 'order' AND t.resource_id = v.order_id) \
             ON CONFLICT (tenant_id, store_id, order_id) DO UPDATE SET \
             name = EXCLUDED.name, order_number = EXCLUDED.order_number, email = EXCLUDED.email, \
             customer_id = EXCLUDED.customer_id, created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at, \
             processed_at = EXCLUDED.processed_at, cancelled_at = EXCLUDED.cancelled_at, \
             cancel_reason = EXCLUDED.cancel_reason, closed_at = EXCLUDED.closed_at, currency = EXCLUDED.currency, \
             presentment_currency = EXCLUDED.presentment_currency, total_price = EXCLUDED.total_price, \
             subtotal_price = EXCLUDED.subtotal_price, total_tax = EXCLUDED.total_tax, \
             total_discounts = EXCLUDED.total_discounts, total_line_items_price = EXCLUDED.total_line_items_price, \
             total_shipping = EXCLUDED.total_shipping, current_total_price = EXCLUDED.current_total_price, \
             current_subtotal_price = EXCLUDED.current_subtotal_price, current_total_tax = EXCLUDED.current_total_tax, \
             current_total_discounts = EXCLUDED.current_total_discounts, financial_status = EXCLUDED.financial_status, \
             fulfillment_status = EXCLUDED.fulfillment_status, test = EXCLUDED.test, \
             source_name = EXCLUDED.source_name, tags = EXCLUDED.tags, units = EXCLUDED.units, \
             gross_sales = EXCLUDED.gross_sales, line_discounts = EXCLUDED.line_discounts, \
             cancelled_returns = EXCLUDED.cancelled_returns, cancelled_shipping = EXCLUDED.cancelled_shipping, \
             cancelled_taxes = EXCLUDED.cancelled_taxes, version_at = EXCLUDED.version_at, \
             duties = EXCLUDED.duties, additional_fees = EXCLUDED.additional_fees, tips = EXCLUDED.tips, \
             cancelled_duties = EXCLUDED.cancelled_duties, cancelled_fees = EXCLUDED.cancelled_fees, \
             ingested_at = now() \
             WHERE (orders.updated_at, COALESCE(orders.version_at, '-infinity')) \
                 <= (EXCLUDED.updated_at, COALESCE(EXCLUDED.version_at, '-infinity')) \
             RETURNING order_id",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(chunk.iter().map(|o| o.order_id).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.name.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.order_number).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.email.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.customer.as_ref().map(|c| c.customer_id)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.created_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.updated_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.processed_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.cancelled_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.cancel_reason.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.closed_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.currency.as_str()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.presentment_currency.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.subtotal_price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_tax).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_discounts).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_line_items_price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.total_shipping).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.current_total_price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.current_subtotal_price).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.current_total_tax).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.current_total_discounts).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.financial_status.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.fulfillment_status.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.test).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.source_name.as_deref()).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| joined_tags(&o.tags)).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.line_items.iter().map(|l| l.quantity).sum::<i32>()).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.gross).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.discounts).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.cancelled_returns).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.cancelled_shipping).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.cancelled_taxes).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.version_at).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.duties).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.additional_fees).collect::<Vec<_>>())
        .bind(chunk.iter().map(|o| o.tips).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.cancelled_duties).collect::<Vec<_>>())
        .bind(sales.iter().map(|s| s.cancelled_fees).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await?;
        if written.is_empty() {
            continue;
        }
        delete_line_items(conn, tenant, store, &written).await?;
        let fresh: Vec<&OrderRecord> = chunk
            .iter()
            .filter(|o| written.contains(&o.order_id))
            .collect();
        let lines: Vec<(&OrderRecord, &LineItemRecord)> = fresh
            .iter()
            .flat_map(|o| o.line_items.iter().map(move |l| (*o, l)))
            .collect();
        insert_line_items(conn, tenant, store, &lines).await?;
        let refunds: Vec<(OrderFacts, RefundRecord)> = fresh
            .iter()
            .flat_map(|o| {
                let facts = OrderFacts {
                    currency: o.currency.clone(),
                    test: o.test,
                };
                o.refunds.iter().map(move |r| (facts.clone(), r.clone()))
            })
            .collect();
        write_refunds(conn, tenant, store, &refunds).await?;
        // The orders' old figures left the product rollup when they were updated (a trigger
        // on `orders`, while their old lines were still there); their new ones go in now.
        product_sales(conn, tenant, store, &written, 1).await?;
    }
    Ok(())
}

/// Adds (1) or takes away (-1) what these orders, with their current lines and refunds,
/// count in the product sales rollup.
pub(crate) async fn product_sales(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    order_ids: &[i64],
    sign: i32,
) -> Result<(), StorageError> {
    sqlx::query("SELECT xeno_product_sales($1, $2, $3, $4)")
        .bind(tenant.0)
        .bind(store.0)
        .bind(order_ids)
        .bind(sign)
        .execute(conn)
        .await?;
    Ok(())
}

/// Locks these orders until the transaction ends, in one order so writers never deadlock:
/// their figures are taken out of the product rollup and put back around a change, and no
/// other writer may change them in between.
pub(crate) async fn lock_orders(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    order_ids: &[i64],
) -> Result<(), StorageError> {
    sqlx::query(
        "SELECT 1 FROM orders WHERE tenant_id = $1 AND store_id = $2 AND order_id = ANY($3) \
         ORDER BY order_id FOR NO KEY UPDATE",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(order_ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// What a refund takes from its order: its currency, and whether the order is a test
/// (refunds of test orders are not returns in the reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFacts {
    pub currency: String,
    pub test: bool,
}

/// Removes the line items of these orders.
pub(crate) async fn delete_line_items(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    order_ids: &[i64],
) -> Result<(), StorageError> {
    sqlx::query(
        "DELETE FROM order_line_items WHERE tenant_id = $1 AND store_id = $2 AND order_id = ANY($3)",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(order_ids)
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts line items (of orders just written, whose old lines are gone), binding one array
/// per column like the orders themselves.
pub(crate) async fn insert_line_items(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    lines: &[(&OrderRecord, &LineItemRecord)],
) -> Result<(), StorageError> {
    if lines.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO order_line_items (tenant_id, store_id, line_item_id, order_id, product_id, variant_id, \
             title, variant_title, sku, vendor, quantity, current_quantity, price, total_discount, currency, \
             gift_card, taxable, discount) \
         SELECT $1, $2, v.* FROM UNNEST($3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], \
             $8::text[], $9::text[], $10::text[], $11::integer[], $12::integer[], $13::numeric[], \
             $14::numeric[], $15::text[], $16::boolean[], $17::boolean[], $18::numeric[]) AS v",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(lines.iter().map(|(_, l)| l.line_item_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|(o, _)| o.order_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.product_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.variant_id).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.title.as_str()).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.variant_title.as_deref()).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.sku.as_deref()).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.vendor.as_deref()).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.quantity).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.current_quantity).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.price).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.total_discount).collect::<Vec<_>>())
    .bind(lines.iter().map(|(o, _)| o.currency.as_str()).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.gift_card).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.taxable).collect::<Vec<_>>())
    .bind(lines.iter().map(|(_, l)| l.discount).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds refunds and their lines, and what they return to the product rollup. Refunds never
/// change, so known ones are left alone, except for duties given back, which refunds stored
/// before Xeno read them lack. Their orders must exist.
pub async fn insert_refunds(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    refunds: &[(OrderFacts, RefundRecord)],
) -> Result<(), StorageError> {
    if refunds.is_empty() {
        return Ok(());
    }
    let mut orders: Vec<i64> = refunds.iter().map(|(_, r)| r.order_id).collect();
    orders.sort_unstable();
    orders.dedup();
    lock_orders(conn, tenant, store, &orders).await?;
    product_sales(conn, tenant, store, &orders, -1).await?;
    write_refunds(conn, tenant, store, refunds).await?;
    product_sales(conn, tenant, store, &orders, 1).await
}

/// Writes refunds and their lines, leaving the product rollup to the caller.
async fn write_refunds(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    refunds: &[(OrderFacts, RefundRecord)],
) -> Result<(), StorageError> {
    for chunk in refunds.chunks(CHUNK) {
        let mut insert = QueryBuilder::new(
            "INSERT INTO refunds (tenant_id, store_id, refund_id, order_id, created_at, processed_at, amount, \
             currency, note, line_subtotal, line_tax, test_order, shipping, shipping_tax, duties) ",
        );
        insert.push_values(chunk, |mut row, (order, r)| {
            row.push_bind(tenant.0)
                .push_bind(store.0)
                .push_bind(r.refund_id)
                .push_bind(r.order_id)
                .push_bind(r.created_at)
                .push_bind(r.processed_at)
                .push_bind(r.amount)
                .push_bind(&order.currency)
                .push_bind(&r.note)
                .push_bind(
                    r.lines
                        .iter()
                        .map(|l| l.subtotal)
                        .sum::<rust_decimal::Decimal>(),
                )
                .push_bind(
                    r.lines
                        .iter()
                        .map(|l| l.total_tax)
                        .sum::<rust_decimal::Decimal>(),
                )
                .push_bind(order.test)
                .push_bind(r.shipping)
                .push_bind(r.shipping_tax)
                .push_bind(r.duties);
        });
        insert.push(
            " ON CONFLICT (tenant_id, store_id, refund_id) DO UPDATE SET duties = EXCLUDED.duties \
             WHERE refunds.duties <> EXCLUDED.duties RETURNING refund_id",
        );
        let inserted = written_keys(conn, insert).await?;
        let lines: Vec<(&String, &RefundRecord, &RefundLineRecord)> = chunk
            .iter()
            .filter(|(_, r)| inserted.contains(&r.refund_id))
            .flat_map(|(o, r)| r.lines.iter().map(move |l| (&o.currency, r, l)))
            .collect();
        for lines in lines.chunks(CHUNK) {
            let mut insert = QueryBuilder::new(
                "INSERT INTO refund_line_items (tenant_id, store_id, refund_id, line_item_id, quantity, subtotal, \
                 total_tax, currency) ",
            );
            insert.push_values(lines, |mut row, (currency, r, l)| {
                row.push_bind(tenant.0)
                    .push_bind(store.0)
                    .push_bind(r.refund_id)
                    .push_bind(l.line_item_id)
                    .push_bind(l.quantity)
                    .push_bind(l.subtotal)
                    .push_bind(l.total_tax)
                    .push_bind(*currency);
            });
            insert.push(" ON CONFLICT DO NOTHING");
            insert.build().execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// What refunds need from the given orders, for those that are stored (refund webhooks do
/// not repeat it).
pub async fn order_facts(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    order_ids: &[i64],
) -> Result<std::collections::HashMap<i64, OrderFacts>, StorageError> {
    let rows: Vec<(i64, String, bool)> = sqlx::query_as(
        "SELECT order_id, currency::text, test FROM orders WHERE tenant_id = $1 AND store_id = $2 AND order_id = ANY($3)",
    )
    .bind(tenant.0)
    .bind(store.0)
    .bind(order_ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, currency, test)| (id, OrderFacts { currency, test }))
        .collect())
}
