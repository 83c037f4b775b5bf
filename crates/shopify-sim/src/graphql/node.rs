//! `node` and `nodes`: any object by its global id.

use super::*;

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

pub(crate) fn find_node(request: &RequestData, id: &str) -> Option<Node> {
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

#[derive(Default)]
pub struct NodeQuery;

#[Object]
impl NodeQuery {
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
}
