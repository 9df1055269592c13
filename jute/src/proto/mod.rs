//! Every record that crosses the client port, grouped by family.

pub mod auth;
pub mod connect;
pub mod data;
pub mod header;
pub mod multi;
pub mod node;
pub mod watches;
