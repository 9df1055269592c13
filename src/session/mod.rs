//! Sessions: the replicated SessionTable, session ids and passwords, and `Sessions`, which
//! tracks activity (deadlines on the leader, touch batches elsewhere) so that the leader can
//! turn silence into a closeSession txn.

pub mod password;
mod sessions;
mod table;
mod tracker;

pub use sessions::{Sessions, MAX_TOUCH_BATCH};
pub use table::{SessionEntry, SessionTable};
