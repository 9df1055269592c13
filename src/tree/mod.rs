//! The replicated state's data model: DataTree, DataNode, Stat rules, paths and ACL checks.
//! Pure and deterministic; apply (in `ops`) mutates it and reads run against it.

pub mod acl;
mod data_tree;
pub mod digest;
pub mod node;
pub mod path;
pub mod quota;
mod replay;
mod undo;

pub use data_tree::{DataTree, NewNode, SYSTEM_NODES};
pub use node::{DataNode, NodeKind, StatPersisted};
pub use undo::Undo;
