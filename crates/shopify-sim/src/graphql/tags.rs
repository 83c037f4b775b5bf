//! `tagsAdd` and `tagsRemove` on customers (Shopify's take any taggable id; the simulator's
//! customers are what apps tag). They need `write_customers`. A request reads the shop under
//! a shared lock, so each change is queued here and applied once the request has run: the
//! customer's tags change, its `updated_at` moves, and `customers/update` goes out.

use std::sync::Mutex;

use super::*;

/// Tag changes a request asked for, applied after it ran.
#[derive(Default)]
pub struct TagChanges(Mutex<Vec<TagChange>>);

pub struct TagChange {
    pub customer_id: i64,
    pub tags: Vec<String>,
    pub add: bool,
}

impl TagChanges {
    pub fn take(&self) -> Vec<TagChange> {
        std::mem::take(&mut *lock(&self.0))
    }
}

/// Shopify splits a tag list on commas and trims each tag.
fn split_tags(tags: &[String]) -> Vec<String> {
    tags.iter()
        .flat_map(|t| t.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Shop {
    /// Adds or removes `tags` on a customer; the webhook it causes, if anything changed.
    pub fn retag(
        &mut self,
        change: &TagChange,
        now: chrono::DateTime<Utc>,
    ) -> Option<crate::shop::Change> {
        let ts = self.local(now);
        let customer = self.customers.get_mut(&change.customer_id)?;
        let mut current: Vec<String> = split_tags(std::slice::from_ref(&customer.tags));
        let before = current.clone();
        for tag in &change.tags {
            let has = current.iter().any(|t| t.eq_ignore_ascii_case(tag));
            if change.add && !has {
                current.push(tag.clone());
            } else if !change.add {
                current.retain(|t| !t.eq_ignore_ascii_case(tag));
            }
        }
        if current == before {
            return None;
        }
        current.sort_by_key(|t| t.to_lowercase());
        customer.tags = current.join(", ");
        customer.updated_at = crate::shop::later(customer.updated_at, ts);
        Some(crate::shop::Change {
            topic: "customers/update",
            payload: serde_json::to_value(&*customer).unwrap_or_default(),
        })
    }
}

#[derive(SimpleObject)]
#[graphql(name = "TagsAddPayload")]
pub struct TagsAddPayload {
    node: Option<Node>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
#[graphql(name = "TagsRemovePayload")]
pub struct TagsRemovePayload {
    node: Option<Node>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct TagsMutation;

#[Object]
impl TagsMutation {
    async fn tags_add(
        &self,
        ctx: &Context<'_>,
        id: ID,
        tags: Vec<String>,
    ) -> Result<Option<TagsAddPayload>> {
        let (node, user_errors) = queue(ctx, &id, tags, true)?;
        Ok(Some(TagsAddPayload { node, user_errors }))
    }

    async fn tags_remove(
        &self,
        ctx: &Context<'_>,
        id: ID,
        tags: Vec<String>,
    ) -> Result<Option<TagsRemovePayload>> {
        let (node, user_errors) = queue(ctx, &id, tags, false)?;
        Ok(Some(TagsRemovePayload { node, user_errors }))
    }
}

fn queue(
    ctx: &Context<'_>,
    id: &ID,
    tags: Vec<String>,
    add: bool,
) -> Result<(Option<Node>, Vec<UserError>)> {
    let request = data(ctx)?;
    if !request
        .scopes
        .split(',')
        .any(|s| s.trim() == "write_customers")
    {
        return Err(coded_error(
            "Access denied for tagsAdd field. Required access: `write_customers` access scope.",
            "ACCESS_DENIED",
        ));
    }
    let tags = split_tags(&tags);
    if tags.is_empty() {
        return Ok((None, vec![user_error(&["tags"], "Tags can't be blank")]));
    }
    match (parse_gid(id), find_node(request, id)) {
        (Some(("Customer", customer_id)), Some(node)) => {
            lock(&request.tag_changes.0).push(TagChange {
                customer_id,
                tags,
                add,
            });
            Ok((Some(node), Vec::new()))
        }
        _ => Ok((None, vec![user_error(&["id"], "Not Found")])),
    }
}
