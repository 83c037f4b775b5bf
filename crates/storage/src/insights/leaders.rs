//! Top customers by spend in a range.

use super::*;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TopCustomer {
    pub store_id: Uuid,
    pub customer_id: i64,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub currency: String,
    pub orders: i64,
    /// What the orders placed in the range came to, net of their refunds.
    pub spent: Decimal,
    pub last_order_at: DateTime<Utc>,
}

/// A buyer's orders in a range, in one currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Leader {
    pub(crate) store_id: Uuid,
    pub(crate) customer_id: i64,
    pub(crate) orders: i64,
    pub(crate) spent: Decimal,
    pub(crate) last_order_at: DateTime<Utc>,
}

impl Leader {
    /// The ranking: most spent, then most orders, then a stable order.
    pub(crate) fn rank(a: &Leader, b: &Leader) -> std::cmp::Ordering {
        b.spent
            .cmp(&a.spent)
            .then(b.orders.cmp(&a.orders))
            .then(a.store_id.cmp(&b.store_id))
            .then(a.customer_id.cmp(&b.customer_id))
    }
}

/// A customer's name and email, when Xeno has the customer.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Name {
    pub(crate) first_name: Option<String>,
    pub(crate) last_name: Option<String>,
    pub(crate) email: Option<String>,
}

/// A candidate from the lifetime ranking, with what they did in the range.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Candidate {
    pub(crate) store_id: Uuid,
    pub(crate) customer_id: i64,
    pub(crate) lifetime: Decimal,
    pub(crate) orders: i64,
    pub(crate) spent: Decimal,
    pub(crate) last_order_at: Option<DateTime<Utc>>,
}

/// The range's top spenders in `currency`, found by walking buyers from the largest lifetime
/// spend down (what anyone spent in a range is at most what they spent in all) and stopping
/// once the last leader spent more in the range than anyone left has in all. `None` when that
/// takes too many candidates.
pub(crate) async fn leaders_by_lifetime(
    conn: &mut PgConnection,
    tenant: TenantId,
    bounds: &[Bounds],
    currency: &str,
    limit: i64,
    limits: ReportLimits,
) -> Result<Option<Vec<Leader>>, StorageError> {
    let stores: Vec<Uuid> = bounds.iter().map(|b| b.store_id).collect();
    let mut leaders: Vec<Leader> = Vec::new();
    let mut after: Option<(Decimal, Uuid, i64)> = None;
    let (mut round, mut examined) = (limits.first_candidates.max(1), 0);
    loop {
        let mut query = QueryBuilder::new("");
        push_zones_cte(&mut query, bounds);
        query.push(
            ", candidates AS (
                SELECT b.store_id, b.customer_id, b.spent FROM buyer_spend b WHERE b.tenant_id = ",
        );
        query.push_bind(tenant.0);
        query.push(" AND b.currency = ");
        query.push_bind(currency);
        // As the column's own type (char(3)), so its indexes apply.
        query.push("::bpchar");
        query.push(" AND b.store_id = ANY(");
        query.push_bind(&stores);
        query.push(")");
        if let Some((spent, store, customer)) = after {
            query.push(" AND (b.spent, b.store_id, b.customer_id) < (");
            query.push_bind(spent);
            query.push(", ");
            query.push_bind(store);
            query.push(", ");
            query.push_bind(customer);
            query.push(")");
        }
        query.push(" ORDER BY b.spent DESC, b.store_id DESC, b.customer_id DESC LIMIT ");
        query.push_bind(round);
        query.push(
            ")
             SELECT c.store_id, c.customer_id, c.spent AS lifetime, r.orders, r.spent,
                    r.last_order_at
             FROM candidates c JOIN z ON z.store_id = c.store_id CROSS JOIN LATERAL (
                SELECT count(*) AS orders, COALESCE(sum(o.current_total_price), 0) AS spent,
                       max(o.processed_at) AS last_order_at
                FROM orders o WHERE o.tenant_id = ",
        );
        query.push_bind(tenant.0);
        query.push(
            " AND o.store_id = c.store_id AND o.customer_id = c.customer_id
                    AND o.processed_at >= z.lo AND o.processed_at < z.hi AND NOT o.test
                    AND o.currency = ",
        );
        query.push_bind(currency);
        query.push("::bpchar");
        query.push(") r ORDER BY c.spent DESC, c.store_id DESC, c.customer_id DESC");
        let candidates: Vec<Candidate> = query.build_query_as().fetch_all(&mut *conn).await?;
        let exhausted = (candidates.len() as i64) < round;
        let Some(last) = candidates.last() else {
            break;
        };
        let bound = last.lifetime;
        after = Some((last.lifetime, last.store_id, last.customer_id));
        for c in candidates {
            if let Some(last_order_at) = c.last_order_at {
                leaders.push(Leader {
                    store_id: c.store_id,
                    customer_id: c.customer_id,
                    orders: c.orders,
                    spent: c.spent,
                    last_order_at,
                });
            }
        }
        leaders.sort_by(Leader::rank);
        leaders.truncate(limit as usize);
        // Anyone not yet seen spent at most `bound` in all, so at most that in the range: if
        // the last leader spent more, nobody left can take a place (or tie for one).
        let settled = leaders.len() as i64 == limit && leaders[leaders.len() - 1].spent > bound;
        if exhausted || settled {
            break;
        }
        examined += round;
        if examined >= limits.max_candidates {
            return Ok(None);
        }
        round *= 2;
    }
    Ok(Some(leaders))
}

/// The range's top spenders in `currency` from all its orders.
pub(crate) async fn leaders_by_aggregate(
    conn: &mut PgConnection,
    tenant: TenantId,
    bounds: &[Bounds],
    currency: &str,
    limit: i64,
) -> Result<Vec<Leader>, StorageError> {
    let mut query = QueryBuilder::new(
        "SELECT o.store_id, o.customer_id, count(*) AS orders, sum(o.current_total_price) AS spent,
                max(o.processed_at) AS last_order_at
         FROM ",
    );
    push_range_orders(&mut query, tenant, bounds);
    query.push(" WHERE o.customer_id IS NOT NULL AND o.currency = ");
    query.push_bind(currency);
    query.push("::bpchar");
    query.push(" GROUP BY 1, 2 ORDER BY spent DESC, orders DESC, o.store_id, o.customer_id LIMIT ");
    query.push_bind(limit);
    Ok(query.build_query_as().fetch_all(conn).await?)
}

impl Db {
    /// The biggest spenders in the range, `limit` per currency (spend in different
    /// currencies is never ranked together).
    pub async fn top_customers(
        &self,
        scope: &Scope,
        limit: i64,
    ) -> Result<Vec<TopCustomer>, StorageError> {
        let mut tx = self.report_tx(scope.tenant).await?;
        let bounds = bounds(&mut tx, scope).await?;
        if bounds.is_empty() {
            return Ok(Vec::new());
        }
        let stores: Vec<Uuid> = bounds.iter().map(|b| b.store_id).collect();
        // The range's currencies and orders, from its few rollup rows.
        let currencies: Vec<(String, i64)> = sqlx::query_as(
            "SELECT currency::text, sum(orders)::bigint FROM daily_sales WHERE tenant_id = $1 \
             AND store_id = ANY($2) AND day BETWEEN $3 AND $4 GROUP BY 1 ORDER BY 1",
        )
        .bind(scope.tenant.0)
        .bind(&stores)
        .bind(scope.from)
        .bind(scope.to)
        .fetch_all(&mut *tx)
        .await?;
        let mut leaders = Vec::new();
        for (currency, orders) in currencies {
            let walked = if orders <= self.report_limits.aggregate_below {
                None
            } else {
                leaders_by_lifetime(
                    &mut tx,
                    scope.tenant,
                    &bounds,
                    &currency,
                    limit,
                    self.report_limits,
                )
                .await?
            };
            let found = match walked {
                Some(found) => found,
                None => {
                    leaders_by_aggregate(&mut tx, scope.tenant, &bounds, &currency, limit).await?
                }
            };
            leaders.extend(found.into_iter().map(|l| (currency.clone(), l)));
        }
        // One row per leader, in the leaders' order (a customer may be unknown: None).
        let names: Vec<Name> = sqlx::query_as(
            "SELECT c.first_name, c.last_name, c.email \
             FROM unnest($2::uuid[], $3::bigint[]) WITH ORDINALITY AS l (store_id, customer_id, n) \
             LEFT JOIN customers c ON c.tenant_id = $1 AND c.store_id = l.store_id \
             AND c.customer_id = l.customer_id ORDER BY l.n",
        )
        .bind(scope.tenant.0)
        .bind(leaders.iter().map(|(_, l)| l.store_id).collect::<Vec<_>>())
        .bind(
            leaders
                .iter()
                .map(|(_, l)| l.customer_id)
                .collect::<Vec<_>>(),
        )
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(leaders
            .into_iter()
            .zip(names)
            .map(|((currency, l), name)| TopCustomer {
                store_id: l.store_id,
                customer_id: l.customer_id,
                first_name: name.first_name,
                last_name: name.last_name,
                email: name.email,
                currency,
                orders: l.orders,
                spent: l.spent,
                last_order_at: l.last_order_at,
            })
            .collect())
    }
}
