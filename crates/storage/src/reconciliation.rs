//! Reconciliation with Shopify Analytics: Xeno's daily figures for the comparison, and each
//! store's latest result.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::types::Json;
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_domain::reconciliation::Mismatch;
use xeno_domain::sales::{CurrencyDay, DaySales};

use crate::insights::{SalesRow, SALES_COLUMNS};
use crate::{Db, StorageError};

/// A store's latest check.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReconciliationRow {
    pub store_id: Uuid,
    pub checked_at: DateTime<Utc>,
    /// `matched`, `mismatched`, `not_checked` or `failed`.
    pub status: String,
    pub window_from: Option<NaiveDate>,
    pub window_to: Option<NaiveDate>,
    pub days_checked: i32,
    pub days_matched: i32,
    pub mismatches: Json<Vec<Mismatch>>,
    pub detail: Option<String>,
}

/// What a check found, to be stored as the store's latest.
#[derive(Debug, Clone)]
pub struct NewReconciliation {
    pub status: &'static str,
    pub window: Option<(NaiveDate, NaiveDate)>,
    pub days_checked: i64,
    pub days_matched: i64,
    pub mismatches: Vec<Mismatch>,
    pub detail: Option<String>,
}

impl Db {
    /// A store's daily sales in `currency` from `from` to `to`, as the rollups hold them.
    pub async fn store_daily_sales(
        &self,
        tenant: TenantId,
        store: StoreId,
        currency: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<BTreeMap<NaiveDate, DaySales>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows: Vec<SalesRow> = sqlx::query_as(&format!(
            "SELECT {SALES_COLUMNS} FROM daily_sales \
             WHERE tenant_id = $1 AND store_id = $2 AND currency = $3 AND day BETWEEN $4 AND $5 \
             GROUP BY day, currency"
        ))
        .bind(tenant.0)
        .bind(store.0)
        .bind(currency)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.day, CurrencyDay::from(row).sales))
            .collect())
    }

    /// The first day with any sale of the store, or of any of the tenant's stores (their
    /// history's start). Read in the answer's snapshot when there is one.
    pub async fn first_sales_day(
        &self,
        tenant: TenantId,
        store: Option<StoreId>,
    ) -> Result<Option<NaiveDate>, StorageError> {
        let mut tx = self.report_tx(tenant).await?;
        let day = sqlx::query_scalar(
            "SELECT min(day) FROM daily_sales WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2)",
        )
        .bind(tenant.0)
        .bind(store.map(|s| s.0))
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(day)
    }

    /// Records a check as the store's latest.
    pub async fn save_reconciliation(
        &self,
        tenant: TenantId,
        store: StoreId,
        check: &NewReconciliation,
    ) -> Result<(), StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        sqlx::query(
            "INSERT INTO reconciliations (tenant_id, store_id, status, window_from, window_to,
                 days_checked, days_matched, mismatches, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (tenant_id, store_id) DO UPDATE SET checked_at = now(),
                 status = EXCLUDED.status, window_from = EXCLUDED.window_from,
                 window_to = EXCLUDED.window_to, days_checked = EXCLUDED.days_checked,
                 days_matched = EXCLUDED.days_matched, mismatches = EXCLUDED.mismatches,
                 detail = EXCLUDED.detail",
        )
        .bind(tenant.0)
        .bind(store.0)
        .bind(check.status)
        .bind(check.window.map(|w| w.0))
        .bind(check.window.map(|w| w.1))
        .bind(i32::try_from(check.days_checked).unwrap_or(i32::MAX))
        .bind(i32::try_from(check.days_matched).unwrap_or(i32::MAX))
        .bind(Json(&check.mismatches))
        .bind(check.detail.as_deref())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest check of each of the tenant's stores (or of one).
    pub async fn reconciliations(
        &self,
        tenant: TenantId,
        store: Option<StoreId>,
    ) -> Result<Vec<ReconciliationRow>, StorageError> {
        let mut tx = self.tenant_tx(tenant).await?;
        let rows = sqlx::query_as(
            "SELECT store_id, checked_at, status, window_from, window_to, days_checked,
                    days_matched, mismatches, detail
             FROM reconciliations WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2)
             ORDER BY store_id",
        )
        .bind(tenant.0)
        .bind(store.map(|s| s.0))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// Days that differ from Shopify's figures in the latest checks, across tenants.
    pub async fn reconciliation_mismatched_days(&self) -> Result<i64, StorageError> {
        Ok(
            sqlx::query_scalar("SELECT xeno_reconciliation_mismatched_days()")
                .fetch_one(self.pool())
                .await?,
        )
    }
}
