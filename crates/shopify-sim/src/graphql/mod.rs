//! The Admin GraphQL schema: the subset of Shopify's types, fields, arguments and names that
//! Xeno uses, each named exactly as in Shopify's Admin API.

mod bulk_export;
mod bulk_operation;
mod checkout;
mod connector;
mod customer;
mod deletion;
mod money;
mod node;
mod order;
mod paging;
mod product;
mod refund;
mod reports;
mod scalars;
mod shop;
mod tags;
mod webhooks;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{
    Context, EmptySubscription, Enum, Error, ErrorExtensions, InputObject, InputValueError,
    InputValueResult, Interface, MergedObject, Object, OutputType, Result, Scalar, ScalarType,
    Schema, SimpleObject, Union, Value, ID,
};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use chrono::{SecondsFormat, Utc};
use tokio::sync::OwnedRwLockReadGuard;

use crate::model::{self, gid, parse_gid};
use crate::search::Search;
use crate::shop::Shop;
use crate::state::{lock, ShopEntry, Sim};

pub use self::bulk_operation::*;
pub use self::checkout::*;
pub use self::connector::*;
pub use self::customer::*;
pub use self::deletion::*;
pub use self::money::*;
pub use self::node::*;
pub use self::order::*;
pub use self::paging::*;
pub use self::product::*;
pub use self::refund::*;
pub use self::reports::*;
pub use self::scalars::*;
pub use self::shop::*;
pub use self::tags::*;
pub use self::webhooks::*;

pub type AdminSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

pub fn schema() -> AdminSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        EmptySubscription,
    )
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
    /// Writes the request asked for, applied after it ran (see `tags`).
    pub tag_changes: Arc<TagChanges>,
}

fn data<'a>(ctx: &Context<'a>) -> Result<&'a RequestData> {
    ctx.data::<RequestData>()
}

/// A GraphQL error with Shopify's `extensions.code`.
pub fn coded_error(message: impl Into<String>, code: &str) -> Error {
    Error::new(message).extend_with(|_, e| e.set("code", code))
}

// Every query field, gathered from the files that own their types (comments, not docs:
// docs would become the schema's descriptions).
#[derive(MergedObject, Default)]
#[graphql(name = "QueryRoot")]
pub struct QueryRoot(
    ShopQuery,
    CustomerQuery,
    ProductQuery,
    OrderQuery,
    CheckoutQuery,
    ReportsQuery,
    DeletionQuery,
    NodeQuery,
    WebhookQuery,
    BulkOperationQuery,
);

// Every mutation, gathered the same way. Shopify's mutation payloads are nullable.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(WebhookMutation, BulkOperationMutation, TagsMutation);

/// The schema, built once per process.
pub(crate) fn schema_once() -> &'static AdminSchema {
    static SCHEMA: std::sync::OnceLock<AdminSchema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(schema)
}
