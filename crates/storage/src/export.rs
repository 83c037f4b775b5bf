//! Everything of a tenant, table by table, as CSV: what an owner takes away. Secrets (password,
//! token and key hashes, sealed Shopify tokens) are left out.

use futures_util::StreamExt;
use xeno_domain::ids::TenantId;

use crate::{Db, StorageError};

/// Columns never exported: credentials, even hashed or sealed.
const SECRET_COLUMNS: &[&str] = &[
    "password_hash",
    "refresh_hash",
    "secret_hash",
    "token_hash",
    "access_token",
    "refresh_token",
    "webhook_secret",
];

/// A piece of an export, in order: a table begins, then its CSV in chunks.
#[derive(Debug)]
pub enum ExportPart {
    Table(String),
    Chunk(bytes::Bytes),
}

impl Db {
    /// Each table that has a `tenant_id` (read from the catalog, so new tables are covered)
    /// with the tenant's rows as CSV with a header, sent as they are read: the export is never
    /// whole in memory. Stops early (without error) when the receiver is gone.
    pub async fn export_tenant(
        &self,
        tenant: TenantId,
        parts: tokio::sync::mpsc::Sender<ExportPart>,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c \
             JOIN information_schema.tables t \
                 ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
             WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' \
                 AND c.table_name IN (SELECT table_name FROM information_schema.columns \
                     WHERE table_schema = 'public' AND column_name = 'tenant_id') \
             ORDER BY c.table_name, c.ordinal_position",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut tables: Vec<(String, Vec<String>)> = Vec::new();
        for (table, column) in columns {
            if SECRET_COLUMNS.contains(&column.as_str()) {
                continue;
            }
            match tables.last_mut() {
                Some((name, list)) if *name == table => list.push(column),
                _ => tables.push((table, vec![column])),
            }
        }
        for (table, list) in tables {
            let mut columns = list
                .iter()
                .map(|c| format!("\"{table}\".\"{}\"", c.replace('"', "\"\"")))
                .collect::<Vec<_>>()
                .join(", ");
            let mut from = format!("\"{table}\"");
            // A member's email is the person's, kept outside the tenant.
            if table == "users" {
                columns.push_str(", people.email");
                from.push_str(" JOIN people USING (user_id)");
            }
            // The tenant id is a UUID the caller holds, and the names come from the catalog.
            let statement = format!(
                "COPY (SELECT {columns} FROM {from} WHERE \"{table}\".tenant_id = '{}') TO STDOUT WITH (FORMAT csv, HEADER)",
                tenant.0
            );
            if parts.send(ExportPart::Table(table)).await.is_err() {
                return Ok(());
            }
            let mut stream = tx.copy_out_raw(&statement).await?;
            while let Some(chunk) = stream.next().await {
                if parts.send(ExportPart::Chunk(chunk?)).await.is_err() {
                    return Ok(());
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
