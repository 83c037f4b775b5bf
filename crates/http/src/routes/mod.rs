//! The API's routes, one module per resource.

pub mod accounts;
pub mod audit;
pub mod docs;
pub mod health;
pub mod insights;
pub mod install;
pub mod invitations;
pub mod keys;
pub mod lists;
pub mod members;
pub mod predictions;
pub mod reconciliation;
pub mod segment_tags;
pub mod sessions;
pub mod stores;
pub mod sync;
pub mod tenant;
pub mod webhooks;
