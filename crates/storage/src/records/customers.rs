//! Customers: upserts, and the stubs orders need before their customer arrives.

use super::*;

pub(crate) const CUSTOMER_COLUMNS: &str = "tenant_id, store_id, customer_id, email, phone, first_name, last_name, state, \
     verified_email, tags, currency, email_marketing_state, default_address, created_at, updated_at, version_at";

pub(crate) async fn write_customers(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    customers: &[CustomerRecord],
    overwrite: bool,
) -> Result<(), StorageError> {
    let customers = newest(
        customers,
        |c| c.customer_id,
        |c| version(c.updated_at, c.version_at),
    );
    for chunk in customers.chunks(CHUNK) {
        let (mut insert, tail) = guarded_insert(
            "customers",
            CUSTOMER_COLUMNS,
            Resource::Customer,
            "customer_id",
        );
        insert.push_values(chunk, |mut row, c| {
            row.push_bind(tenant.0)
                .push_bind(store.0)
                .push_bind(c.customer_id)
                .push_bind(&c.email)
                .push_bind(&c.phone)
                .push_bind(&c.first_name)
                .push_bind(&c.last_name)
                .push_bind(&c.state)
                .push_bind(c.verified_email)
                .push_bind(&c.tags)
                .push_bind(&c.currency)
                .push_bind(&c.email_marketing_state)
                .push_bind(&c.default_address)
                .push_bind(c.created_at)
                .push_bind(c.updated_at)
                .push_bind(c.version_at);
        });
        insert.push(&tail);
        if overwrite {
            insert.push(
                " ON CONFLICT (tenant_id, store_id, customer_id) DO UPDATE SET \
                 email = EXCLUDED.email, phone = EXCLUDED.phone, first_name = EXCLUDED.first_name, \
                 last_name = EXCLUDED.last_name, state = EXCLUDED.state, verified_email = EXCLUDED.verified_email, \
                 tags = EXCLUDED.tags, currency = EXCLUDED.currency, email_marketing_state = EXCLUDED.email_marketing_state, \
                 default_address = EXCLUDED.default_address, created_at = EXCLUDED.created_at, \
                 updated_at = EXCLUDED.updated_at, version_at = EXCLUDED.version_at, ingested_at = now() \
                 WHERE (customers.updated_at, COALESCE(customers.version_at, '-infinity')) \
                     <= (EXCLUDED.updated_at, COALESCE(EXCLUDED.version_at, '-infinity')) \
                 AND customers.redacted_at IS NULL",
            );
        } else {
            insert.push(" ON CONFLICT DO NOTHING");
        }
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inserts or updates customers unless what is stored is newer, deleted or redacted.
pub async fn upsert_customers(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    customers: &[CustomerRecord],
) -> Result<(), StorageError> {
    write_customers(conn, tenant, store, customers, true).await
}

/// Inserts customers known only from embedded snapshots, never overwriting a full record.
pub async fn insert_customers_if_absent(
    conn: &mut PgConnection,
    tenant: TenantId,
    store: StoreId,
    customers: &[CustomerRecord],
) -> Result<(), StorageError> {
    write_customers(conn, tenant, store, customers, false).await
}

/// Runs a guarded upsert and returns the keys it wrote.
pub(crate) async fn written_keys(
    conn: &mut PgConnection,
    mut query: QueryBuilder<'_, sqlx::Postgres>,
) -> Result<Vec<i64>, StorageError> {
    Ok(query
        .build_query_scalar::<i64>()
        .fetch_all(&mut *conn)
        .await?)
}
