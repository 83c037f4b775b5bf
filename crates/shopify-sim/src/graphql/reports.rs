//! `shopifyqlQuery`: ShopifyQL reports (the queries themselves run in `crate::shopifyql`).

use super::*;

#[derive(SimpleObject)]
pub struct ShopifyqlQueryResponse {
    pub(crate) parse_errors: Vec<String>,
    pub(crate) parse_warnings: Vec<String>,
    pub(crate) table_data: Option<ShopifyqlTableData>,
}

#[derive(SimpleObject)]
pub struct ShopifyqlTableData {
    pub(crate) columns: Vec<ShopifyqlTableDataColumn>,
    pub(crate) rows: async_graphql::Json<serde_json::Value>,
}

#[derive(SimpleObject)]
pub struct ShopifyqlTableDataColumn {
    pub(crate) name: String,
    pub(crate) display_name: String,
    pub(crate) data_type: ColumnDataType,
    pub(crate) column_origin: ShopifyqlColumnOrigin,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ShopifyqlColumnOrigin {
    Generated,
    Requested,
    Unspecified,
}

/// The column types the simulator's answers use.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum ColumnDataType {
    DayTimestamp,
    WeekTimestamp,
    MonthTimestamp,
    Money,
    Integer,
    Identity,
    Unspecified,
}

impl ColumnDataType {
    pub(crate) fn from_name(name: &str) -> Self {
        match name {
            "DAY_TIMESTAMP" => Self::DayTimestamp,
            "WEEK_TIMESTAMP" => Self::WeekTimestamp,
            "MONTH_TIMESTAMP" => Self::MonthTimestamp,
            "MONEY" => Self::Money,
            "INTEGER" => Self::Integer,
            "IDENTITY" => Self::Identity,
            _ => Self::Unspecified,
        }
    }
}

#[derive(Default)]
pub struct ReportsQuery;

#[Object]
impl ReportsQuery {
    /// Shopify's own figures, from the `sales` schema (see `crate::shopifyql`). Needs the
    /// `read_reports` scope.
    async fn shopifyql_query(
        &self,
        ctx: &Context<'_>,
        query: String,
    ) -> Result<Option<ShopifyqlQueryResponse>> {
        let request = data(ctx)?;
        if !request
            .scopes
            .split(',')
            .any(|s| s.trim() == "read_reports")
        {
            return Err(coded_error(
                "Access denied for shopifyqlQuery field. Required access: `read_reports` access scope.",
                "ACCESS_DENIED",
            ));
        }
        let shop = &request.shop;
        let today = Utc::now().with_timezone(&shop.timezone).date_naive();
        Ok(Some(match crate::shopifyql::parse(&query, today) {
            Err(parse_errors) => ShopifyqlQueryResponse {
                parse_errors,
                parse_warnings: Vec::new(),
                table_data: None,
            },
            Ok(query) => {
                let (columns, rows) = crate::shopifyql::run(shop, &query);
                ShopifyqlQueryResponse {
                    parse_errors: Vec::new(),
                    parse_warnings: Vec::new(),
                    table_data: Some(ShopifyqlTableData {
                        columns: columns
                            .into_iter()
                            .map(|c| ShopifyqlTableDataColumn {
                                name: c.name.to_owned(),
                                display_name: c.display_name.to_owned(),
                                data_type: ColumnDataType::from_name(c.data_type),
                                column_origin: ShopifyqlColumnOrigin::Requested,
                            })
                            .collect(),
                        rows: async_graphql::Json(serde_json::Value::Array(rows)),
                    }),
                }
            }
        }))
    }
}
