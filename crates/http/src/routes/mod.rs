pub mod accounts;
pub mod docs;
pub mod health;
