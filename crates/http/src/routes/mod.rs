pub mod accounts;
pub mod docs;
pub mod health;
pub mod lists;
pub mod metrics;
pub mod stores;
pub mod sync;
pub mod webhooks;
