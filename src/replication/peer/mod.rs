//! The peer network: members of an ensemble talk over the quorum port of their `server.N`
//! line, with framed messages (`wire`), a versioned handshake that names the ensemble
//! (`link`), raft's RPCs sent by `client` and answered by `service`.

mod client;
mod faults;
mod link;
mod service;
mod streams;
mod wire;

pub use client::PeerNetwork;
pub use faults::Faults;
pub use link::{dial, send, Identity, Link, LinkError};
pub use service::{watch_leader, PeerService};
pub use wire::{ClusterId, Message, Purpose};
