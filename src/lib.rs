//! corral: a ZooKeeper server. Stock clients connect to it unmodified.
//!
//! The request path:
//! 1. `server` accepts a socket; `connection` answers four-letter words or does the handshake
//!    and then reads frames, each decoded once by `jute` into a typed request.
//! 2. A write becomes a `txn::Txn` and goes to `replication`, which orders writes into
//!    entries; `node` applies each entry with the pure `state::ZkState::apply` (the ops in
//!    `ops`, over the `tree`), queues the `watch` events it raised, then the replies.
//! 3. A read waits for the session's earlier writes, then runs against the local tree under
//!    the shared lock, registering its watch under that same lock.
//! 4. `session` keeps the replicated session table, ids and passwords, and the expiry tracker.

pub mod admin;
pub mod auth;
pub mod clock;
pub mod config;
pub mod connection;
pub mod error;
pub mod four_letter;
pub mod http;
pub mod memory;
pub mod metrics;
pub mod migrate;
pub mod node;
pub mod ops;
pub mod replication;
pub mod sasl;
pub mod server;
pub mod session;
pub mod state;
pub mod store;
pub mod tree;
pub mod txn;
pub mod watch;
