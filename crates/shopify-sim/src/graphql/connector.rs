//! Fields production connectors ask for in their exports beyond what Xeno reads: an order's
//! transactions and risk, metafields, a product's media and a customer's addresses. Their
//! data is derived from the records, deterministically.

use super::*;

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "OrderTransactionKind", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum OrderTransactionKind {
    Authorization,
    Refund,
    Sale,
    Void,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "OrderTransactionStatus", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum OrderTransactionStatus {
    Failure,
    Pending,
    Success,
}

#[derive(SimpleObject)]
#[graphql(name = "OrderTransaction")]
pub struct OrderTransactionNode {
    id: ID,
    kind: OrderTransactionKind,
    status: OrderTransactionStatus,
    gateway: Option<String>,
    amount_set: MoneyBag,
    created_at: DateTime,
    processed_at: Option<DateTime>,
    test: bool,
}

/// The payment's life: a sale when paid, an authorisation (voided when the order was) when
/// not captured, a pending sale while payment is awaited; then each refund's transactions.
pub(crate) fn transactions(order: &model::Order) -> Vec<OrderTransactionNode> {
    let node = |n: i64, kind, status, amount, at: model::Timestamp| OrderTransactionNode {
        id: ID(gid("OrderTransaction", order.id.saturating_mul(10) + n)),
        kind,
        status,
        gateway: Some("bogus".to_owned()),
        amount_set: money_bag(amount, &order.currency),
        created_at: DateTime(at),
        processed_at: Some(DateTime(at)),
        test: order.test,
    };
    use OrderTransactionKind as Kind;
    use OrderTransactionStatus as Status;
    let (total, placed) = (order.total_price, order.processed_at);
    let mut all = match order.financial_status.as_str() {
        "pending" => vec![node(0, Kind::Sale, Status::Pending, total, placed)],
        "authorized" => vec![node(0, Kind::Authorization, Status::Success, total, placed)],
        "voided" => vec![
            node(0, Kind::Authorization, Status::Success, total, placed),
            node(
                1,
                Kind::Void,
                Status::Success,
                total,
                order.cancelled_at.unwrap_or(placed),
            ),
        ],
        _ => vec![node(0, Kind::Sale, Status::Success, total, placed)],
    };
    for refund in &order.refunds {
        for t in &refund.transactions {
            all.push(OrderTransactionNode {
                id: ID(gid("OrderTransaction", t.id)),
                kind: Kind::Refund,
                status: if t.status == "success" {
                    Status::Success
                } else {
                    Status::Failure
                },
                gateway: Some(t.gateway.clone()),
                amount_set: money_bag(t.amount, &order.currency),
                created_at: DateTime(refund.created_at),
                processed_at: Some(DateTime(refund.processed_at)),
                test: order.test,
            });
        }
    }
    all
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "RiskAssessmentResult", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum RiskAssessmentResult {
    High,
    Low,
    Medium,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "RiskFactSentiment", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum RiskFactSentiment {
    Negative,
    Neutral,
    Positive,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(
    name = "OrderRiskRecommendationResult",
    rename_items = "SCREAMING_SNAKE_CASE"
)]
pub enum OrderRiskRecommendationResult {
    Accept,
    Cancel,
    Investigate,
}

#[derive(SimpleObject)]
#[graphql(name = "RiskFact")]
pub struct RiskFact {
    description: String,
    sentiment: RiskFactSentiment,
}

#[derive(SimpleObject)]
#[graphql(name = "OrderRiskAssessment")]
pub struct OrderRiskAssessment {
    risk_level: RiskAssessmentResult,
    facts: Vec<RiskFact>,
}

#[derive(SimpleObject)]
#[graphql(name = "OrderRiskSummary")]
pub struct OrderRiskSummary {
    assessments: Vec<OrderRiskAssessment>,
    recommendation: OrderRiskRecommendationResult,
}

/// Most orders are low risk; one in ten is worth a look, one in forty high.
pub(crate) fn risk(order: &model::Order) -> OrderRiskSummary {
    let (level, recommendation, fact, sentiment) = match order.id.rem_euclid(40) {
        0 => (
            RiskAssessmentResult::High,
            OrderRiskRecommendationResult::Cancel,
            "The billing address does not match the card's",
            RiskFactSentiment::Negative,
        ),
        n if n % 10 == 0 => (
            RiskAssessmentResult::Medium,
            OrderRiskRecommendationResult::Investigate,
            "Several cards were tried",
            RiskFactSentiment::Neutral,
        ),
        _ => (
            RiskAssessmentResult::Low,
            OrderRiskRecommendationResult::Accept,
            "The card's security code matched",
            RiskFactSentiment::Positive,
        ),
    };
    OrderRiskSummary {
        assessments: vec![OrderRiskAssessment {
            risk_level: level,
            facts: vec![RiskFact {
                description: fact.to_owned(),
                sentiment,
            }],
        }],
        recommendation,
    }
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Metafield")]
pub struct MetafieldNode {
    id: ID,
    namespace: String,
    key: String,
    value: String,
    #[graphql(name = "type")]
    kind: String,
}

/// One metafield of an owner, numbered after it.
pub(crate) fn metafield(
    owner_id: i64,
    n: i64,
    key: &str,
    kind: &str,
    value: String,
) -> (i64, MetafieldNode) {
    let id = owner_id.saturating_mul(100) + n;
    (
        id,
        MetafieldNode {
            id: ID(gid("Metafield", id)),
            namespace: "custom".to_owned(),
            key: key.to_owned(),
            value,
            kind: kind.to_owned(),
        },
    )
}

/// The arguments of a `metafields` connection.
#[derive(Default)]
pub(crate) struct MetafieldFilter {
    pub(crate) namespace: Option<String>,
    pub(crate) keys: Option<Vec<String>>,
}

/// Pages an owner's metafields, filtered as Shopify filters them (`keys` are
/// `namespace.key`).
pub(crate) fn metafield_connection(
    ctx: &Context<'_>,
    fields: Vec<(i64, MetafieldNode)>,
    filter: MetafieldFilter,
    page: &Page,
) -> Result<Connection<String, MetafieldNode>> {
    let items = fields
        .into_iter()
        .filter(|(_, m)| {
            filter
                .namespace
                .as_ref()
                .is_none_or(|ns| *ns == m.namespace)
        })
        .filter(|(_, m)| {
            filter
                .keys
                .as_ref()
                .is_none_or(|keys| keys.contains(&format!("{}.{}", m.namespace, m.key)))
        })
        .map(|(id, m)| (id, id, m))
        .collect();
    paginate(ctx, items, page, |m| m)
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "MediaContentType", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum MediaContentType {
    Image,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "MediaStatus", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum MediaStatus {
    Ready,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Image")]
pub struct ImageNode {
    id: Option<ID>,
    url: Url,
    alt_text: Option<String>,
    width: Option<i32>,
    height: Option<i32>,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MediaImage")]
pub struct MediaImageNode {
    id: ID,
    alt: Option<String>,
    media_content_type: MediaContentType,
    status: MediaStatus,
    image: Option<ImageNode>,
}

/// Shopify's `Media` interface, of which the simulator has images.
#[derive(Interface, Clone)]
#[graphql(
    name = "Media",
    field(name = "id", ty = "&ID"),
    field(name = "alt", ty = "&Option<String>"),
    field(name = "media_content_type", ty = "&MediaContentType"),
    field(name = "status", ty = "&MediaStatus")
)]
pub enum Media {
    MediaImage(MediaImageNode),
}

/// A product's pictures: one per variant option value shown, the first its cover.
pub(crate) fn media(product: &model::Product) -> Vec<(i64, Media)> {
    (0..product.variants.len().clamp(1, 3) as i64)
        .map(|n| {
            let id = product.id.saturating_mul(10) + n;
            let alt = Some(format!("{} ({})", product.title, n + 1));
            (
                id,
                Media::MediaImage(MediaImageNode {
                    id: ID(gid("MediaImage", id)),
                    alt: alt.clone(),
                    media_content_type: MediaContentType::Image,
                    status: MediaStatus::Ready,
                    image: Some(ImageNode {
                        id: Some(ID(gid("ImageSource", id))),
                        url: Url(format!(
                            "https://cdn.shopify.sim/products/{}-{}.jpg",
                            product.handle,
                            n + 1
                        )),
                        alt_text: alt,
                        width: Some(1024),
                        height: Some(1024),
                    }),
                }),
            )
        })
        .collect()
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "MailingAddress")]
pub struct MailingAddressNode {
    id: ID,
    first_name: Option<String>,
    last_name: Option<String>,
    address1: Option<String>,
    city: Option<String>,
    province: Option<String>,
    country: Option<String>,
    country_code_v2: Option<CountryCode>,
    zip: Option<String>,
}

/// A customer's addresses, numbered after the customer.
pub(crate) fn addresses(customer: &model::Customer) -> Vec<(i64, MailingAddressNode)> {
    customer
        .addresses
        .iter()
        .enumerate()
        .map(|(n, a)| {
            let id = customer.id.saturating_mul(10) + n as i64;
            (
                id,
                MailingAddressNode {
                    id: ID(gid("MailingAddress", id)),
                    first_name: customer.first_name.clone(),
                    last_name: customer.last_name.clone(),
                    address1: Some(a.address1.clone()),
                    city: Some(a.city.clone()),
                    province: a.province.clone(),
                    country: Some(a.country.clone()),
                    country_code_v2: CountryCode::from_code(&a.country_code),
                    zip: Some(a.zip.clone()),
                },
            )
        })
        .collect()
}
