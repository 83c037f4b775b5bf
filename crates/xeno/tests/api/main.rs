//! End-to-end tests: a real PostgreSQL, the real HTTP server, the Shopify simulator.
//! Helpers live in `support`; each other module tests one part of the service.

// Test helpers may panic: a failed expectation is the test failing.
#![allow(clippy::unwrap_used)]

mod account_data;
mod accounts;
mod audit_trail;
mod backfill;
mod checkouts;
mod cohorts;
mod crash;
mod demo;
mod failover;
mod insights;
mod intake;
mod keys;
mod limits;
mod lists;
mod oauth;
mod operations;
mod parity;
mod people;
mod predictions;
mod replica;
mod report_reads;
mod rollups;
mod security;
mod segment_tags;
mod sellers;
mod service;
mod sessions;
mod support;
mod sync;
mod teams;
mod telemetry;
mod worker;
