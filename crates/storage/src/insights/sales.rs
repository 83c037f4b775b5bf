//! Sales per store-local day, from the daily rollups.

use xeno_domain::sales::{CurrencyDay, DaySales};

use super::*;

/// Summed `daily_sales` figures of one day and currency, as reports and reconciliation read
/// them.
#[derive(sqlx::FromRow)]
pub(crate) struct SalesRow {
    pub(crate) day: NaiveDate,
    currency: String,
    orders: i64,
    gross: Decimal,
    discounts: Decimal,
    returns: Decimal,
    shipping: Decimal,
    taxes: Decimal,
    duties: Decimal,
    additional_fees: Decimal,
    units: i64,
}

/// The select list that makes a [`SalesRow`] of `daily_sales` grouped by day and currency.
pub(crate) const SALES_COLUMNS: &str = "day, currency::text AS currency, \
    sum(orders)::bigint AS orders, sum(gross) AS gross, sum(discounts) AS discounts, \
    sum(returns) AS returns, sum(shipping) AS shipping, sum(taxes) AS taxes, \
    sum(duties) AS duties, sum(additional_fees) AS additional_fees, sum(units)::bigint AS units";

impl From<SalesRow> for CurrencyDay {
    fn from(row: SalesRow) -> Self {
        CurrencyDay {
            day: row.day,
            currency: row.currency,
            sales: DaySales {
                orders: row.orders,
                gross: row.gross,
                discounts: row.discounts,
                returns: row.returns,
                shipping: row.shipping,
                taxes: row.taxes,
                duties: row.duties,
                additional_fees: row.additional_fees,
                units: row.units,
            },
        }
    }
}

impl Db {
    /// Sales per day and currency, only days that have any.
    pub async fn daily_sales(&self, scope: &Scope) -> Result<Vec<CurrencyDay>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let rows: Vec<SalesRow> = sqlx::query_as(&format!(
            "SELECT {SALES_COLUMNS} FROM daily_sales \
             WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2) \
             AND day BETWEEN $3 AND $4 GROUP BY day, currency ORDER BY day, currency"
        ))
        .bind(scope.tenant.0)
        .bind(scope.store.map(|s| s.0))
        .bind(scope.from)
        .bind(scope.to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows.into_iter().map(CurrencyDay::from).collect())
    }
}
