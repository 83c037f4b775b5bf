//! Cursor-paginated customers, orders and products, and a customer's detail.

mod customers;
mod orders;
mod products;

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_storage::lists::{
    After, CustomerItem, CustomerSort, Direction, ListQuery, OrderFilters, OrderItem, OrderSort,
    ProductItem, ProductSort,
};

use crate::auth::AuthUser;
use crate::error::{ApiError, Problem};
use crate::extract::{ApiPath, ApiQuery};
use crate::paging::{decode_cursor, encode_cursor, page_limit};
use crate::state::AppState;

pub use self::customers::*;
pub use self::orders::*;
pub use self::products::*;

#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    Asc,
    Desc,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub(crate) data: Vec<T>,
    /// Pass as `cursor` for the next page; null on the last.
    pub(crate) next_cursor: Option<String>,
}

/// The cursor's content: the sort it belongs to and where the page stopped.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Cursor {
    pub(crate) sort: String,
    pub(crate) desc: bool,
    pub(crate) key: Option<String>,
    pub(crate) store: Uuid,
    pub(crate) id: i64,
}

pub(crate) struct Common<S> {
    pub(crate) list: ListQuery<S>,
    pub(crate) sort_name: String,
}

/// What every list request asks, whatever it lists.
pub(crate) struct Asked {
    pub(crate) store: Option<Uuid>,
    pub(crate) q: Option<String>,
    pub(crate) sort: Option<String>,
    pub(crate) order: Option<Order>,
    pub(crate) limit: Option<u32>,
    pub(crate) cursor: Option<String>,
}

pub(crate) fn common<S: Copy>(
    tenant: TenantId,
    asked: Asked,
    sorts: &[(&str, S, Direction)],
) -> Result<Common<S>, ApiError> {
    let Asked {
        store,
        q,
        sort,
        order,
        limit,
        cursor,
    } = asked;
    let sort_name = sort.unwrap_or_else(|| sorts[0].0.to_owned());
    let Some((_, sort, default)) = sorts.iter().find(|(name, _, _)| *name == sort_name) else {
        let names: Vec<&str> = sorts.iter().map(|(name, _, _)| *name).collect();
        return Err(ApiError::BadRequest(format!(
            "`sort` must be one of {}, not `{sort_name}`",
            names.join(", ")
        )));
    };
    let direction = match order {
        None => *default,
        Some(Order::Asc) => Direction::Ascending,
        Some(Order::Desc) => Direction::Descending,
    };
    let limit = page_limit(limit)?;
    let after = cursor
        .map(|text| {
            let cursor: Cursor = decode_cursor(&text)?;
            if cursor.sort != sort_name || cursor.desc != (direction == Direction::Descending) {
                return Err(ApiError::BadRequest(
                    "`cursor` belongs to another sort order; ask again with the same `sort` and `order`"
                        .to_owned(),
                ));
            }
            Ok(After {
                key: cursor.key,
                store_id: cursor.store,
                id: cursor.id,
            })
        })
        .transpose()?;
    let search = q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty());
    Ok(Common {
        list: ListQuery {
            tenant,
            store: store.map(StoreId),
            search,
            sort: *sort,
            direction,
            after,
            limit: i64::from(limit) + 1,
        },
        sort_name,
    })
}

/// Trims the extra row fetched to learn whether another page follows, and makes its cursor.
pub(crate) fn page<R, T>(
    mut rows: Vec<R>,
    common: &Common<impl Copy>,
    position: impl Fn(&R) -> (Option<String>, Uuid, i64),
    out: impl Fn(R) -> T,
) -> Page<T> {
    let wanted = (common.list.limit - 1) as usize;
    let more = rows.len() > wanted;
    rows.truncate(wanted);
    let next_cursor = if more {
        rows.last().map(|last| {
            let (key, store, id) = position(last);
            let cursor = Cursor {
                sort: common.sort_name.clone(),
                desc: common.list.direction == Direction::Descending,
                key,
                store,
                id,
            };
            encode_cursor(&cursor)
        })
    } else {
        None
    };
    Page {
        data: rows.into_iter().map(out).collect(),
        next_cursor,
    }
}

pub(crate) const BAD_LIST: &str = "an unknown sort, a limit out of range, a cursor from elsewhere";
