//! Admission control: a bounded number of API requests run at once, no tenant holds more
//! than its share of them, and a request that finds no room waits briefly in a bounded
//! queue, then is shed with a fast 503 and `Retry-After` instead of piling up until every
//! request times out. Health checks, `/metrics` and the dashboard's files are never held
//! back, and webhook intake has a budget of its own, so both stay admissible while reads
//! shed.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus::{register_int_counter_vec, IntCounterVec};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

static SHED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "xeno_requests_shed_total",
        "Requests refused with 503 by admission control, by budget (api, tenant, intake)",
        &["budget"]
    )
    .expect("xeno_requests_shed_total registers")
});

/// How many requests run at once, and how long one waits for room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionSettings {
    /// API requests (everything but intake and health) running at once.
    pub api: usize,
    /// Of those, the most one tenant runs at once.
    pub per_tenant: usize,
    /// Webhook deliveries being stored at once.
    pub intake: usize,
    /// The longest a request waits for room before it is shed.
    pub queue_wait: Duration,
}

/// Requests that may wait for each running one: beyond this the queue is full and a
/// request is shed at once. Short, so an admitted request waits about one other's time.
const QUEUE_PER_PERMIT: usize = 1;
/// Tenant budgets kept before idle ones are dropped.
const TENANTS_KEPT: usize = 10_000;

/// Permits plus a bounded queue for them.
#[derive(Debug)]
struct Budget {
    name: &'static str,
    permits: Arc<Semaphore>,
    size: usize,
    waiting: AtomicUsize,
}

/// Leaves the queue however the wait ends (admitted, timed out, or the request dropped).
struct InQueue<'a>(&'a AtomicUsize);

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Budget {
    fn new(name: &'static str, size: usize) -> Self {
        Self {
            name,
            permits: Arc::new(Semaphore::new(size)),
            size,
            waiting: AtomicUsize::new(0),
        }
    }

    async fn admit(&self, wait: Duration) -> Result<OwnedSemaphorePermit, ApiError> {
        if let Ok(permit) = Arc::clone(&self.permits).try_acquire_owned() {
            return Ok(permit);
        }
        let shed = || {
            SHED.with_label_values(&[self.name]).inc();
            ApiError::Overloaded("the service is busy; retry shortly")
        };
        if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.size * QUEUE_PER_PERMIT {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(shed());
        }
        let _queued = InQueue(&self.waiting);
        match tokio::time::timeout(wait, Arc::clone(&self.permits).acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(shed()),
        }
    }

    fn idle(&self) -> bool {
        self.permits.available_permits() == self.size && self.waiting.load(Ordering::Relaxed) == 0
    }
}

#[derive(Debug)]
pub struct Admission {
    settings: AdmissionSettings,
    api: Budget,
    intake: Budget,
    tenants: Mutex<HashMap<Uuid, Arc<Budget>>>,
}

impl Admission {
    pub fn new(settings: AdmissionSettings) -> Self {
        Self {
            settings,
            api: Budget::new("api", settings.api.max(1)),
            intake: Budget::new("intake", settings.intake.max(1)),
            tenants: Mutex::default(),
        }
    }

    fn tenant(&self, tenant: Uuid) -> Arc<Budget> {
        let mut tenants = self
            .tenants
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if tenants.len() > TENANTS_KEPT {
            tenants.retain(|_, budget| !budget.idle());
        }
        Arc::clone(
            tenants.entry(tenant).or_insert_with(|| {
                Arc::new(Budget::new("tenant", self.settings.per_tenant.max(1)))
            }),
        )
    }
}

/// What a request draws on.
enum Class {
    /// Health, `/metrics`, the dashboard's files: cheap, and needed most under load.
    Free,
    Intake,
    Api,
}

fn class(request: &Request) -> Class {
    let path = request.uri().path();
    if path == crate::routes::webhooks::WEBHOOK_PATH {
        Class::Intake
    } else if path.starts_with("/api/") {
        Class::Api
    } else {
        Class::Free
    }
}

pub async fn admit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let admission = &state.admission;
    let wait = admission.settings.queue_wait;
    match class(&request) {
        Class::Free => next.run(request).await,
        Class::Intake => match admission.intake.admit(wait).await {
            Ok(_permit) => next.run(request).await,
            Err(shed) => shed.into_response(),
        },
        Class::Api => {
            // A tenant's share first, so one tenant's flood queues behind its own share
            // and never takes the room other tenants need. The token, verified here, rides
            // along so the handler's extractor does not verify it again.
            let mut request = request;
            let verified = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(crate::auth::bearer)
                .and_then(|token| state.tokens.verified(token));
            let tenant = verified.as_ref().map(crate::auth::Verified::tenant);
            if let Some(verified) = verified {
                request.extensions_mut().insert(verified);
            }
            let _tenant_permit = match tenant {
                Some(tenant) => match admission.tenant(tenant).admit(wait).await {
                    Ok(permit) => Some(permit),
                    Err(shed) => return shed.into_response(),
                },
                None => None,
            };
            match admission.api.admit(wait).await {
                Ok(_permit) => next.run(request).await,
                Err(shed) => shed.into_response(),
            }
        }
    }
}
