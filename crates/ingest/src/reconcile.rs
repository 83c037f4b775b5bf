//! Reconciliation with Shopify Analytics: a store's daily sales in Xeno beside Shopify's own
//! (ShopifyQL's `sales` schema), day by day and metric by metric. The result is recorded
//! as the store's latest check; it never changes Xeno's figures.
//!
//! Only whole days are compared (up to the store's yesterday): today's figures move while
//! webhooks are in flight. Each check covers the trailing window again, so a late refund or
//! cancellation that lands on an earlier day is checked again too.

use std::sync::Arc;

use chrono::{Duration, Utc};
use chrono_tz::Tz;
use xeno_domain::ids::{StoreId, TenantId};
use xeno_domain::money::minor_digits;
use xeno_domain::reconciliation::compare;
use xeno_shopify::admin::CallLedger;
use xeno_shopify::ShopifyError;
use xeno_storage::reconciliation::NewReconciliation;

use crate::backfill::Backfill;
use crate::connect::ConnectError;

/// Days a routine check covers, ending yesterday, unless configured.
pub const TRAILING_DAYS: i64 = 60;
/// The scope ShopifyQL needs.
pub const REPORTS_SCOPE: &str = "read_reports";

const GRANT_REPORTS: &str = "Xeno cannot read Shopify Analytics for this store: reconnect it \
    through Shopify to grant the read_reports scope, and its figures will be checked daily.";

/// Which days a check covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The last `n` whole days.
    Trailing(i64),
    /// Every day since the store's first sale (after a backfill).
    History,
}

impl Backfill {
    /// Checks a store's figures against Shopify's and records the result as its latest.
    pub async fn reconcile(
        &self,
        tenant: TenantId,
        store: StoreId,
        window: Window,
    ) -> Result<NewReconciliation, ConnectError> {
        let check = self.check(tenant, store, window).await?;
        self.db.save_reconciliation(tenant, store, &check).await?;
        match check.status {
            "mismatched" => tracing::warn!(
                %tenant, %store, days = check.days_checked - check.days_matched,
                first = ?check.mismatches.first().map(|m| (m.day, m.metric)),
                "figures differ from Shopify Analytics"
            ),
            "failed" => {
                tracing::warn!(%tenant, %store, detail = ?check.detail, "reconciliation failed")
            }
            _ => {
                tracing::info!(%tenant, %store, status = check.status, "reconciled with Shopify Analytics")
            }
        }
        Ok(check)
    }

    async fn check(
        &self,
        tenant: TenantId,
        store: StoreId,
        window: Window,
    ) -> Result<NewReconciliation, ConnectError> {
        let Some(row) = self.db.get_store(tenant, store).await? else {
            return Err(ConnectError::NoToken);
        };
        let not_checked = |detail: &str| NewReconciliation {
            status: "not_checked",
            window: None,
            days_checked: 0,
            days_matched: 0,
            mismatches: Vec::new(),
            detail: Some(detail.to_owned()),
        };
        if !row.scopes.iter().any(|s| s == REPORTS_SCOPE) {
            return Ok(not_checked(GRANT_REPORTS));
        }
        let zone: Tz = row
            .iana_timezone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .unwrap_or(Tz::UTC);
        let currency = row.currency.unwrap_or_default();
        let to = Utc::now().with_timezone(&zone).date_naive() - Duration::days(1);
        let trailing = |days: i64| to - Duration::days(days - 1);
        let from = match window {
            Window::Trailing(days) => trailing(days),
            Window::History => self
                .db
                .first_sales_day(tenant, Some(store))
                .await?
                .filter(|first| *first <= to)
                .unwrap_or_else(|| trailing(TRAILING_DAYS)),
        };
        let admin = self
            .admin(
                tenant,
                store,
                &row.shop_domain,
                &Arc::new(CallLedger::default()),
            )
            .await?;
        let theirs = match admin.daily_sales(from, to).await {
            Ok(theirs) => theirs,
            Err(ShopifyError::Refused(why)) if why.contains("Access denied") => {
                return Ok(not_checked(GRANT_REPORTS));
            }
            Err(err) => {
                return Ok(NewReconciliation {
                    status: "failed",
                    window: Some((from, to)),
                    days_checked: 0,
                    days_matched: 0,
                    mismatches: Vec::new(),
                    detail: Some(format!("Shopify's figures could not be read: {err}")),
                })
            }
        };
        let ours = self
            .db
            .store_daily_sales(tenant, store, &currency, from, to)
            .await?;
        let result = compare(from, to, minor_digits(&currency), &ours, &theirs);
        Ok(NewReconciliation {
            status: if result.mismatches.is_empty() {
                "matched"
            } else {
                "mismatched"
            },
            window: Some((from, to)),
            days_checked: result.days_checked,
            days_matched: result.days_matched,
            mismatches: result.mismatches,
            detail: None,
        })
    }
}
