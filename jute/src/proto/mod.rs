//! Every record that crosses the client port, grouped by family, and the records of
//! ZooKeeper's data directory (`persistence`).

pub mod auth;
pub mod connect;
pub mod data;
pub mod header;
pub mod multi;
pub mod node;
pub mod persistence;
pub mod watches;
