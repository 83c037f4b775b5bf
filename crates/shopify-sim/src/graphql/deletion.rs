//! Deletion events (what the shop deleted, for syncs).

use super::*;

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

#[derive(Default)]
pub struct DeletionQuery;

#[Object]
impl DeletionQuery {
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
}
