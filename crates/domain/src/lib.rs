//! Xeno's domain: the rules that hold whatever the storage or transport. Pure, no I/O.

pub mod account;
pub mod clv;
pub mod ids;
pub mod money;
pub mod reconciliation;
pub mod records;
pub mod report;
pub mod rfm;
pub mod sales;
pub mod validation;
