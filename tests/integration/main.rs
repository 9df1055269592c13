//! Every integration test of corral in one binary: each module is one concern, run against
//! real servers on 127.0.0.1 (in this process, or as child processes of the built binary).
//! One binary links the crate once, where one binary per file linked it two dozen times.
//! Tests that read this process's RSS live in their own binaries beside this one.

mod common;

mod acl;
mod admin;
mod admin_restore;
mod bad_input;
mod crash;
mod damaged_log;
mod disk_full;
mod ensemble;
mod ensemble_crash;
mod ensemble_failover;
mod ensemble_forward;
mod ensemble_hostile;
mod four_letter;
mod handshake;
mod jvm_flags;
mod listen_address;
mod metrics;
mod migrate;
mod operations;
mod quota;
mod restart;
mod sasl;
mod sessions;
mod snapshots;
mod watches;
