//! Webhook subscriptions: topics, listing, create and delete.

use super::*;

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

    pub(crate) fn screaming(self) -> String {
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
    pub(crate) callback_url: Option<Url>,
    pub(crate) uri: Option<String>,
    pub(crate) format: Option<WebhookSubscriptionFormat>,
    pub(crate) include_fields: Option<Vec<String>>,
}

#[derive(SimpleObject)]
#[graphql(name = "WebhookHttpEndpoint")]
pub struct WebhookHttpEndpoint {
    pub(crate) callback_url: Url,
}

#[derive(Union)]
#[graphql(name = "WebhookSubscriptionEndpoint")]
pub enum WebhookSubscriptionEndpoint {
    WebhookHttpEndpoint(WebhookHttpEndpoint),
}

pub struct WebhookSubscriptionNode(pub crate::state::Subscription);

#[Object(name = "WebhookSubscription")]
impl WebhookSubscriptionNode {
    pub(crate) async fn id(&self) -> ID {
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
    pub(crate) field: Option<Vec<String>>,
    pub(crate) message: String,
}

pub(crate) fn user_error(field: &[&str], message: impl Into<String>) -> UserError {
    UserError {
        field: (!field.is_empty()).then(|| field.iter().map(|f| (*f).to_owned()).collect()),
        message: message.into(),
    }
}

#[derive(SimpleObject)]
#[graphql(name = "WebhookSubscriptionCreatePayload")]
pub struct WebhookSubscriptionCreatePayload {
    pub(crate) webhook_subscription: Option<WebhookSubscriptionNode>,
    pub(crate) user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
#[graphql(name = "WebhookSubscriptionDeletePayload")]
pub struct WebhookSubscriptionDeletePayload {
    pub(crate) deleted_webhook_subscription_id: Option<ID>,
    pub(crate) user_errors: Vec<UserError>,
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

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
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
}

impl WebhookMutation {
    pub(crate) async fn create_subscription(
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

    pub(crate) async fn delete_subscription(
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
}

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
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
}
