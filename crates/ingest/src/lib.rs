//! Ingestion: applying webhook events through the one upsert path, and sealing store secrets.

pub mod acceptor;
pub mod apply;
pub mod backfill;
pub mod connect;
pub mod metrics;
pub mod predictions;
pub mod reconcile;
pub mod retention;
pub mod scheduler;
pub mod secrets;
pub mod segment_tags;
pub mod tracing_links;
pub mod worker;
