//! Best-selling products per currency, net of allocated discounts and returns.

use chrono::Datelike;

use super::*;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TopProduct {
    pub store_id: Uuid,
    pub product_id: Option<i64>,
    /// With [`ProductGrouping::Variant`]: the variant, and its title (its option values).
    pub variant_id: Option<i64>,
    pub variant_title: Option<String>,
    pub title: String,
    pub currency: String,
    pub orders: i64,
    pub units: i64,
    /// Line price × quantity less line discounts.
    pub revenue: Decimal,
}

/// Whether sales are summed per product or per variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProductGrouping {
    #[default]
    Product,
    Variant,
}

/// Which way products are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductRank {
    Revenue,
    Units,
}

impl Db {
    /// The best-selling products (or variants) in the range, `limit` per currency; with
    /// `only`, just those products (store, product id), each one that sold. Read from the
    /// product rollup: whole months from its month rows, the edge days from its day rows.
    pub async fn top_products(
        &self,
        scope: &Scope,
        (grouping, rank): (ProductGrouping, ProductRank),
        limit: i64,
        only: Option<&[(Uuid, i64)]>,
    ) -> Result<Vec<TopProduct>, StorageError> {
        // Per variant, rows are told apart by their variant too; per product, not at all,
        // and an order with several of its variants counts once.
        let (variant, variant_title, orders) = match grouping {
            ProductGrouping::Product => ("NULL::bigint", "NULL::text", "product_orders"),
            ProductGrouping::Variant => ("variant_id", "min(line_variant_title)", "orders"),
        };
        let order = match rank {
            ProductRank::Revenue => "revenue DESC, units DESC",
            ProductRank::Units => "units DESC, revenue DESC",
        };
        let months = WholeMonths::of(scope.from, scope.to);
        let mut query = QueryBuilder::new(format!(
            "WITH net AS (
                SELECT store_id, product_id, {variant} AS variant_id, currency::text AS currency,
                       min(line_title) AS line_title, {variant_title} AS line_variant_title,
                       sum({orders})::bigint AS orders, sum(units)::bigint AS units,
                       sum(revenue) - sum(returns) AS revenue
                FROM product_sales WHERE tenant_id = "
        ));
        query.push_bind(scope.tenant.0);
        if let Some(store) = scope.store {
            query.push(" AND store_id = ").push_bind(store.0);
        }
        query.push(" AND ((period = 'month' AND starts >= ");
        query
            .push_bind(months.first)
            .push(" AND starts < ")
            .push_bind(months.end);
        query
            .push(") OR (period = 'day' AND ((starts >= ")
            .push_bind(scope.from);
        query.push(" AND starts < ").push_bind(months.first);
        query.push(") OR (starts >= ").push_bind(months.end);
        query
            .push(" AND starts <= ")
            .push_bind(scope.to)
            .push(")))) ");
        if let Some(only) = only {
            let (stores, ids): (Vec<Uuid>, Vec<i64>) = only.iter().copied().unzip();
            query.push(" AND (store_id, product_id) IN (SELECT * FROM unnest(");
            query.push_bind(stores);
            query.push("::uuid[], ");
            query.push_bind(ids);
            query.push("::bigint[]))");
        }
        query.push(format!(
            " GROUP BY 1, 2, 3, 4 HAVING sum(lines) > 0),
             ranked AS (
                SELECT s.*, row_number() OVER (PARTITION BY currency
                    ORDER BY {order}, store_id, product_id NULLS LAST, variant_id NULLS LAST) AS rank
                FROM net s)
             SELECT r.store_id, r.product_id, r.variant_id, COALESCE(p.title, r.line_title) AS title,
                    COALESCE(v.title, r.line_variant_title) AS variant_title, r.currency,
                    r.orders, r.units, r.revenue
             FROM ranked r LEFT JOIN products p ON p.tenant_id = "
        ));
        query.push_bind(scope.tenant.0);
        query.push(" AND p.store_id = r.store_id AND p.product_id = r.product_id");
        query.push(" LEFT JOIN product_variants v ON v.tenant_id = ");
        query.push_bind(scope.tenant.0);
        query.push(" AND v.store_id = r.store_id AND v.variant_id = r.variant_id WHERE r.rank <= ");
        query.push_bind(limit);
        query.push(" ORDER BY r.currency, r.rank");
        let mut tx = self.report_tx(scope.tenant).await?;
        let rows = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }
}

/// The calendar months wholly inside a range of days, `[first, end)` as the first days of
/// months; the range's other days are its edges. With none, both are the day after the
/// range, so every day of it is an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct WholeMonths {
    first: NaiveDate,
    end: NaiveDate,
}

impl WholeMonths {
    fn of(from: NaiveDate, to: NaiveDate) -> Self {
        let month_start = |d: NaiveDate| d.with_day(1).unwrap_or(d);
        let next_month = |d: NaiveDate| month_start(d) + chrono::Months::new(1);
        let first = if from.day() == 1 {
            from
        } else {
            next_month(from)
        };
        let after = to.succ_opt().unwrap_or(to);
        let end = month_start(after);
        if first < end {
            Self { first, end }
        } else {
            Self {
                first: after,
                end: after,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn a_range_splits_into_whole_months_and_edge_days() {
        let months = |from, to| {
            let m = WholeMonths::of(d(from), d(to));
            (m.first.to_string(), m.end.to_string())
        };
        // Whole months only.
        assert_eq!(
            months("2026-08-01", "2026-11-30"),
            ("2026-08-01".into(), "2026-12-01".into())
        );
        // Edges on both sides of October.
        assert_eq!(
            months("2026-09-12", "2026-11-03"),
            ("2026-10-01".into(), "2026-11-01".into())
        );
        // Inside one month: all edge days.
        assert_eq!(
            months("2026-10-05", "2026-10-20"),
            ("2026-10-21".into(), "2026-10-21".into())
        );
        // A leap February to the end of a year.
        assert_eq!(
            months("2028-02-01", "2028-12-31"),
            ("2028-02-01".into(), "2029-01-01".into())
        );
        // One day short of a whole month.
        assert_eq!(
            months("2026-10-01", "2026-10-30"),
            ("2026-10-31".into(), "2026-10-31".into())
        );
    }
}
