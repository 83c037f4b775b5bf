//! Customers, their contact points and consent.

use super::*;

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
    pub(crate) email_address: String,
    pub(crate) marketing_state: CustomerEmailAddressMarketingState,
    pub(crate) marketing_updated_at: Option<DateTime>,
}

#[derive(SimpleObject)]
#[graphql(name = "CustomerPhoneNumber")]
pub struct CustomerPhoneNumber {
    pub(crate) phone_number: String,
}

#[derive(SimpleObject)]
#[graphql(name = "CustomerEmailMarketingConsentState")]
pub struct EmailMarketingConsent {
    pub(crate) marketing_state: CustomerEmailMarketingState,
    pub(crate) consent_updated_at: Option<DateTime>,
}

pub struct CustomerNode(pub model::Customer);

#[Object(name = "Customer")]
impl CustomerNode {
    pub(crate) async fn id(&self) -> ID {
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
    async fn addresses_v2(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
    ) -> Result<Connection<String, MailingAddressNode>> {
        let items = addresses(&self.0)
            .into_iter()
            .map(|(id, a)| (id, id, a))
            .collect();
        let page = Page {
            first,
            after,
            last,
            before,
            reverse,
            root: false,
        };
        paginate(ctx, items, &page, |a| a)
    }
    /// A loyalty tier and the customer's birthday month, as a loyalty app would keep them.
    #[allow(clippy::too_many_arguments)]
    async fn metafields(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
        #[graphql(default_with = "Some(false)")] reverse: Option<bool>,
        namespace: Option<String>,
        keys: Option<Vec<String>>,
    ) -> Result<Connection<String, MetafieldNode>> {
        let id = self.0.id;
        let tier = ["bronze", "silver", "gold"][id.rem_euclid(3) as usize];
        let fields = vec![
            metafield(
                id,
                0,
                "loyalty_tier",
                "single_line_text_field",
                tier.to_owned(),
            ),
            metafield(
                id,
                1,
                "birthday_month",
                "number_integer",
                (id.rem_euclid(12) + 1).to_string(),
            ),
        ];
        let page = Page {
            first,
            after,
            last,
            before,
            reverse,
            root: false,
        };
        metafield_connection(ctx, fields, MetafieldFilter { namespace, keys }, &page)
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
pub(crate) fn customer_node(ctx: &Context<'_>, id: Option<i64>) -> Result<Option<CustomerNode>> {
    let shop = &data(ctx)?.shop;
    Ok(id
        .and_then(|id| shop.customers.get(&id))
        .cloned()
        .map(CustomerNode))
}

pub(crate) fn split_tags(tags: &str) -> Vec<String> {
    tags.split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CustomerSortKeys", rename_items = "SCREAMING_SNAKE_CASE")]
pub enum CustomerSortKeys {
    CreatedAt,
    Id,
    UpdatedAt,
}

#[derive(Default)]
pub struct CustomerQuery;

#[Object]
impl CustomerQuery {
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

    async fn customer(&self, ctx: &Context<'_>, id: ID) -> Result<Option<CustomerNode>> {
        let shop = &data(ctx)?.shop;
        Ok(parse_gid(&id)
            .and_then(|(_, id)| shop.customers.get(&id))
            .cloned()
            .map(CustomerNode))
    }
}
