//! Cursor-paginated lists of customers, orders and products.
//!
//! Keyset pagination: a page continues strictly after the last row of the previous one in
//! (sort key, store, id) order, so rows inserted or updated meanwhile never shift a page.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};

use crate::{Db, StorageError};

mod detail;
pub use self::detail::*;

/// Where the previous page stopped: its last row's sort key (as text), store and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub key: Option<String>,
    pub store_id: Uuid,
    pub id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Ascending,
    Descending,
}

/// What every list takes.
#[derive(Debug, Clone)]
pub struct ListQuery<S> {
    pub tenant: TenantId,
    pub store: Option<StoreId>,
    /// Case-insensitive substring of the searchable fields.
    pub search: Option<String>,
    pub sort: S,
    pub direction: Direction,
    pub after: Option<After>,
    pub limit: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustomerSort {
    CreatedAt,
    UpdatedAt,
    Email,
    /// What the customer has spent, net of refunds (summed over currencies).
    Spent,
    /// How many orders they placed.
    Orders,
    /// When they last ordered.
    LastOrder,
    /// Their expected value over the next year (the store's latest fit).
    PredictedValue,
    /// Their chance of still being a customer (the store's latest fit).
    ChanceAlive,
    /// The orders expected of them over the next year (the store's latest fit).
    ExpectedOrders,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderSort {
    ProcessedAt,
    TotalPrice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductSort {
    Title,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerItem {
    pub store_id: Uuid,
    pub customer_id: i64,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub state: Option<String>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub redacted: bool,
    /// Orders that count (not tests) and what they came to, net of refunds.
    pub orders: i64,
    pub spent: Decimal,
    pub currency: Option<String>,
    pub last_order_at: Option<DateTime<Utc>>,
    /// The store's latest fit for them, when they have one (the list reads it; a single
    /// customer's page has its predictions apart).
    #[sqlx(default)]
    pub p_alive: Option<f64>,
    #[sqlx(default)]
    pub expected_orders_365: Option<f64>,
    #[sqlx(default)]
    pub clv_365: Option<Decimal>,
    pub sort_key: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OrderItem {
    pub store_id: Uuid,
    pub order_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub customer_id: Option<i64>,
    pub processed_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub currency: String,
    pub total_price: Decimal,
    pub current_total_price: Decimal,
    pub financial_status: Option<String>,
    pub fulfillment_status: Option<String>,
    pub test: bool,
    pub units: i32,
    pub sort_key: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProductItem {
    pub store_id: Uuid,
    pub product_id: i64,
    pub title: String,
    pub handle: Option<String>,
    pub vendor: Option<String>,
    pub product_type: Option<String>,
    pub status: Option<String>,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub variants: i64,
    pub min_price: Option<Decimal>,
    pub max_price: Option<Decimal>,
    pub sort_key: Option<String>,
}

/// A page of one of the lists, for [`Db::explain_page`].
#[derive(Debug, Clone, Copy)]
pub enum Page<'a> {
    Customers(&'a ListQuery<CustomerSort>),
    Orders(&'a ListQuery<OrderSort>, &'a OrderFilters),
    Products(&'a ListQuery<ProductSort>),
}

/// Orders only: a range of days in each store's zone, and a financial status.
#[derive(Debug, Clone, Default)]
pub struct OrderFilters {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub financial_status: Option<String>,
}

/// The part of a query after its filters: the keyset condition, order and limit.
/// `key` is the sort expression, `cast` its SQL type (the cursor carries it as text). A key
/// that is never null continues with one row comparison and orders plainly, so an index on
/// `(tenant_id, key, store_id, id)` answers a page in either direction by reading the page
/// alone; a nullable key sorts its nulls last either way. Under row-level security,
/// PostgreSQL starts the index scan at the cursor only when the comparison is leakproof
/// (times and ids are; `numeric` comparisons and `lower()` are not): by price or title the
/// index still gives the order, and a deep page reads the rows before its cursor.
fn keyset<S>(
    query: &mut QueryBuilder<'_, Postgres>,
    list: &ListQuery<S>,
    (key, cast, nullable): (&str, &str, bool),
    id: &str,
) {
    let (cmp, order) = match list.direction {
        Direction::Ascending => (">", "ASC"),
        Direction::Descending => ("<", "DESC"),
    };
    if let Some(after) = &list.after {
        match (&after.key, nullable) {
            (Some(value), false) => {
                query.push(format!(" AND ({key}, store_id, {id}) {cmp} ("));
                query.push_bind(value.clone());
                query.push(format!("::{cast}, "));
                query.push_bind(after.store_id);
                query.push(", ");
                query.push_bind(after.id);
                query.push(")");
            }
            // Rows with a null key sort last in either direction (NULLS LAST).
            (Some(value), true) => {
                query.push(format!(" AND (({key} {cmp} "));
                query.push_bind(value.clone());
                query.push(format!("::{cast}) OR ({key} = "));
                query.push_bind(value.clone());
                query.push(format!("::{cast} AND (store_id, {id}) {cmp} ("));
                query.push_bind(after.store_id);
                query.push(", ");
                query.push_bind(after.id);
                query.push(format!(")) OR {key} IS NULL)"));
            }
            (None, _) => {
                query.push(format!(" AND {key} IS NULL AND (store_id, {id}) {cmp} ("));
                query.push_bind(after.store_id);
                query.push(", ");
                query.push_bind(after.id);
                query.push(")");
            }
        }
    }
    let nulls = if nullable { " NULLS LAST" } else { "" };
    query.push(format!(
        " ORDER BY {key} {order}{nulls}, store_id {order}, {id} {order} LIMIT "
    ));
    query.push_bind(list.limit);
}

fn scoped<S>(query: &mut QueryBuilder<'_, Postgres>, list: &ListQuery<S>) {
    query.push(" WHERE tenant_id = ");
    query.push_bind(list.tenant.0);
    if let Some(store) = list.store {
        query.push(" AND store_id = ");
        query.push_bind(store.0);
    }
}

/// `%text%` for ILIKE, with the pattern characters in `text` taken literally.
fn contains(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

impl Db {
    pub async fn list_customers(
        &self,
        list: &ListQuery<CustomerSort>,
    ) -> Result<Vec<CustomerItem>, StorageError> {
        let mut query = QueryBuilder::new("");
        push_customers_page(&mut query, list);
        self.fetch_page(list.tenant, query).await
    }

    pub async fn list_orders(
        &self,
        list: &ListQuery<OrderSort>,
        filters: &OrderFilters,
    ) -> Result<Vec<OrderItem>, StorageError> {
        let mut query = QueryBuilder::new("");
        push_orders_page(&mut query, list, filters);
        self.fetch_page(list.tenant, query).await
    }

    pub async fn list_products(
        &self,
        list: &ListQuery<ProductSort>,
    ) -> Result<Vec<ProductItem>, StorageError> {
        let mut query = QueryBuilder::new("");
        push_products_page(&mut query, list);
        self.fetch_page(list.tenant, query).await
    }

    /// How PostgreSQL answers a page of a list, executed (`EXPLAIN ANALYZE`, as JSON): what
    /// an operator reads to see that a page costs the page, and what the tests check.
    pub async fn explain_page(&self, page: Page<'_>) -> Result<serde_json::Value, StorageError> {
        let mut query = QueryBuilder::new("EXPLAIN (ANALYZE, FORMAT JSON) ");
        let tenant = match page {
            Page::Customers(list) => {
                push_customers_page(&mut query, list);
                list.tenant
            }
            Page::Orders(list, filters) => {
                push_orders_page(&mut query, list, filters);
                list.tenant
            }
            Page::Products(list) => {
                push_products_page(&mut query, list);
                list.tenant
            }
        };
        let mut tx = self.list_tx(tenant).await?;
        sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
        let plan: serde_json::Value = query.build_query_scalar().fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(plan)
    }

    async fn fetch_page<T>(
        &self,
        tenant: TenantId,
        mut query: QueryBuilder<'_, Postgres>,
    ) -> Result<Vec<T>, StorageError>
    where
        T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
    {
        let mut tx = self.list_tx(tenant).await?;
        // A page is a short query: compiling it (JIT) cost more than running it (90 ms of a
        // 160 ms customers page at 100,000 customers).
        sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
        let rows = query.build_query_as().fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok(rows)
    }
}

/// A page of customers, pushed onto `query`.
fn push_customers_page(query: &mut QueryBuilder<'_, Postgres>, list: &ListQuery<CustomerSort>) {
    // Spend, orders and last order come from the buyer summaries the write path keeps,
    // joined once (a hash join over the tenant's buyers: a correlated lookup per customer
    // took twice as long); a customer who never ordered has none and sorts last.
    let sort = match list.sort {
        CustomerSort::CreatedAt => ("created_at", "timestamptz", false),
        CustomerSort::UpdatedAt => ("updated_at", "timestamptz", false),
        CustomerSort::Email => ("lower(email)", "text", true),
        CustomerSort::Spent => ("b.b_spent", "numeric", true),
        CustomerSort::Orders => ("b.b_orders", "numeric", true),
        CustomerSort::LastOrder => ("b.b_last_order_at", "timestamptz", true),
        CustomerSort::PredictedValue => ("cp.clv_365", "numeric", true),
        CustomerSort::ChanceAlive => ("cp.p_alive", "double precision", true),
        CustomerSort::ExpectedOrders => ("cp.expected_orders_365", "double precision", true),
    };
    let key = sort.0;
    query.push(format!(
        "SELECT c.*, s.orders, s.spent, s.currency, s.last_order_at, p.p_alive,
                p.expected_orders_365, p.clv_365 FROM (
            SELECT tenant_id, store_id, customer_id, email, first_name, last_name, state, tags,
                   created_at, updated_at, redacted_at IS NOT NULL AS redacted,
                   ({key})::text AS sort_key, ({key}) AS sort_value
            FROM customers"
    ));
    if matches!(
        list.sort,
        CustomerSort::Spent | CustomerSort::Orders | CustomerSort::LastOrder
    ) {
        // Columns renamed, so the keyset's unqualified store_id and customer_id stay the
        // customer's.
        query.push(
            " LEFT JOIN (SELECT s.store_id AS b_store, s.customer_id AS b_customer,
                    sum(s.spent) AS b_spent, sum(s.orders) AS b_orders,
                    max(h.last_order_at) AS b_last_order_at
                FROM buyer_spend s LEFT JOIN buyer_history h ON h.tenant_id = s.tenant_id
                    AND h.store_id = s.store_id AND h.customer_id = s.customer_id
                WHERE s.tenant_id = ",
        );
        query.push_bind(list.tenant.0);
        query.push(
            " GROUP BY 1, 2) b ON b.b_store = customers.store_id AND b.b_customer = customers.customer_id",
        );
    }
    if matches!(
        list.sort,
        CustomerSort::PredictedValue | CustomerSort::ChanceAlive | CustomerSort::ExpectedOrders
    ) {
        query.push(
            " LEFT JOIN (SELECT store_id AS cp_store, customer_id AS cp_customer, clv_365,
                    p_alive, expected_orders_365
                FROM customer_predictions WHERE tenant_id = ",
        );
        query.push_bind(list.tenant.0);
        query.push(
            ") cp ON cp.cp_store = customers.store_id AND cp.cp_customer = customers.customer_id",
        );
    }
    scoped(query, list);
    if let Some(search) = &list.search {
        let pattern = contains(search);
        query.push(" AND (email ILIKE ");
        query.push_bind(pattern.clone());
        query.push(" OR (coalesce(first_name, '') || ' ' || coalesce(last_name, '')) ILIKE ");
        query.push_bind(pattern);
        query.push(")");
    }
    keyset(query, list, sort, "customer_id");
    query.push(format!(
        ") c LEFT JOIN LATERAL (
            SELECT count(*) AS orders, COALESCE(sum(o.current_total_price), 0) AS spent,
                   min(o.currency::text) AS currency, max(o.processed_at) AS last_order_at
            FROM orders o WHERE o.tenant_id = c.tenant_id AND o.store_id = c.store_id
                AND o.customer_id = c.customer_id AND NOT o.test) s ON true
         LEFT JOIN customer_predictions p ON p.tenant_id = c.tenant_id
            AND p.store_id = c.store_id AND p.customer_id = c.customer_id
         ORDER BY c.sort_value {order} NULLS LAST, c.store_id {order}, c.customer_id {order}",
        order = order_word(list.direction)
    ));
}

/// A page of orders, pushed onto `query`.
fn push_orders_page(
    query: &mut QueryBuilder<'_, Postgres>,
    list: &ListQuery<OrderSort>,
    filters: &OrderFilters,
) {
    let sort = match list.sort {
        OrderSort::ProcessedAt => ("processed_at", "timestamptz", false),
        OrderSort::TotalPrice => ("total_price", "numeric", false),
    };
    let key = sort.0;
    query.push(format!(
        "SELECT store_id, order_id, name, email, customer_id, processed_at, cancelled_at,
                currency::text AS currency, total_price, current_total_price, financial_status,
                fulfillment_status, test, units, ({key})::text AS sort_key
         FROM orders o"
    ));
    scoped(query, list);
    if let Some(search) = &list.search {
        let pattern = contains(search);
        query.push(" AND (name ILIKE ");
        query.push_bind(pattern.clone());
        query.push(" OR email ILIKE ");
        query.push_bind(pattern);
        query.push(")");
    }
    if let Some(status) = &filters.financial_status {
        query.push(" AND financial_status = ");
        query.push_bind(status.clone());
    }
    // Days in each store's own zone, as the insights read them.
    if let Some(from) = filters.from {
        query.push(" AND processed_at >= (SELECT (");
        query.push_bind(from);
        query.push(
            "::date)::timestamp AT TIME ZONE COALESCE(s.iana_timezone, 'UTC') \
             FROM stores s WHERE s.tenant_id = o.tenant_id AND s.store_id = o.store_id)",
        );
    }
    if let Some(to) = filters.to {
        query.push(" AND processed_at < (SELECT (");
        query.push_bind(to);
        query.push(
            "::date + 1)::timestamp AT TIME ZONE COALESCE(s.iana_timezone, 'UTC') \
             FROM stores s WHERE s.tenant_id = o.tenant_id AND s.store_id = o.store_id)",
        );
    }
    keyset(query, list, sort, "order_id");
}

/// A page of products, pushed onto `query`.
fn push_products_page(query: &mut QueryBuilder<'_, Postgres>, list: &ListQuery<ProductSort>) {
    let sort = match list.sort {
        ProductSort::Title => ("lower(title)", "text", false),
        ProductSort::CreatedAt => ("created_at", "timestamptz", false),
        ProductSort::UpdatedAt => ("updated_at", "timestamptz", false),
    };
    let key = sort.0;
    query.push(format!(
        "SELECT p.*, v.variants, v.min_price, v.max_price FROM (
            SELECT tenant_id, store_id, product_id, title, handle, vendor, product_type, status, tags,
                   created_at, updated_at, ({key})::text AS sort_key
            FROM products"
    ));
    scoped(query, list);
    if let Some(search) = &list.search {
        let pattern = contains(search);
        query.push(" AND (title ILIKE ");
        query.push_bind(pattern.clone());
        query.push(" OR vendor ILIKE ");
        query.push_bind(pattern);
        query.push(")");
    }
    keyset(query, list, sort, "product_id");
    query.push(format!(
        ") p LEFT JOIN LATERAL (
            SELECT count(*) AS variants, min(price) AS min_price, max(price) AS max_price
            FROM product_variants v WHERE v.tenant_id = p.tenant_id AND v.store_id = p.store_id
                AND v.product_id = p.product_id) v ON true
         ORDER BY {key} {order} NULLS LAST, p.store_id {order}, p.product_id {order}",
        order = order_word(list.direction)
    ));
}

fn order_word(direction: Direction) -> &'static str {
    match direction {
        Direction::Ascending => "ASC",
        Direction::Descending => "DESC",
    }
}
