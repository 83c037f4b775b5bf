//! The shop and its plan.

use super::*;

#[derive(SimpleObject)]
#[graphql(name = "ShopPlan")]
pub struct ShopPlan {
    #[graphql(deprecation = "Use `publicDisplayName` instead.")]
    pub(crate) display_name: String,
    pub(crate) public_display_name: String,
    pub(crate) partner_development: bool,
    pub(crate) shopify_plus: bool,
}

pub struct ShopNode;

#[Object(name = "Shop")]
impl ShopNode {
    pub(crate) async fn id(&self, ctx: &Context<'_>) -> Result<ID> {
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

#[derive(Default)]
pub struct ShopQuery;

#[Object]
impl ShopQuery {
    async fn shop(&self) -> ShopNode {
        ShopNode
    }
}
