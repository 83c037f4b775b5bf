//! Refitting a store's customer-lifetime models (BG/NBD, Gamma-Gamma) on its own purchase
//! histories and storing each customer's predictions: daily after a sync, and after every
//! full backfill.

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use xeno_domain::clv::{BgNbd, GammaGamma, History};
use xeno_domain::ids::{StoreId, TenantId};
use xeno_storage::predictions::{FitRow, PredictionRow, PurchaseHistory};
use xeno_storage::{Db, StorageError};

/// The monthly rate future spend is discounted at in the lifetime value, unless configured
/// (`XENO_CLV_MONTHLY_DISCOUNT_PERCENT`).
pub const MONTHLY_DISCOUNT: f64 = 0.01;
/// Days in a month, for the lifetime value's monthly steps.
const MONTH_DAYS: f64 = 365.25 / 12.0;
/// A fit younger than this is not redone after an incremental sync.
const REFIT_AFTER: chrono::Duration = chrono::Duration::hours(24);

fn weeks(days: i64) -> f64 {
    days as f64 / 7.0
}

/// The models' view of a history, in weeks.
pub fn history(h: &PurchaseHistory, today: NaiveDate) -> History {
    History {
        frequency: h.repeat_days as f64,
        recency: weeks((h.last_day - h.first_day).num_days()),
        age: weeks((today - h.first_day).num_days()),
    }
}

fn money(value: f64) -> Decimal {
    Decimal::try_from(value).unwrap_or_default().round_dp(2)
}

/// Fits both models and predicts for every customer; an insufficient history is a fit that
/// says why, with no predictions.
pub fn compute(
    store: StoreId,
    histories: &[PurchaseHistory],
    today: NaiveDate,
    monthly_discount: f64,
) -> (FitRow, Vec<PredictionRow>) {
    let models: Vec<History> = histories.iter().map(|h| history(h, today)).collect();
    let spends: Vec<(f64, f64)> = histories
        .iter()
        .map(|h| {
            let mean = h
                .repeat_mean_value
                .and_then(|m| m.try_into().ok())
                .unwrap_or(0.0);
            (h.repeat_days as f64, mean)
        })
        .collect();
    let repeaters = models.iter().filter(|h| h.frequency > 0.0).count();
    let mut fit = FitRow {
        store_id: store.0,
        fitted_at: Utc::now(),
        observed_until: Utc::now(),
        status: "insufficient".to_owned(),
        reason: None,
        customers: models.len() as i64,
        repeaters: repeaters as i64,
        r: None,
        alpha: None,
        a: None,
        b: None,
        bgnbd_log_likelihood: None,
        p: None,
        q: None,
        gamma: None,
        gamma_gamma_log_likelihood: None,
        monthly_discount,
    };
    let (bgnbd, gamma_gamma) = match (BgNbd::fit(&models), GammaGamma::fit(&spends)) {
        (Ok(b), Ok(g)) => (b, g),
        (Err(err), _) | (_, Err(err)) => {
            fit.reason = Some(err.to_string());
            return (fit, Vec::new());
        }
    };
    fit.status = "fitted".to_owned();
    (fit.r, fit.alpha, fit.a, fit.b) = (
        Some(bgnbd.r),
        Some(bgnbd.alpha),
        Some(bgnbd.a),
        Some(bgnbd.b),
    );
    fit.bgnbd_log_likelihood = Some(bgnbd.log_likelihood);
    (fit.p, fit.q, fit.gamma) = (
        Some(gamma_gamma.p),
        Some(gamma_gamma.q),
        Some(gamma_gamma.gamma),
    );
    fit.gamma_gamma_log_likelihood = Some(gamma_gamma.log_likelihood);
    let predictions = histories
        .iter()
        .zip(&models)
        .zip(&spends)
        .map(|((h, model), (x, mean))| {
            let within = |days: f64| bgnbd.expected_purchases(days / 7.0, model);
            let spend = gamma_gamma.expected_spend(*x, *mean);
            // A year of expected orders, month by month, each month's discounted.
            let clv: f64 = (1..=12)
                .map(|k| {
                    let k = f64::from(k);
                    let orders = within(k * MONTH_DAYS) - within((k - 1.0) * MONTH_DAYS);
                    orders * spend / (1.0 + monthly_discount).powf(k)
                })
                .sum();
            PredictionRow {
                customer_id: h.customer_id,
                p_alive: bgnbd.probability_alive(model),
                expected_orders_30: within(30.0),
                expected_orders_90: within(90.0),
                expected_orders_365: within(365.0),
                expected_order_value: money(spend),
                clv_365: money(clv),
            }
        })
        .collect();
    (fit, predictions)
}

/// Refits a store now, stores the fit and predictions, and answers the fit.
pub async fn refit(
    db: &Db,
    tenant: TenantId,
    store: StoreId,
    monthly_discount: f64,
) -> Result<FitRow, StorageError> {
    let loaded = db.purchase_histories(tenant, store).await?;
    // Fitting is CPU work: off the async runtime.
    let (fit, predictions) = tokio::task::spawn_blocking(move || {
        compute(store, &loaded.histories, loaded.today, monthly_discount)
    })
    .await
    .map_err(|err| StorageError::Interrupted(format!("fitting stopped: {err}")))?;
    db.save_predictions(tenant, store, &fit, &predictions)
        .await?;
    tracing::info!(%tenant, %store, status = fit.status, customers = fit.customers, repeaters = fit.repeaters, "customer-lifetime models refitted");
    Ok(fit)
}

/// Refits after a full backfill, or when the last fit is a day old.
pub async fn refit_if_due(
    db: &Db,
    tenant: TenantId,
    store: StoreId,
    full: bool,
    monthly_discount: f64,
) -> Result<(), StorageError> {
    if !full {
        let fits = db.prediction_fits(tenant, Some(store)).await?;
        if fits.iter().any(|f| Utc::now() - f.fitted_at < REFIT_AFTER) {
            return Ok(());
        }
    }
    refit(db, tenant, store, monthly_discount).await.map(|_| ())
}
