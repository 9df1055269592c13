//! openraft's storage conformance Suite against the LMDB log store and the state machine.

use std::sync::Arc;

use openraft::testing::{StoreBuilder, Suite};

use parking_lot::RwLock;

use super::types::*;
use super::{Host, RaftLog, Role, Snapshots, StateMachine};
use crate::ops::ApplyConfig;
use crate::state::ZkState;
use crate::store::LogStore;
use crate::txn::Entry as TxnEntry;

/// A host that only keeps the state: the suite checks storage, not replies.
#[derive(Default)]
struct StateOnly(RwLock<ZkState>);

impl Host for StateOnly {
    fn apply(&self, entry: &TxnEntry) {
        self.0.write().apply(entry, &ApplyConfig::default());
    }
    fn start_epoch(&self) {
        self.0.write().start_epoch();
    }
    fn freeze(&self) -> ZkState {
        self.0.read().clone()
    }
    fn install(&self, state: ZkState) {
        *self.0.write() = state;
    }
    fn abandon(&self, _entry: &TxnEntry) {}
    fn abandon_all(&self) {}
    fn proposed(&self, _bytes: usize) {}
    fn attach_view(&self, _view: Arc<dyn super::EnsembleView>) {}
    fn set_role(&self, _role: Role) {}
    fn sessions_touched(&self, _from: u64, _ids: &[i64]) {}
    fn take_touches(&self) -> Vec<i64> {
        Vec::new()
    }
}

struct Builder;

impl StoreBuilder<TypeConfig, RaftLog, StateMachine, tempfile::TempDir> for Builder {
    async fn build(&self) -> Result<(tempfile::TempDir, RaftLog, StateMachine), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = LogStore::open(dir.path()).expect("log store");
        let host = Arc::new(StateOnly::default());
        let snapshots = Arc::new(
            Snapshots::open(&dir.path().join("snapshots"), 3, Default::default()).unwrap(),
        );
        let sm =
            StateMachine::open(host, snapshots, Default::default(), 10_000).expect("state machine");
        Ok((dir, RaftLog::new(store, Default::default()), sm))
    }
}

#[test]
fn the_storage_passes_openraft_conformance() {
    Suite::test_all(Builder).expect("storage conformance");
}
