//! Relay connections, cursors, search filters and counts, as Shopify pages them.

use super::*;

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

pub(crate) const MAX_PAGE: i32 = 250;

pub(crate) fn encode_cursor(key: i64, id: i64) -> String {
    BASE64.encode(format!("{key}:{id}"))
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<(i64, i64)> {
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

pub(crate) fn millis(at: &model::Timestamp) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn search(ctx: &Context<'_>, query: Option<&str>) -> Result<Search> {
    Search::parse(query, data(ctx)?.shop.timezone).map_err(Error::new)
}

/// Whether a record matches a search, by the fields Shopify's search syntax offers for it
/// (connections and counts filter alike).
pub(crate) fn customer_matches(search: &Search, c: &model::Customer) -> bool {
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

pub(crate) fn product_matches(search: &Search, p: &model::Product) -> bool {
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

pub(crate) fn order_matches(search: &Search, o: &model::Order) -> bool {
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
pub(crate) fn abandoned_checkout_matches(search: &Search, c: &model::Checkout) -> bool {
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
pub(crate) const COUNT_LIMIT: Option<i32> = Some(10_000);

/// How many records a count query found, capped at `limit` (then `AT_LEAST`).
#[derive(SimpleObject)]
#[graphql(name = "Count")]
pub struct Count {
    pub(crate) count: i32,
    pub(crate) precision: CountPrecision,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "CountPrecision")]
pub enum CountPrecision {
    Exact,
    AtLeast,
}

/// How many of a shop's records match a search, as a `*Count` field answers.
pub(crate) fn count_matching<T>(
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

pub(crate) fn count(found: usize, limit: Option<i32>) -> Count {
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

pub(crate) fn utc(at: &model::Timestamp) -> chrono::DateTime<Utc> {
    at.with_timezone(&Utc)
}
