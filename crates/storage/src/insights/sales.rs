//! Sales per store-local day, from the daily rollups.

use xeno_domain::sales::{CurrencyDay, DaySales};

use super::*;

impl Db {
    /// Sales per day and currency, only days that have any.
    pub async fn daily_sales(&self, scope: &Scope) -> Result<Vec<CurrencyDay>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        type Row = (
            NaiveDate,
            String,
            i64,
            Decimal,
            Decimal,
            Decimal,
            Decimal,
            Decimal,
            i64,
        );
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT day, currency::text AS currency, sum(orders)::bigint AS orders, sum(gross) AS gross, \
             sum(discounts) AS discounts, sum(returns) AS returns, sum(shipping) AS shipping, \
             sum(taxes) AS taxes, sum(units)::bigint AS units \
             FROM daily_sales WHERE tenant_id = $1 AND ($2::uuid IS NULL OR store_id = $2) \
             AND day BETWEEN $3 AND $4 GROUP BY day, currency ORDER BY day, currency",
        )
        .bind(scope.tenant.0)
        .bind(scope.store.map(|s| s.0))
        .bind(scope.from)
        .bind(scope.to)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows
            .into_iter()
            .map(
                |(day, currency, orders, gross, discounts, returns, shipping, taxes, units)| {
                    CurrencyDay {
                        day,
                        currency,
                        sales: DaySales {
                            orders,
                            gross,
                            discounts,
                            returns,
                            shipping,
                            taxes,
                            units,
                        },
                    }
                },
            )
            .collect())
    }
}
