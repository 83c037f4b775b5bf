//! The Admin GraphQL schema: the subset of Shopify's types, fields, arguments and names that
//! Xeno uses, each named exactly as in Shopify's Admin API.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{
    Context, EmptySubscription, Enum, Error, ErrorExtensions, InputObject, InputValueError,
    InputValueResult, Interface, Object, OutputType, Result, Scalar, ScalarType, Schema,
    SimpleObject, Union, Value, ID,
};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::{SecondsFormat, Utc};
use tokio::sync::OwnedRwLockReadGuard;

use crate::model::{self, gid, parse_gid};
use crate::search::Search;
use crate::shop::Shop;
use crate::state::{lock, ShopEntry, Sim};

pub type AdminSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

pub fn schema() -> AdminSchema {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .limit_depth(20)
        .finish()
}

/// What every resolver can reach for one request.
pub struct RequestData {
    pub shop: Arc<OwnedRwLockReadGuard<Shop>>,
    pub sim: Arc<Sim>,
    pub entry: Arc<ShopEntry>,
    /// Inside a bulk operation: connections need no `first` and have no page limit.
    pub bulk: bool,
    /// In a bulk export: which part of the root connection this execution covers.
    pub partition: Option<(usize, usize)>,
    pub version: String,
    /// The access token's scopes, comma-separated.
    pub scopes: String,
}

fn data<'a>(ctx: &Context<'a>) -> Result<&'a RequestData> {
    ctx.data::<RequestData>()
}

// ---------------------------------------------------------------------------------------
// Scalars

/// Shopify's `DateTime`: ISO 8601 in UTC.
pub struct DateTime(pub model::Timestamp);

#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(&s)
                .map(DateTime)
                .map_err(|_| InputValueError::custom("invalid DateTime")),
            other => Err(InputValueError::expected_type(other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(
            self.0
                .with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        )
    }
}

macro_rules! decimal_scalar {
    ($rust:ident, $name:literal) => {
        /// A decimal amount sent as a string, as Shopify does.
        pub struct $rust(pub rust_decimal::Decimal);

        #[Scalar(name = $name)]
        impl ScalarType for $rust {
            fn parse(value: Value) -> InputValueResult<Self> {
                match value {
                    Value::String(s) => s
                        .parse()
                        .map($rust)
                        .map_err(|_| InputValueError::custom("invalid decimal")),
                    other => Err(InputValueError::expected_type(other)),
                }
            }
            fn to_value(&self) -> Value {
                Value::String(self.0.to_string())
            }
        }
    };
}
decimal_scalar!(Decimal, "Decimal");
decimal_scalar!(Money, "Money");

/// Shopify's `UnsignedInt64`, sent as a string (it exceeds JavaScript's safe integers).
pub struct UnsignedInt64(pub u64);

#[Scalar(name = "UnsignedInt64")]
impl ScalarType for UnsignedInt64 {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => s
                .parse()
                .map(UnsignedInt64)
                .map_err(|_| InputValueError::custom("invalid UnsignedInt64")),
            other => Err(InputValueError::expected_type(other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.to_string())
    }
}

/// Shopify's `URL` scalar.
pub struct Url(pub String);

#[Scalar(name = "URL")]
impl ScalarType for Url {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) if url::Url::parse(&s).is_ok() => Ok(Url(s)),
            Value::String(_) => Err(InputValueError::custom("invalid URL")),
            other => Err(InputValueError::expected_type(other)),
        }
    }
    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

fn legacy(id: i64) -> UnsignedInt64 {
    UnsignedInt64(id.unsigned_abs())
}

// ---------------------------------------------------------------------------------------
// Money

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CurrencyCode")]
#[allow(clippy::upper_case_acronyms)]
pub enum CurrencyCode {
    USD,
    EUR,
    GBP,
    CAD,
    AUD,
    INR,
    CHF,
    SEK,
    NZD,
    MXN,
    BRL,
    SGD,
    DKK,
    NOK,
    PLN,
    ZAR,
    JPY,
    KRW,
    VND,
    CLP,
    ISK,
}

impl CurrencyCode {
    fn from_code(code: &str) -> Self {
        use CurrencyCode::*;
        match code {
            "EUR" => EUR,
            "GBP" => GBP,
            "CAD" => CAD,
            "AUD" => AUD,
            "INR" => INR,
            "CHF" => CHF,
            "SEK" => SEK,
            "NZD" => NZD,
            "MXN" => MXN,
            "BRL" => BRL,
            "SGD" => SGD,
            "DKK" => DKK,
            "NOK" => NOK,
            "PLN" => PLN,
            "ZAR" => ZAR,
            "JPY" => JPY,
            "KRW" => KRW,
            "VND" => VND,
            "CLP" => CLP,
            "ISK" => ISK,
            _ => USD,
        }
    }
}

#[derive(SimpleObject)]
#[graphql(name = "MoneyV2")]
pub struct MoneyV2 {
    amount: Decimal,
    currency_code: CurrencyCode,
}

#[derive(SimpleObject)]
#[graphql(name = "MoneyBag")]
pub struct MoneyBag {
    shop_money: MoneyV2,
    presentment_money: MoneyV2,
}

fn money_bag(amount: rust_decimal::Decimal, currency: &str) -> MoneyBag {
    let money = || MoneyV2 {
        amount: Decimal(amount),
        currency_code: CurrencyCode::from_code(currency),
    };
    MoneyBag {
        shop_money: money(),
        presentment_money: money(),
    }
}

// ---------------------------------------------------------------------------------------
// Pagination

/// The arguments every connection takes.
pub struct Page {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
    pub reverse: Option<bool>,
    /// A top-level connection: the one a bulk query exports and may split in parts.
    pub root: bool,
}

const MAX_PAGE: i32 = 250;

fn encode_cursor(key: i64, id: i64) -> String {
    BASE64.encode(format!("{key}:{id}"))
}

fn decode_cursor(cursor: &str) -> Result<(i64, i64)> {
    let invalid = || Error::new(format!("Invalid cursor: {cursor}"));
    let text = BASE64.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(text).map_err(|_| invalid())?;
    let (key, id) = text.split_once(':').ok_or_else(invalid)?;
    Ok((
        key.parse().map_err(|_| invalid())?,
        id.parse().map_err(|_| invalid())?,
    ))
}

/// Pages `items` (sort key, id, value) by cursor. A cursor names a position by value, so
/// inserts elsewhere never shift a page: every record appears exactly once.
pub fn paginate<T, N: OutputType>(
    ctx: &Context<'_>,
    mut items: Vec<(i64, i64, T)>,
    page: &Page,
    to_node: impl Fn(T) -> N,
) -> Result<Connection<String, N>> {
    let bulk = data(ctx)?.bulk;
    if !bulk {
        match (page.first, page.last) {
            (None, None) => return Err(Error::new("you must provide one of first or last")),
            (Some(_), Some(_)) => return Err(Error::new("you cannot provide both first and last")),
            _ => {}
        }
        for n in [page.first, page.last].into_iter().flatten() {
            if !(0..=MAX_PAGE).contains(&n) {
                return Err(Error::new(format!(
                    "The first/last argument must be between 0 and {MAX_PAGE} (got {n})"
                )));
            }
        }
    }
    items.sort_unstable_by_key(|(key, id, _)| (*key, *id));
    let reverse = page.reverse.unwrap_or(false);
    if reverse {
        items.reverse();
    }
    // A bulk export runs in parts concurrently; each part takes a contiguous slice.
    if let (true, Some((part, parts))) = (page.root, data(ctx)?.partition) {
        let size = items.len().div_ceil(parts.max(1));
        let start = (part * size).min(items.len());
        items.truncate((start + size).min(items.len()));
        items.drain(..start);
    }
    let after_pos = |(k, i): (i64, i64)| {
        move |item: &(i64, i64, T)| {
            let ord = (item.0, item.1).cmp(&(k, i));
            if reverse {
                ord.is_lt()
            } else {
                ord.is_gt()
            }
        }
    };
    let mut start = 0;
    if let Some(after) = &page.after {
        let position = decode_cursor(after)?;
        let is_after = after_pos(position);
        start = items.iter().position(is_after).unwrap_or(items.len());
    }
    let mut end = items.len();
    if let Some(before) = &page.before {
        let position = decode_cursor(before)?;
        end = items
            .iter()
            .position(|item| {
                let ord = (item.0, item.1).cmp(&position);
                if reverse {
                    ord.is_le()
                } else {
                    ord.is_ge()
                }
            })
            .unwrap_or(items.len())
            .max(start);
    }
    let (from, to) = match (page.first, page.last) {
        (Some(n), _) => (start, (start + n as usize).min(end)),
        (None, Some(n)) => (end.saturating_sub(n as usize).max(start), end),
        (None, None) => (start, end),
    };
    let mut connection = Connection::new(from > 0, to < items.len());
    for (key, id, value) in items.into_iter().skip(from).take(to - from) {
        connection
            .edges
            .push(Edge::new(encode_cursor(key, id), to_node(value)));
    }
    Ok(connection)
}

fn millis(at: &model::Timestamp) -> i64 {
    at.timestamp_millis()
}

fn search(ctx: &Context<'_>, query: Option<&str>) -> Result<Search> {
    Search::parse(query, data(ctx)?.shop.timezone).map_err(Error::new)
}

/// Whether a record matches a search, by the fields Shopify's search syntax offers for it
/// (connections and counts filter alike).
fn customer_matches(search: &Search, c: &model::Customer) -> bool {
    search.matches(
        |field| match field {
            "created_at" => Some(utc(&c.created_at)),
            "updated_at" => Some(utc(&c.updated_at)),
            _ => None,
        },
        |field| match field {
            "email" => c.email.clone(),
            _ => None,
        },
    )
}

fn product_matches(search: &Search, p: &model::Product) -> bool {
    search.matches(
        |field| match field {
            "created_at" => Some(utc(&p.created_at)),
            "updated_at" => Some(utc(&p.updated_at)),
            _ => None,
        },
        |field| match field {
            "status" => Some(p.status.clone()),
            _ => None,
        },
    )
}

fn order_matches(search: &Search, o: &model::Order) -> bool {
    search.matches(
        |field| match field {
            "created_at" => Some(utc(&o.created_at)),
            "updated_at" => Some(utc(&o.updated_at)),
            "processed_at" => Some(utc(&o.processed_at)),
            _ => None,
        },
        |field| match field {
            "email" => o.email.clone(),
            "financial_status" => Some(o.financial_status.clone()),
            "test" => Some(o.test.to_string()),
            _ => None,
        },
    )
}

/// Abandoned checkouts are the checkouts not completed.
fn abandoned_checkout_matches(search: &Search, c: &model::Checkout) -> bool {
    c.completed_at.is_none()
        && search.matches(
            |field| match field {
                "created_at" => Some(utc(&c.created_at)),
                "updated_at" => Some(utc(&c.updated_at)),
                _ => None,
            },
            |_| None,
        )
}

/// Shopify's default cap on a count field; an explicit `null` counts everything.
const COUNT_LIMIT: Option<i32> = Some(10_000);

/// How many records a count query found, capped at `limit` (then `AT_LEAST`).
#[derive(SimpleObject)]
#[graphql(name = "Count")]
pub struct Count {
    count: i32,
    precision: CountPrecision,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CountPrecision")]
pub enum CountPrecision {
    Exact,
    AtLeast,
}

/// How many of a shop's records match a search, as a `*Count` field answers.
fn count_matching<T>(
    ctx: &Context<'_>,
    query: Option<String>,
    limit: Option<i32>,
    records: impl FnOnce(&Shop) -> &BTreeMap<i64, T>,
    matches: fn(&Search, &T) -> bool,
) -> Result<Option<Count>> {
    let search = search(ctx, query.as_deref())?;
    let found = records(&data(ctx)?.shop)
        .values()
        .filter(|record| matches(&search, record))
        .count();
    Ok(Some(count(found, limit)))
}

fn count(found: usize, limit: Option<i32>) -> Count {
    let found = i32::try_from(found).unwrap_or(i32::MAX);
    match limit {
        Some(limit) if found > limit => Count {
            count: limit,
            precision: CountPrecision::AtLeast,
        },
        _ => Count {
            count: found,
            precision: CountPrecision::Exact,
        },
    }
}

fn utc(at: &model::Timestamp) -> chrono::DateTime<Utc> {
    at.with_timezone(&Utc)
}

// ---------------------------------------------------------------------------------------
// Shop

#[derive(SimpleObject)]
#[graphql(name = "ShopPlan")]
pub struct ShopPlan {
    #[graphql(deprecation = "Use `publicDisplayName` instead.")]
    display_name: String,
    public_display_name: String,
    partner_development: bool,
    shopify_plus: bool,
}

pub struct ShopNode;

#[Object(name = "Shop")]
impl ShopNode {
    async fn id(&self, ctx: &Context<'_>) -> Result<ID> {
        Ok(ID(gid("Shop", data(ctx)?.shop.id)))
    }
    async fn name(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(data(ctx)?.shop.name.clone())
    }
    async fn myshopify_domain(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(data(ctx)?.shop.domain.clone())
    }
    async fn currency_code(&self, ctx: &Context<'_>) -> Result<CurrencyCode> {
        Ok(CurrencyCode::from_code(&data(ctx)?.shop.currency))
    }
    async fn iana_timezone(&self, ctx: &Context<'_>) -> Result<String> {
        Ok(data(ctx)?.shop.timezone.name().to_owned())
    }
    async fn plan(&self, ctx: &Context<'_>) -> Result<ShopPlan> {
        let plan = data(ctx)?.shop.plan.clone();
        Ok(ShopPlan {
            shopify_plus: plan.eq_ignore_ascii_case("Shopify Plus"),
            partner_development: plan.eq_ignore_ascii_case("Development"),
            public_display_name: plan.clone(),
            display_name: plan,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Customers

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CustomerState", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum CustomerState {
    Declined,
    Disabled,
    Enabled,
    Invited,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "CustomerEmailMarketingState",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum CustomerEmailMarketingState {
    NotSubscribed,
    Pending,
    Subscribed,
    Unsubscribed,
    Redacted,
    Invalid,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "CustomerEmailAddressMarketingState",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum CustomerEmailAddressMarketingState {
    Invalid,
    NotSubscribed,
    Pending,
    Subscribed,
    Unsubscribed,
}

#[derive(SimpleObject)]
#[graphql(name = "CustomerEmailAddress")]
pub struct CustomerEmailAddress {
    email_address: String,
    marketing_state: CustomerEmailAddressMarketingState,
    marketing_updated_at: Option<DateTime>,
}

#[derive(SimpleObject)]
#[graphql(name = "CustomerPhoneNumber")]
pub struct CustomerPhoneNumber {
    phone_number: String,
}

#[derive(SimpleObject)]
#[graphql(name = "CustomerEmailMarketingConsentState")]
pub struct EmailMarketingConsent {
    marketing_state: CustomerEmailMarketingState,
    consent_updated_at: Option<DateTime>,
}

pub struct CustomerNode(pub model::Customer);

#[Object(name = "Customer")]
impl CustomerNode {
    async fn id(&self) -> ID {
        ID(self.0.admin_graphql_api_id.clone())
    }
    async fn legacy_resource_id(&self) -> UnsignedInt64 {
        legacy(self.0.id)
    }
    #[graphql(deprecation = "Use `defaultEmailAddress.emailAddress` instead.")]
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    #[graphql(deprecation = "Use `defaultPhoneNumber.phoneNumber` instead.")]
    async fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
    async fn default_email_address(&self) -> Option<CustomerEmailAddress> {
        let consent = self.0.email_marketing_consent.as_ref();
        self.0
            .email
            .clone()
            .map(|email_address| CustomerEmailAddress {
                email_address,
                marketing_state: if consent.is_some_and(|c| c.state == "subscribed") {
                    CustomerEmailAddressMarketingState::Subscribed
                } else {
                    CustomerEmailAddressMarketingState::NotSubscribed
                },
                marketing_updated_at: consent.and_then(|c| c.consent_updated_at).map(DateTime),
            })
    }
    async fn default_phone_number(&self) -> Option<CustomerPhoneNumber> {
        self.0
            .phone
            .clone()
            .map(|phone_number| CustomerPhoneNumber { phone_number })
    }
    async fn first_name(&self) -> Option<&str> {
        self.0.first_name.as_deref()
    }
    async fn last_name(&self) -> Option<&str> {
        self.0.last_name.as_deref()
    }
    async fn display_name(&self) -> String {
        [self.0.first_name.as_deref(), self.0.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    }
    async fn state(&self) -> CustomerState {
        match self.0.state.as_str() {
            "declined" => CustomerState::Declined,
            "enabled" => CustomerState::Enabled,
            "invited" => CustomerState::Invited,
            _ => CustomerState::Disabled,
        }
    }
    async fn verified_email(&self) -> bool {
        self.0.verified_email
    }
    async fn tags(&self) -> Vec<String> {
        split_tags(&self.0.tags)
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    #[graphql(deprecation = "Use `defaultEmailAddress.marketingState` instead.")]
    async fn email_marketing_consent(&self) -> Option<EmailMarketingConsent> {
        self.0
            .email_marketing_consent
            .as_ref()
            .map(|c| EmailMarketingConsent {
                marketing_state: if c.state == "subscribed" {
                    CustomerEmailMarketingState::Subscribed
                } else {
                    CustomerEmailMarketingState::NotSubscribed
                },
                consent_updated_at: c.consent_updated_at.map(DateTime),
            })
    }
}

/// The shop's customer with this id, if any.
fn customer_node(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<CustomerNode>> {
    let shop = &data(ctx)?.shop;
    Ok(id
        .and_then(|id| shop.customers.get(&id))
        .cloned()
        .map(CustomerNode))
}

/// The shop's product with this id, if it still exists.
fn product_node(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<ProductNode>> {
    let shop = &data(ctx)?.shop;
    Ok(id
        .and_then(|id| shop.products.get(&id))
        .cloned()
        .map(ProductNode))
}

/// A variant of a product, if both still exist.
fn variant_node(
    ctx: &Context<'_>,
    product: Option<i64>,
    variant: Option<i64>,
) -> Result<Option<VariantNode>> {
    let shop = &data(ctx)?.shop;
    Ok(product
        .and_then(|id| shop.products.get(&id))
        .and_then(|p| p.variants.iter().find(|v| Some(v.id) == variant))
        .cloned()
        .map(VariantNode))
}

fn split_tags(tags: &str) -> Vec<String> {
    tags.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------
// Products

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ProductStatus", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ProductStatus {
    Active,
    Archived,
    Draft,
}

pub struct ProductNode(pub model::Product);

#[Object(name = "Product")]
impl ProductNode {
    async fn id(&self) -> ID {
        ID(self.0.admin_graphql_api_id.clone())
    }
    async fn legacy_resource_id(&self) -> UnsignedInt64 {
        legacy(self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn handle(&self) -> &str {
        &self.0.handle
    }
    async fn vendor(&self) -> &str {
        &self.0.vendor
    }
    async fn product_type(&self) -> &str {
        &self.0.product_type
    }
    async fn status(&self) -> ProductStatus {
        match self.0.status.as_str() {
            "archived" => ProductStatus::Archived,
            "draft" => ProductStatus::Draft,
            _ => ProductStatus::Active,
        }
    }
    async fn tags(&self) -> Vec<String> {
        split_tags(&self.0.tags)
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn published_at(&self) -> Option<DateTime> {
        self.0.published_at.map(DateTime)
    }
    async fn variants(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, VariantNode>> {
        let items = self
            .0
            .variants
            .iter()
            .map(|v| (i64::from(v.position), v.id, v.clone()))
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: false,
            },
            VariantNode,
        )
    }
}

pub struct VariantNode(pub model::Variant);

#[Object(name = "ProductVariant")]
impl VariantNode {
    async fn id(&self) -> ID {
        ID(self.0.admin_graphql_api_id.clone())
    }
    async fn legacy_resource_id(&self) -> UnsignedInt64 {
        legacy(self.0.id)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn sku(&self) -> Option<&str> {
        Some(&self.0.sku)
    }
    async fn price(&self) -> Money {
        Money(self.0.price)
    }
    async fn compare_at_price(&self) -> Option<Money> {
        self.0.compare_at_price.map(Money)
    }
    async fn position(&self) -> i32 {
        self.0.position
    }
    async fn inventory_quantity(&self) -> Option<i32> {
        i32::try_from(self.0.inventory_quantity).ok()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<ProductNode> {
        data(ctx)?
            .shop
            .products
            .get(&self.0.product_id)
            .cloned()
            .map(ProductNode)
            .ok_or_else(|| Error::new("the variant's product was deleted"))
    }
}

// ---------------------------------------------------------------------------------------
// Orders

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "OrderDisplayFinancialStatus",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum OrderDisplayFinancialStatus {
    Authorized,
    Expired,
    Paid,
    PartiallyPaid,
    PartiallyRefunded,
    Pending,
    Refunded,
    Voided,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "OrderDisplayFulfillmentStatus",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum OrderDisplayFulfillmentStatus {
    Fulfilled,
    InProgress,
    OnHold,
    Open,
    PartiallyFulfilled,
    PendingFulfillment,
    Restocked,
    Scheduled,
    Unfulfilled,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "OrderCancelReason", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum OrderCancelReason {
    Customer,
    Declined,
    Fraud,
    Inventory,
    Other,
    Staff,
}

pub struct OrderNode(pub model::Order);

#[Object(name = "Order")]
impl OrderNode {
    async fn id(&self) -> ID {
        ID(self.0.admin_graphql_api_id.clone())
    }
    async fn legacy_resource_id(&self) -> UnsignedInt64 {
        legacy(self.0.id)
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn processed_at(&self) -> DateTime {
        DateTime(self.0.processed_at)
    }
    async fn cancelled_at(&self) -> Option<DateTime> {
        self.0.cancelled_at.map(DateTime)
    }
    async fn cancel_reason(&self) -> Option<OrderCancelReason> {
        self.0.cancel_reason.as_deref().map(|reason| match reason {
            "customer" => OrderCancelReason::Customer,
            "declined" => OrderCancelReason::Declined,
            "fraud" => OrderCancelReason::Fraud,
            "inventory" => OrderCancelReason::Inventory,
            "staff" => OrderCancelReason::Staff,
            _ => OrderCancelReason::Other,
        })
    }
    async fn closed_at(&self) -> Option<DateTime> {
        self.0.closed_at.map(DateTime)
    }
    async fn test(&self) -> bool {
        self.0.test
    }
    async fn currency_code(&self) -> CurrencyCode {
        CurrencyCode::from_code(&self.0.currency)
    }
    async fn presentment_currency_code(&self) -> CurrencyCode {
        CurrencyCode::from_code(&self.0.presentment_currency)
    }
    async fn display_financial_status(&self) -> Option<OrderDisplayFinancialStatus> {
        use OrderDisplayFinancialStatus as S;
        Some(match self.0.financial_status.as_str() {
            "authorized" => S::Authorized,
            "partially_paid" => S::PartiallyPaid,
            "partially_refunded" => S::PartiallyRefunded,
            "pending" => S::Pending,
            "refunded" => S::Refunded,
            "voided" => S::Voided,
            "expired" => S::Expired,
            _ => S::Paid,
        })
    }
    async fn display_fulfillment_status(&self) -> OrderDisplayFulfillmentStatus {
        match self.0.fulfillment_status.as_deref() {
            Some("fulfilled") => OrderDisplayFulfillmentStatus::Fulfilled,
            Some("partial") => OrderDisplayFulfillmentStatus::PartiallyFulfilled,
            _ => OrderDisplayFulfillmentStatus::Unfulfilled,
        }
    }
    async fn source_name(&self) -> Option<&str> {
        Some(&self.0.source_name)
    }
    async fn tags(&self) -> Vec<String> {
        split_tags(&self.0.tags)
    }
    async fn discount_codes(&self) -> Vec<String> {
        self.0
            .discount_codes
            .iter()
            .map(|d| d.code.clone())
            .collect()
    }
    async fn total_price_set(&self) -> MoneyBag {
        money_bag(self.0.total_price, &self.0.currency)
    }
    async fn subtotal_price_set(&self) -> Option<MoneyBag> {
        Some(money_bag(self.0.subtotal_price, &self.0.currency))
    }
    async fn total_tax_set(&self) -> Option<MoneyBag> {
        Some(money_bag(self.0.total_tax, &self.0.currency))
    }
    async fn total_discounts_set(&self) -> Option<MoneyBag> {
        Some(money_bag(self.0.total_discounts, &self.0.currency))
    }
    async fn total_shipping_price_set(&self) -> MoneyBag {
        money_bag(
            self.0.total_shipping_price_set.shop_money.amount,
            &self.0.currency,
        )
    }
    async fn total_refunded_set(&self) -> MoneyBag {
        let refunded = self.0.refunds.iter().map(model::Refund::amount).sum();
        money_bag(refunded, &self.0.currency)
    }
    async fn current_total_price_set(&self) -> MoneyBag {
        money_bag(self.0.current_total_price, &self.0.currency)
    }
    async fn current_subtotal_price_set(&self) -> MoneyBag {
        money_bag(self.0.current_subtotal_price, &self.0.currency)
    }
    async fn current_total_tax_set(&self) -> MoneyBag {
        money_bag(self.0.current_total_tax, &self.0.currency)
    }
    async fn current_total_discounts_set(&self) -> MoneyBag {
        money_bag(self.0.current_total_discounts, &self.0.currency)
    }
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<CustomerNode>> {
        customer_node(ctx, self.0.customer.as_ref().map(|c| c.id))
    }
    async fn line_items(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, LineItemNode>> {
        let currency = self.0.currency.clone();
        let items = self
            .0
            .line_items
            .iter()
            .map(|l| (l.id, l.id, l.clone()))
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: false,
            },
            |line| LineItemNode {
                line,
                currency: currency.clone(),
            },
        )
    }
    async fn refunds(&self, first: Option<i32>) -> Vec<RefundNode> {
        let limit = first.map_or(usize::MAX, |n| n.max(0) as usize);
        self.0
            .refunds
            .iter()
            .take(limit)
            .map(|refund| RefundNode {
                refund: refund.clone(),
                order: self.0.clone(),
            })
            .collect()
    }
}

#[derive(SimpleObject)]
#[graphql(name = "TaxLine")]
pub struct TaxLine {
    title: String,
    rate: Option<f64>,
    price_set: MoneyBag,
}

#[derive(SimpleObject)]
pub struct DiscountAllocation {
    allocated_amount_set: MoneyBag,
}

pub struct LineItemNode {
    line: model::LineItem,
    currency: String,
}

#[Object(name = "LineItem")]
impl LineItemNode {
    async fn id(&self) -> ID {
        ID(self.line.admin_graphql_api_id.clone())
    }
    async fn title(&self) -> &str {
        &self.line.title
    }
    async fn name(&self) -> String {
        match &self.line.variant_title {
            Some(variant) if variant != "Default Title" => {
                format!("{} - {variant}", self.line.title)
            }
            _ => self.line.title.clone(),
        }
    }
    async fn variant_title(&self) -> Option<&str> {
        self.line.variant_title.as_deref()
    }
    async fn sku(&self) -> Option<&str> {
        self.line.sku.as_deref()
    }
    async fn vendor(&self) -> Option<&str> {
        self.line.vendor.as_deref()
    }
    async fn quantity(&self) -> i32 {
        self.line.quantity
    }
    async fn current_quantity(&self) -> i32 {
        self.line.current_quantity
    }
    async fn taxable(&self) -> bool {
        self.line.taxable
    }
    async fn original_unit_price_set(&self) -> MoneyBag {
        money_bag(self.line.price, &self.currency)
    }
    /// Line-level discounts only: "doesn't include order-level discounts", as Shopify says.
    async fn total_discount_set(&self) -> MoneyBag {
        money_bag(self.line.total_discount, &self.currency)
    }
    /// Every discount on the line, order-level (code) discounts included.
    async fn discount_allocations(&self) -> Vec<DiscountAllocation> {
        self.line
            .discount_allocations
            .iter()
            .map(|a| DiscountAllocation {
                allocated_amount_set: money_bag(a.amount, &self.currency),
            })
            .collect()
    }
    async fn is_gift_card(&self) -> bool {
        self.line.gift_card
    }
    async fn tax_lines(&self) -> Vec<TaxLine> {
        self.line
            .tax_lines
            .iter()
            .map(|t| TaxLine {
                title: t.title.clone(),
                rate: t.rate.to_string().parse().ok(),
                price_set: money_bag(t.price, &self.currency),
            })
            .collect()
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<ProductNode>> {
        product_node(ctx, self.line.product_id)
    }
    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<VariantNode>> {
        variant_node(ctx, self.line.product_id, self.line.variant_id)
    }
}

pub struct RefundNode {
    refund: model::Refund,
    order: model::Order,
}

#[Object(name = "Refund")]
impl RefundNode {
    async fn id(&self) -> ID {
        ID(self.refund.admin_graphql_api_id.clone())
    }
    async fn legacy_resource_id(&self) -> UnsignedInt64 {
        legacy(self.refund.id)
    }
    async fn created_at(&self) -> Option<DateTime> {
        Some(DateTime(self.refund.created_at))
    }
    async fn note(&self) -> Option<&str> {
        self.refund.note.as_deref()
    }
    async fn total_refunded_set(&self) -> MoneyBag {
        money_bag(self.refund.amount(), &self.order.currency)
    }
    async fn refund_line_items(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, RefundLineItemNode>> {
        let items = self
            .refund
            .refund_line_items
            .iter()
            .map(|r| (r.id, r.id, r.clone()))
            .collect();
        let order = &self.order;
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: false,
            },
            |item| {
                let line = order
                    .line_items
                    .iter()
                    .find(|l| l.id == item.line_item_id)
                    .cloned();
                RefundLineItemNode {
                    item,
                    line,
                    currency: order.currency.clone(),
                }
            },
        )
    }
    /// Shipping given back by this refund.
    async fn refund_shipping_lines(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, RefundShippingLineNode>> {
        let items = self
            .refund
            .refund_shipping_lines
            .iter()
            .map(|l| (l.id, l.id, l.clone()))
            .collect();
        let currency = self.order.currency.clone();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: false,
            },
            |line| RefundShippingLineNode {
                id: ID(model::gid("RefundShippingLine", line.id)),
                subtotal_amount_set: money_bag(
                    line.subtotal_amount_set.shop_money.amount,
                    &currency,
                ),
                tax_amount_set: money_bag(line.tax_amount_set.shop_money.amount, &currency),
            },
        )
    }
    /// Adjustments such as shipping refunds (negative amounts).
    async fn order_adjustments(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, OrderAdjustmentNode>> {
        let items = self
            .refund
            .order_adjustments
            .iter()
            .map(|a| (a.id, a.id, a.clone()))
            .collect();
        let currency = self.order.currency.clone();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: false,
            },
            |adjustment| OrderAdjustmentNode {
                id: ID(model::gid("OrderAdjustment", adjustment.id)),
                amount_set: money_bag(adjustment.amount, &currency),
                tax_amount_set: money_bag(adjustment.tax_amount, &currency),
            },
        )
    }
}

#[derive(SimpleObject)]
#[graphql(name = "RefundShippingLine")]
pub struct RefundShippingLineNode {
    id: ID,
    subtotal_amount_set: MoneyBag,
    tax_amount_set: MoneyBag,
}

#[derive(SimpleObject)]
#[graphql(name = "OrderAdjustment")]
pub struct OrderAdjustmentNode {
    id: ID,
    amount_set: MoneyBag,
    tax_amount_set: MoneyBag,
}

pub struct RefundLineItemNode {
    item: model::RefundLineItem,
    line: Option<model::LineItem>,
    currency: String,
}

#[Object(name = "RefundLineItem")]
impl RefundLineItemNode {
    async fn quantity(&self) -> i32 {
        self.item.quantity
    }
    async fn subtotal_set(&self) -> MoneyBag {
        money_bag(self.item.subtotal, &self.currency)
    }
    async fn total_tax_set(&self) -> MoneyBag {
        money_bag(self.item.total_tax, &self.currency)
    }
    async fn line_item(&self) -> Result<LineItemNode> {
        self.line
            .clone()
            .map(|line| LineItemNode {
                line,
                currency: self.currency.clone(),
            })
            .ok_or_else(|| Error::new("line item not found"))
    }
}

// ---------------------------------------------------------------------------------------
// Abandoned checkouts

pub struct CheckoutNode(pub model::Checkout);

#[Object(name = "AbandonedCheckout")]
impl CheckoutNode {
    async fn id(&self) -> ID {
        ID(self.0.admin_graphql_api_id.clone())
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at)
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.updated_at)
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.0.completed_at.map(DateTime)
    }
    async fn abandoned_checkout_url(&self) -> Url {
        Url(self.0.abandoned_checkout_url.clone())
    }
    async fn total_price_set(&self) -> MoneyBag {
        money_bag(self.0.total_price, &self.0.currency)
    }
    async fn subtotal_price_set(&self) -> MoneyBag {
        money_bag(self.0.subtotal_price, &self.0.currency)
    }
    async fn total_tax_set(&self) -> Option<MoneyBag> {
        Some(money_bag(self.0.total_tax, &self.0.currency))
    }
    async fn total_discount_set(&self) -> MoneyBag {
        money_bag(self.0.total_discounts, &self.0.currency)
    }
    async fn customer(&self, ctx: &Context<'_>) -> Result<Option<CustomerNode>> {
        customer_node(ctx, self.0.customer.as_ref().map(|c| c.id))
    }
    async fn line_items(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, CheckoutLineItemNode>> {
        let currency = self.0.currency.clone();
        let base = self.0.id;
        let items = self
            .0
            .line_items
            .iter()
            .enumerate()
            .map(|(i, l)| (i as i64, base + i as i64, l.clone()))
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: false,
            },
            |line| CheckoutLineItemNode {
                line,
                currency: currency.clone(),
            },
        )
    }
}

pub struct CheckoutLineItemNode {
    line: model::CheckoutLineItem,
    currency: String,
}

#[Object(name = "AbandonedCheckoutLineItem")]
impl CheckoutLineItemNode {
    async fn id(&self) -> ID {
        ID(gid(
            "AbandonedCheckoutLineItem",
            i64::from_str_radix(&self.line.key, 16).unwrap_or_default(),
        ))
    }
    async fn title(&self) -> Option<&str> {
        Some(&self.line.title)
    }
    async fn variant_title(&self) -> Option<&str> {
        self.line.variant_title.as_deref()
    }
    async fn sku(&self) -> Option<&str> {
        self.line.sku.as_deref()
    }
    async fn quantity(&self) -> i32 {
        self.line.quantity
    }
    async fn original_unit_price_set(&self) -> MoneyBag {
        money_bag(self.line.price, &self.currency)
    }
    async fn product(&self, ctx: &Context<'_>) -> Result<Option<ProductNode>> {
        product_node(ctx, self.line.product_id)
    }
    async fn variant(&self, ctx: &Context<'_>) -> Result<Option<VariantNode>> {
        variant_node(ctx, self.line.product_id, self.line.variant_id)
    }
}

// ---------------------------------------------------------------------------------------
// Deletion events

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "DeletionEventSubjectType",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum DeletionEventSubjectType {
    Collection,
    Product,
}

pub struct DeletionEventNode(model::Deletion);

#[Object(name = "DeletionEvent")]
impl DeletionEventNode {
    async fn subject_id(&self) -> ID {
        ID(gid("Product", self.0.subject_id))
    }
    async fn subject_type(&self) -> DeletionEventSubjectType {
        DeletionEventSubjectType::Product
    }
    async fn occurred_at(&self) -> DateTime {
        DateTime(self.0.occurred_at)
    }
}

// ---------------------------------------------------------------------------------------
// Webhook subscriptions

/// Topics the simulator delivers, named as Shopify's `WebhookSubscriptionTopic` enum.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "WebhookSubscriptionTopic",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum WebhookSubscriptionTopic {
    AppUninstalled,
    BulkOperationsFinish,
    CartsCreate,
    CartsUpdate,
    CheckoutsCreate,
    CheckoutsDelete,
    CheckoutsUpdate,
    CustomersCreate,
    CustomersDelete,
    CustomersDisable,
    CustomersEnable,
    CustomersUpdate,
    OrdersCancelled,
    OrdersCreate,
    OrdersDelete,
    OrdersEdited,
    OrdersFulfilled,
    OrdersPaid,
    OrdersPartiallyFulfilled,
    OrdersUpdated,
    ProductsCreate,
    ProductsDelete,
    ProductsUpdate,
    RefundsCreate,
}

impl WebhookSubscriptionTopic {
    pub const ALL: [Self; 24] = [
        Self::AppUninstalled,
        Self::BulkOperationsFinish,
        Self::CartsCreate,
        Self::CartsUpdate,
        Self::CheckoutsCreate,
        Self::CheckoutsDelete,
        Self::CheckoutsUpdate,
        Self::CustomersCreate,
        Self::CustomersDelete,
        Self::CustomersDisable,
        Self::CustomersEnable,
        Self::CustomersUpdate,
        Self::OrdersCancelled,
        Self::OrdersCreate,
        Self::OrdersDelete,
        Self::OrdersEdited,
        Self::OrdersFulfilled,
        Self::OrdersPaid,
        Self::OrdersPartiallyFulfilled,
        Self::OrdersUpdated,
        Self::ProductsCreate,
        Self::ProductsDelete,
        Self::ProductsUpdate,
        Self::RefundsCreate,
    ];

    /// The `X-Shopify-Topic` spelling: `ORDERS_PARTIALLY_FULFILLED` → `orders/partially_fulfilled`.
    pub fn topic(self) -> String {
        let name = self.screaming();
        match name.split_once('_') {
            Some((resource, event)) => {
                format!("{}/{}", resource.to_lowercase(), event.to_lowercase())
            }
            None => name.to_lowercase(),
        }
        .replace("bulk/operations_finish", "bulk_operations/finish")
    }

    fn screaming(self) -> String {
        use WebhookSubscriptionTopic as T;
        match self {
            T::AppUninstalled => "APP_UNINSTALLED",
            T::BulkOperationsFinish => "BULK_OPERATIONS_FINISH",
            T::CartsCreate => "CARTS_CREATE",
            T::CartsUpdate => "CARTS_UPDATE",
            T::CheckoutsCreate => "CHECKOUTS_CREATE",
            T::CheckoutsDelete => "CHECKOUTS_DELETE",
            T::CheckoutsUpdate => "CHECKOUTS_UPDATE",
            T::CustomersCreate => "CUSTOMERS_CREATE",
            T::CustomersDelete => "CUSTOMERS_DELETE",
            T::CustomersDisable => "CUSTOMERS_DISABLE",
            T::CustomersEnable => "CUSTOMERS_ENABLE",
            T::CustomersUpdate => "CUSTOMERS_UPDATE",
            T::OrdersCancelled => "ORDERS_CANCELLED",
            T::OrdersCreate => "ORDERS_CREATE",
            T::OrdersDelete => "ORDERS_DELETE",
            T::OrdersEdited => "ORDERS_EDITED",
            T::OrdersFulfilled => "ORDERS_FULFILLED",
            T::OrdersPaid => "ORDERS_PAID",
            T::OrdersPartiallyFulfilled => "ORDERS_PARTIALLY_FULFILLED",
            T::OrdersUpdated => "ORDERS_UPDATED",
            T::ProductsCreate => "PRODUCTS_CREATE",
            T::ProductsDelete => "PRODUCTS_DELETE",
            T::ProductsUpdate => "PRODUCTS_UPDATE",
            T::RefundsCreate => "REFUNDS_CREATE",
        }
        .to_owned()
    }

    pub fn from_topic(topic: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.topic() == topic)
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "WebhookSubscriptionFormat",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum WebhookSubscriptionFormat {
    Json,
    Xml,
}

#[derive(InputObject)]
#[graphql(name = "WebhookSubscriptionInput")]
pub struct WebhookSubscriptionInput {
    #[graphql(deprecation = "Use `uri` instead.")]
    callback_url: Option<Url>,
    uri: Option<String>,
    format: Option<WebhookSubscriptionFormat>,
    include_fields: Option<Vec<String>>,
}

#[derive(SimpleObject)]
#[graphql(name = "WebhookHttpEndpoint")]
pub struct WebhookHttpEndpoint {
    callback_url: Url,
}

#[derive(Union)]
#[graphql(name = "WebhookSubscriptionEndpoint")]
pub enum WebhookSubscriptionEndpoint {
    WebhookHttpEndpoint(WebhookHttpEndpoint),
}

pub struct WebhookSubscriptionNode(pub crate::state::Subscription);

#[Object(name = "WebhookSubscription")]
impl WebhookSubscriptionNode {
    async fn id(&self) -> ID {
        ID(gid("WebhookSubscription", self.0.id))
    }
    async fn legacy_resource_id(&self) -> UnsignedInt64 {
        legacy(self.0.id)
    }
    async fn topic(&self) -> Result<WebhookSubscriptionTopic> {
        WebhookSubscriptionTopic::from_topic(&self.0.topic)
            .ok_or_else(|| Error::new("unknown topic"))
    }
    async fn format(&self) -> WebhookSubscriptionFormat {
        WebhookSubscriptionFormat::Json
    }
    #[graphql(deprecation = "Use `uri` instead.")]
    async fn callback_url(&self) -> Url {
        Url(self.0.callback_url.clone())
    }
    async fn uri(&self) -> &str {
        &self.0.callback_url
    }
    #[graphql(deprecation = "Use `uri` instead.")]
    async fn endpoint(&self) -> WebhookSubscriptionEndpoint {
        WebhookSubscriptionEndpoint::WebhookHttpEndpoint(WebhookHttpEndpoint {
            callback_url: Url(self.0.callback_url.clone()),
        })
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.0.created_at.fixed_offset())
    }
    async fn updated_at(&self) -> DateTime {
        DateTime(self.0.created_at.fixed_offset())
    }
}

#[derive(SimpleObject)]
#[graphql(name = "UserError")]
pub struct UserError {
    field: Option<Vec<String>>,
    message: String,
}

fn user_error(field: &[&str], message: impl Into<String>) -> UserError {
    UserError {
        field: (!field.is_empty()).then(|| field.iter().map(|f| (*f).to_owned()).collect()),
        message: message.into(),
    }
}

#[derive(SimpleObject)]
#[graphql(name = "WebhookSubscriptionCreatePayload")]
pub struct WebhookSubscriptionCreatePayload {
    webhook_subscription: Option<WebhookSubscriptionNode>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
#[graphql(name = "WebhookSubscriptionDeletePayload")]
pub struct WebhookSubscriptionDeletePayload {
    deleted_webhook_subscription_id: Option<ID>,
    user_errors: Vec<UserError>,
}

// ---------------------------------------------------------------------------------------
// Bulk operations

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "BulkOperationStatus", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum BulkOperationStatus {
    Canceled,
    Canceling,
    Completed,
    Created,
    Expired,
    Failed,
    Running,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "BulkOperationErrorCode", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum BulkOperationErrorCode {
    AccessDenied,
    InternalServerError,
    Timeout,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "BulkOperationsSortKeys", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum BulkOperationsSortKeys {
    CompletedAt,
    CreatedAt,
}

/// The statuses a `bulkOperations(query:)` names (`status:RUNNING OR status:CREATED`);
/// `None` for no filter. Other terms are refused rather than ignored.
fn bulk_status_filter(query: Option<&str>) -> Result<Option<Vec<String>>> {
    let Some(query) = query.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    query
        .split(" OR ")
        .map(|term| {
            term.trim()
                .strip_prefix("status:")
                .map(str::to_uppercase)
                .ok_or_else(|| {
                    Error::new(format!(
                        "the simulator filters bulk operations by status only, not `{term}`"
                    ))
                })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "BulkOperationType", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum BulkOperationType {
    Mutation,
    Query,
}

/// A snapshot of a bulk operation for the API.
pub struct BulkOperationNode {
    pub id: i64,
    pub status: &'static str,
    pub error_code: Option<&'static str>,
    pub created_at: chrono::DateTime<Utc>,
    pub completed_at: Option<chrono::DateTime<Utc>>,
    pub object_count: u64,
    pub root_object_count: u64,
    pub file_size: Option<u64>,
    pub url: Option<String>,
    pub query: String,
}

impl BulkOperationNode {
    pub fn from_state(op: &crate::state::BulkOperation, base_url: &str) -> Self {
        let has_data = op.result.as_ref().is_some_and(|r| !r.is_empty());
        Self {
            id: op.id,
            status: op.status,
            error_code: op.error_code,
            created_at: op.created_at,
            completed_at: op.completed_at,
            object_count: op.object_count,
            root_object_count: op.root_object_count,
            file_size: op.result.as_ref().map(|r| r.len() as u64),
            // Empty exports have no file, as on Shopify.
            url: has_data.then(|| format!("{base_url}/_sim/bulk/{}.jsonl", op.id)),
            query: op.query.clone(),
        }
    }
}

#[Object(name = "BulkOperation")]
impl BulkOperationNode {
    async fn id(&self) -> ID {
        ID(gid("BulkOperation", self.id))
    }
    async fn status(&self) -> BulkOperationStatus {
        match self.status {
            "CREATED" => BulkOperationStatus::Created,
            "RUNNING" => BulkOperationStatus::Running,
            "COMPLETED" => BulkOperationStatus::Completed,
            "CANCELED" => BulkOperationStatus::Canceled,
            "EXPIRED" => BulkOperationStatus::Expired,
            _ => BulkOperationStatus::Failed,
        }
    }
    async fn error_code(&self) -> Option<BulkOperationErrorCode> {
        self.error_code.map(|code| match code {
            "ACCESS_DENIED" => BulkOperationErrorCode::AccessDenied,
            "TIMEOUT" => BulkOperationErrorCode::Timeout,
            _ => BulkOperationErrorCode::InternalServerError,
        })
    }
    #[graphql(name = "type")]
    async fn kind(&self) -> BulkOperationType {
        BulkOperationType::Query
    }
    async fn created_at(&self) -> DateTime {
        DateTime(self.created_at.fixed_offset())
    }
    async fn completed_at(&self) -> Option<DateTime> {
        self.completed_at.map(|at| DateTime(at.fixed_offset()))
    }
    async fn object_count(&self) -> UnsignedInt64 {
        UnsignedInt64(self.object_count)
    }
    async fn root_object_count(&self) -> UnsignedInt64 {
        UnsignedInt64(self.root_object_count)
    }
    async fn file_size(&self) -> Option<UnsignedInt64> {
        self.file_size.map(UnsignedInt64)
    }
    async fn url(&self) -> Option<Url> {
        self.url.clone().map(Url)
    }
    async fn partial_data_url(&self) -> Option<Url> {
        None
    }
    async fn query(&self) -> &str {
        &self.query
    }
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "BulkOperationUserErrorCode",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum BulkOperationUserErrorCode {
    Invalid,
    OperationInProgress,
}

#[derive(SimpleObject)]
#[graphql(name = "BulkOperationUserError")]
pub struct BulkOperationUserError {
    code: Option<BulkOperationUserErrorCode>,
    field: Option<Vec<String>>,
    message: String,
}

#[derive(SimpleObject)]
#[graphql(name = "BulkOperationRunQueryPayload")]
pub struct BulkOperationRunQueryPayload {
    bulk_operation: Option<BulkOperationNode>,
    user_errors: Vec<BulkOperationUserError>,
}

// ---------------------------------------------------------------------------------------
// Node

// Built once per lookup and moved straight into the response: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(name = "Node", field(name = "id", ty = "ID"))]
pub enum Node {
    Order(OrderNode),
    Customer(CustomerNode),
    Product(ProductNode),
    ProductVariant(VariantNode),
    AbandonedCheckout(CheckoutNode),
    Refund(RefundNode),
    WebhookSubscription(WebhookSubscriptionNode),
    BulkOperation(BulkOperationNode),
}

fn find_node(request: &RequestData, id: &str) -> Option<Node> {
    let (kind, id) = parse_gid(id)?;
    let shop = &request.shop;
    match kind {
        "Order" => shop
            .orders
            .get(&id)
            .cloned()
            .map(|o| Node::Order(OrderNode(o))),
        "Customer" => shop
            .customers
            .get(&id)
            .cloned()
            .map(|c| Node::Customer(CustomerNode(c))),
        "Product" => shop
            .products
            .get(&id)
            .cloned()
            .map(|p| Node::Product(ProductNode(p))),
        "ProductVariant" => shop
            .products
            .values()
            .flat_map(|p| p.variants.iter())
            .find(|v| v.id == id)
            .cloned()
            .map(|v| Node::ProductVariant(VariantNode(v))),
        "AbandonedCheckout" => shop
            .checkouts
            .get(&id)
            .cloned()
            .map(|c| Node::AbandonedCheckout(CheckoutNode(c))),
        "Refund" => shop.orders.values().find_map(|order| {
            let refund = order.refunds.iter().find(|r| r.id == id)?.clone();
            Some(Node::Refund(RefundNode {
                refund,
                order: order.clone(),
            }))
        }),
        "WebhookSubscription" => lock(&request.entry.grant)
            .subscriptions
            .get(&id)
            .cloned()
            .map(|s| Node::WebhookSubscription(WebhookSubscriptionNode(s))),
        "BulkOperation" => lock(&request.entry.grant)
            .bulk
            .iter()
            .find(|op| op.id == id)
            .map(|op| {
                Node::BulkOperation(BulkOperationNode::from_state(op, &request.sim.base_url))
            }),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------
// Roots

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "OrderSortKeys", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum OrderSortKeys {
    CreatedAt,
    Id,
    ProcessedAt,
    UpdatedAt,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CustomerSortKeys", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum CustomerSortKeys {
    CreatedAt,
    Id,
    UpdatedAt,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "ProductSortKeys", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ProductSortKeys {
    CreatedAt,
    Id,
    UpdatedAt,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "AbandonedCheckoutSortKeys",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum AbandonedCheckoutSortKeys {
    CreatedAt,
    Id,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "WebhookSubscriptionSortKeys",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum WebhookSubscriptionSortKeys {
    CreatedAt,
    Id,
}

#[derive(SimpleObject)]
pub struct ShopifyqlQueryResponse {
    parse_errors: Vec<String>,
    parse_warnings: Vec<String>,
    table_data: Option<ShopifyqlTableData>,
}

#[derive(SimpleObject)]
pub struct ShopifyqlTableData {
    columns: Vec<ShopifyqlTableDataColumn>,
    rows: async_graphql::Json<serde_json::Value>,
}

#[derive(SimpleObject)]
pub struct ShopifyqlTableDataColumn {
    name: String,
    display_name: String,
    data_type: ColumnDataType,
    column_origin: ShopifyqlColumnOrigin,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ShopifyqlColumnOrigin {
    Generated,
    Requested,
    Unspecified,
}

/// The column types the simulator's answers use.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ColumnDataType {
    DayTimestamp,
    WeekTimestamp,
    MonthTimestamp,
    Money,
    Integer,
    Identity,
    Unspecified,
}

impl ColumnDataType {
    fn from_name(name: &str) -> Self {
        match name {
            "DAY_TIMESTAMP" => Self::DayTimestamp,
            "WEEK_TIMESTAMP" => Self::WeekTimestamp,
            "MONTH_TIMESTAMP" => Self::MonthTimestamp,
            "MONEY" => Self::Money,
            "INTEGER" => Self::Integer,
            "IDENTITY" => Self::Identity,
            _ => Self::Unspecified,
        }
    }
}

pub struct QueryRoot;

#[Object]
impl QueryRoot {
    async fn shop(&self) -> ShopNode {
        ShopNode
    }

    /// Shopify's own figures, from the `sales` schema (see `crate::shopifyql`). Needs the
    /// `read_reports` scope.
    async fn shopifyql_query(
        &self,
        ctx: &Context<'_>,
        query: String,
    ) -> Result<Option<ShopifyqlQueryResponse>> {
        let request = data(ctx)?;
        if !request
            .scopes
            .split(',')
            .any(|s| s.trim() == "read_reports")
        {
            return Err(coded_error(
                "Access denied for shopifyqlQuery field. Required access: `read_reports` access scope.",
                "ACCESS_DENIED",
            ));
        }
        let shop = &request.shop;
        let today = Utc::now().with_timezone(&shop.timezone).date_naive();
        Ok(Some(match crate::shopifyql::parse(&query, today) {
            Err(parse_errors) => ShopifyqlQueryResponse {
                parse_errors,
                parse_warnings: Vec::new(),
                table_data: None,
            },
            Ok(query) => {
                let (columns, rows) = crate::shopifyql::run(shop, &query);
                ShopifyqlQueryResponse {
                    parse_errors: Vec::new(),
                    parse_warnings: Vec::new(),
                    table_data: Some(ShopifyqlTableData {
                        columns: columns
                            .into_iter()
                            .map(|c| ShopifyqlTableDataColumn {
                                name: c.name.to_owned(),
                                display_name: c.display_name.to_owned(),
                                data_type: ColumnDataType::from_name(c.data_type),
                                column_origin: ShopifyqlColumnOrigin::Requested,
                            })
                            .collect(),
                        rows: async_graphql::Json(serde_json::Value::Array(rows)),
                    }),
                }
            }
        }))
    }

    #[allow(clippy::too_many_arguments)]
    async fn orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        #[graphql(default_with = "Some(OrderSortKeys::ProcessedAt)")] sort_key: Option<
            OrderSortKeys,
        >,
        query: Option<String>,
    ) -> Result<Connection<String, OrderNode>> {
        let search = search(ctx, query.as_deref())?;
        let shop = &data(ctx)?.shop;
        let items = shop
            .orders
            .values()
            .filter(|o| order_matches(&search, o))
            .map(|o| {
                let key = match sort_key.unwrap_or(OrderSortKeys::ProcessedAt) {
                    OrderSortKeys::Id => o.id,
                    OrderSortKeys::CreatedAt => millis(&o.created_at),
                    OrderSortKeys::UpdatedAt => millis(&o.updated_at),
                    OrderSortKeys::ProcessedAt => millis(&o.processed_at),
                };
                (key, o.id, o)
            })
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: true,
            },
            |o| OrderNode(o.clone()),
        )
    }

    async fn order(&self, ctx: &Context<'_>, id: ID) -> Result<Option<OrderNode>> {
        let shop = &data(ctx)?.shop;
        Ok(parse_gid(&id)
            .and_then(|(_, id)| shop.orders.get(&id))
            .cloned()
            .map(OrderNode))
    }

    #[allow(clippy::too_many_arguments)]
    async fn customers(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        #[graphql(default_with = "Some(CustomerSortKeys::Id)")] sort_key: Option<CustomerSortKeys>,
        query: Option<String>,
    ) -> Result<Connection<String, CustomerNode>> {
        let search = search(ctx, query.as_deref())?;
        let shop = &data(ctx)?.shop;
        let items = shop
            .customers
            .values()
            .filter(|c| customer_matches(&search, c))
            .map(|c| {
                let key = match sort_key.unwrap_or(CustomerSortKeys::Id) {
                    CustomerSortKeys::Id => c.id,
                    CustomerSortKeys::CreatedAt => millis(&c.created_at),
                    CustomerSortKeys::UpdatedAt => millis(&c.updated_at),
                };
                (key, c.id, c)
            })
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: true,
            },
            |c| CustomerNode(c.clone()),
        )
    }

    async fn customers_count(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        #[graphql(default_with = "COUNT_LIMIT")] limit: Option<i32>,
    ) -> Result<Option<Count>> {
        count_matching(ctx, query, limit, |shop| &shop.customers, customer_matches)
    }

    async fn products_count(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        #[graphql(default_with = "COUNT_LIMIT")] limit: Option<i32>,
    ) -> Result<Option<Count>> {
        count_matching(ctx, query, limit, |shop| &shop.products, product_matches)
    }

    async fn orders_count(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        #[graphql(default_with = "COUNT_LIMIT")] limit: Option<i32>,
    ) -> Result<Option<Count>> {
        count_matching(ctx, query, limit, |shop| &shop.orders, order_matches)
    }

    async fn abandoned_checkouts_count(
        &self,
        ctx: &Context<'_>,
        query: Option<String>,
        #[graphql(default_with = "COUNT_LIMIT")] limit: Option<i32>,
    ) -> Result<Option<Count>> {
        count_matching(
            ctx,
            query,
            limit,
            |shop| &shop.checkouts,
            abandoned_checkout_matches,
        )
    }

    async fn customer(&self, ctx: &Context<'_>, id: ID) -> Result<Option<CustomerNode>> {
        let shop = &data(ctx)?.shop;
        Ok(parse_gid(&id)
            .and_then(|(_, id)| shop.customers.get(&id))
            .cloned()
            .map(CustomerNode))
    }

    #[allow(clippy::too_many_arguments)]
    async fn products(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        #[graphql(default_with = "Some(ProductSortKeys::Id)")] sort_key: Option<ProductSortKeys>,
        query: Option<String>,
    ) -> Result<Connection<String, ProductNode>> {
        let search = search(ctx, query.as_deref())?;
        let shop = &data(ctx)?.shop;
        let items = shop
            .products
            .values()
            .filter(|p| product_matches(&search, p))
            .map(|p| {
                let key = match sort_key.unwrap_or(ProductSortKeys::Id) {
                    ProductSortKeys::Id => p.id,
                    ProductSortKeys::CreatedAt => millis(&p.created_at),
                    ProductSortKeys::UpdatedAt => millis(&p.updated_at),
                };
                (key, p.id, p)
            })
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: true,
            },
            |p| ProductNode(p.clone()),
        )
    }

    async fn product(&self, ctx: &Context<'_>, id: ID) -> Result<Option<ProductNode>> {
        let shop = &data(ctx)?.shop;
        Ok(parse_gid(&id)
            .and_then(|(_, id)| shop.products.get(&id))
            .cloned()
            .map(ProductNode))
    }

    /// Checkouts that were never completed.
    #[allow(clippy::too_many_arguments)]
    async fn abandoned_checkouts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        #[graphql(default_with = "Some(AbandonedCheckoutSortKeys::Id)")] sort_key: Option<
            AbandonedCheckoutSortKeys,
        >,
        query: Option<String>,
    ) -> Result<Connection<String, CheckoutNode>> {
        let search = search(ctx, query.as_deref())?;
        let shop = &data(ctx)?.shop;
        let items = shop
            .checkouts
            .values()
            .filter(|c| abandoned_checkout_matches(&search, c))
            .map(|c| {
                let key = match sort_key.unwrap_or(AbandonedCheckoutSortKeys::Id) {
                    AbandonedCheckoutSortKeys::Id => c.id,
                    AbandonedCheckoutSortKeys::CreatedAt => millis(&c.created_at),
                };
                (key, c.id, c)
            })
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: true,
            },
            |c| CheckoutNode(c.clone()),
        )
    }

    #[allow(clippy::too_many_arguments)]
    async fn deletion_events(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        subject_types: Option<Vec<DeletionEventSubjectType>>,
        query: Option<String>,
    ) -> Result<Connection<String, DeletionEventNode>> {
        let search = search(ctx, query.as_deref())?;
        let wants_products =
            subject_types.is_none_or(|types| types.contains(&DeletionEventSubjectType::Product));
        let shop = &data(ctx)?.shop;
        let items = shop
            .deletions
            .iter()
            .filter(|_| wants_products)
            .filter(|d| {
                search.matches(
                    |field| {
                        (field == "occurred_at" || field == "created_at")
                            .then(|| utc(&d.occurred_at))
                    },
                    |_| None,
                )
            })
            .map(|d| (millis(&d.occurred_at), d.subject_id, d.clone()))
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: true,
            },
            DeletionEventNode,
        )
    }

    async fn node(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Node>> {
        Ok(find_node(data(ctx)?, &id))
    }

    async fn nodes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> Result<Vec<Option<Node>>> {
        if ids.len() > 250 {
            return Err(Error::new("The ids argument accepts at most 250 ids"));
        }
        let request = data(ctx)?;
        Ok(ids.iter().map(|id| find_node(request, id)).collect())
    }

    #[allow(clippy::too_many_arguments)]
    async fn webhook_subscriptions(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        #[graphql(default_with = "Some(WebhookSubscriptionSortKeys::CreatedAt)")] sort_key: Option<
            WebhookSubscriptionSortKeys,
        >,
        topics: Option<Vec<WebhookSubscriptionTopic>>,
    ) -> Result<Connection<String, WebhookSubscriptionNode>> {
        let wanted: Option<Vec<String>> =
            topics.map(|t| t.into_iter().map(WebhookSubscriptionTopic::topic).collect());
        let subscriptions: Vec<_> = lock(&data(ctx)?.entry.grant)
            .subscriptions
            .values()
            .cloned()
            .collect();
        let items = subscriptions
            .into_iter()
            .filter(|s| wanted.as_ref().is_none_or(|w| w.contains(&s.topic)))
            .map(|s| {
                let key = match sort_key.unwrap_or(WebhookSubscriptionSortKeys::CreatedAt) {
                    WebhookSubscriptionSortKeys::Id => s.id,
                    WebhookSubscriptionSortKeys::CreatedAt => s.created_at.timestamp_millis(),
                };
                (key, s.id, s)
            })
            .collect();
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: true,
            },
            WebhookSubscriptionNode,
        )
    }

    async fn bulk_operation(&self, ctx: &Context<'_>, id: ID) -> Result<Option<BulkOperationNode>> {
        let request = data(ctx)?;
        let wanted = parse_gid(&id).filter(|(kind, _)| *kind == "BulkOperation");
        let grant = lock(&request.entry.grant);
        Ok(wanted.and_then(|(_, id)| {
            grant
                .bulk
                .iter()
                .find(|op| op.id == id)
                .map(|op| BulkOperationNode::from_state(op, &request.sim.base_url))
        }))
    }

    /// The app's bulk operations on this shop; `query` filters by `status:` (terms joined
    /// with `OR`), the filter Shopify suggests in place of `currentBulkOperation`.
    #[allow(clippy::too_many_arguments)]
    async fn bulk_operations(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        query: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        #[graphql(default_with = "Some(BulkOperationsSortKeys::CreatedAt)")] sort_key: Option<
            BulkOperationsSortKeys,
        >,
    ) -> Result<Connection<String, BulkOperationNode>> {
        let request = data(ctx)?;
        let statuses = bulk_status_filter(query.as_deref())?;
        let items = {
            let grant = lock(&request.entry.grant);
            grant
                .bulk
                .iter()
                .filter(|op| {
                    statuses
                        .as_ref()
                        .is_none_or(|s| s.iter().any(|s| s == op.status))
                })
                .map(|op| {
                    let at = match sort_key {
                        Some(BulkOperationsSortKeys::CompletedAt) => {
                            op.completed_at.unwrap_or(op.created_at)
                        }
                        _ => op.created_at,
                    };
                    (
                        at.timestamp_millis(),
                        op.id,
                        BulkOperationNode::from_state(op, &request.sim.base_url),
                    )
                })
                .collect()
        };
        paginate(
            ctx,
            items,
            &Page {
                first,
                after,
                last,
                before,
                reverse,
                root: false,
            },
            |node| node,
        )
    }

    #[graphql(deprecation = "Use `bulkOperations` with status filter instead.")]
    async fn current_bulk_operation(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "type", default_with = "Some(BulkOperationType::Query)")] _kind: Option<
            BulkOperationType,
        >,
    ) -> Result<Option<BulkOperationNode>> {
        let request = data(ctx)?;
        let grant = lock(&request.entry.grant);
        Ok(grant
            .bulk
            .last()
            .map(|op| BulkOperationNode::from_state(op, &request.sim.base_url)))
    }
}

pub struct MutationRoot;

impl MutationRoot {
    async fn create_subscription(
        &self,
        ctx: &Context<'_>,
        topic: WebhookSubscriptionTopic,
        webhook_subscription: WebhookSubscriptionInput,
    ) -> Result<WebhookSubscriptionCreatePayload> {
        let request = data(ctx)?;
        let address = webhook_subscription
            .uri
            .or(webhook_subscription.callback_url.map(|Url(url)| url));
        let Some(callback_url) = address.filter(|a| !a.is_empty()) else {
            return Ok(WebhookSubscriptionCreatePayload {
                webhook_subscription: None,
                user_errors: vec![user_error(
                    &["webhookSubscription", "uri"],
                    "Address can't be blank",
                )],
            });
        };
        if webhook_subscription.format == Some(WebhookSubscriptionFormat::Xml) {
            return Ok(WebhookSubscriptionCreatePayload {
                webhook_subscription: None,
                user_errors: vec![user_error(
                    &["webhookSubscription", "format"],
                    "The simulator delivers JSON only",
                )],
            });
        }
        let _ = webhook_subscription.include_fields;
        let topic = topic.topic();
        let mut grant = lock(&request.entry.grant);
        if grant
            .subscriptions
            .values()
            .any(|s| s.topic == topic && s.callback_url == callback_url)
        {
            return Ok(WebhookSubscriptionCreatePayload {
                webhook_subscription: None,
                user_errors: vec![user_error(
                    &["webhookSubscription", "uri"],
                    "Address for this topic has already been taken",
                )],
            });
        }
        let subscription = crate::state::Subscription {
            id: request.sim.next_id(),
            topic,
            callback_url,
            created_at: Utc::now(),
        };
        grant
            .subscriptions
            .insert(subscription.id, subscription.clone());
        Ok(WebhookSubscriptionCreatePayload {
            webhook_subscription: Some(WebhookSubscriptionNode(subscription)),
            user_errors: Vec::new(),
        })
    }

    async fn delete_subscription(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<WebhookSubscriptionDeletePayload> {
        let request = data(ctx)?;
        let removed = parse_gid(&id)
            .filter(|(kind, _)| *kind == "WebhookSubscription")
            .and_then(|(_, id)| lock(&request.entry.grant).subscriptions.remove(&id));
        Ok(match removed {
            Some(_) => WebhookSubscriptionDeletePayload {
                deleted_webhook_subscription_id: Some(id),
                user_errors: Vec::new(),
            },
            None => WebhookSubscriptionDeletePayload {
                deleted_webhook_subscription_id: None,
                user_errors: vec![user_error(&["id"], "Webhook subscription does not exist")],
            },
        })
    }

    async fn run_bulk_query(
        &self,
        ctx: &Context<'_>,
        query: String,
        group_objects: bool,
    ) -> Result<BulkOperationRunQueryPayload> {
        let request = data(ctx)?;
        if request.sim.faults().bulk_unavailable {
            return Err(coded_error(
                "Access denied for bulkOperationRunQuery field.",
                "ACCESS_DENIED",
            ));
        }
        // `groupObjects` came with API 2026-01, defaulting to false; before, exports were
        // always grouped (one schema serves every version here: asking for grouping from an
        // older version is refused as Shopify refuses the unknown argument).
        let grouped = if request.version.as_str() >= "2026-01" {
            group_objects
        } else if group_objects {
            return Err(Error::new(
                "Field 'bulkOperationRunQuery' doesn't accept argument 'groupObjects'",
            ));
        } else {
            true
        };
        let started = match crate::bulk::validate(request, &query).await {
            Ok(()) => crate::bulk::start(request, query, grouped),
            Err(message) => Err((BulkOperationUserErrorCode::Invalid, message)),
        };
        match started {
            Ok(node) => Ok(BulkOperationRunQueryPayload {
                bulk_operation: Some(node),
                user_errors: Vec::new(),
            }),
            Err((code, message)) => Ok(BulkOperationRunQueryPayload {
                bulk_operation: None,
                user_errors: vec![BulkOperationUserError {
                    code: Some(code),
                    field: Some(vec!["query".to_owned()]),
                    message,
                }],
            }),
        }
    }
}

/// Shopify's mutation payloads are nullable.
#[Object(name = "Mutation")]
impl MutationRoot {
    async fn webhook_subscription_create(
        &self,
        ctx: &Context<'_>,
        topic: WebhookSubscriptionTopic,
        webhook_subscription: WebhookSubscriptionInput,
    ) -> Result<Option<WebhookSubscriptionCreatePayload>> {
        self.create_subscription(ctx, topic, webhook_subscription)
            .await
            .map(Some)
    }

    async fn webhook_subscription_delete(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<Option<WebhookSubscriptionDeletePayload>> {
        self.delete_subscription(ctx, id).await.map(Some)
    }

    async fn bulk_operation_run_query(
        &self,
        ctx: &Context<'_>,
        query: String,
        #[graphql(default = false)] group_objects: bool,
    ) -> Result<Option<BulkOperationRunQueryPayload>> {
        self.run_bulk_query(ctx, query, group_objects)
            .await
            .map(Some)
    }
}

/// A GraphQL error with Shopify's `extensions.code`.
pub fn coded_error(message: impl Into<String>, code: &str) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", code))
}
