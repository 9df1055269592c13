//! openraft's storage conformance Suite against the LMDB log store and the state machine.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};

use super::types::*;
use super::{channel, RaftLog, Snapshots, StateMachine};
use crate::config::Config;
use crate::node::Node;
use crate::session::password::PasswordKey;
use crate::store::LogStore;

struct Builder;

impl StoreBuilder<TypeConfig, RaftLog, StateMachine, tempfile::TempDir> for Builder {
    async fn build(&self) -> Result<(tempfile::TempDir, RaftLog, StateMachine), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LogStore::open(dir.path()).expect("log store");
        let node = Arc::new(Node::new(
            Arc::new(Config::default()),
            PasswordKey::new([1; 32]),
            channel().0,
        ));
        let snapshots = Arc::new(Snapshots::open(&dir.path().join("snapshots"), 3).unwrap());
        let sm = StateMachine::open(node, snapshots, Default::default()).expect("state machine");
        Ok((dir, RaftLog::new(store), sm))
    }
}

#[test]
fn the_storage_passes_openraft_conformance() {
    Suite::test_all(Builder).expect("storage conformance");
}
