//! Sessions: the replicated SessionTable, session ids and passwords, and the leader-side
//! expiry tracker that turns silence into a closeSession txn.

pub mod password;
mod table;
pub mod tracker;

pub use table::{SessionEntry, SessionTable};
