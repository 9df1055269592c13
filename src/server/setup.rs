//! What a server is started with: replication's settings made from the config, the ensemble
//! (peers and cluster id) its `server.N` lines describe, and the incarnation count.

use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::metrics::Metrics;
use crate::replication::{ClusterId, EnsembleSettings, Peer, Settings, StorageDirs, Timing};

/// Counts this start in `<dataDir>/corral/incarnation`, durably, before any request is
/// proposed: request ids carry it, so none repeats across restarts.
pub fn next_incarnation(data_dir: &std::path::Path) -> std::io::Result<u32> {
    let dir = data_dir.join("corral");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("incarnation");
    let previous = match std::fs::read_to_string(&path) {
        Ok(text) => text.trim().parse::<u32>().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} does not hold a number", path.display()),
            )
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let next = previous.wrapping_add(1) & 0xff_ffff;
    let temp = dir.join("incarnation.tmp");
    let mut file = std::fs::File::create(&temp)?;
    std::io::Write::write_all(&mut file, format!("{next}\n").as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, &path)?;
    std::fs::File::open(&dir)?.sync_all()?;
    Ok(next)
}

pub fn replication_settings(config: &Config, metrics: &Arc<Metrics>) -> Settings {
    Settings {
        metrics: Arc::clone(metrics),
        node_id: config.server_id as u64,
        dirs: StorageDirs {
            log: config.data_log_dir.join("corral"),
            snapshots: config.data_dir.join("corral").join("snapshots"),
            log_map_size: config.log_map_size,
        },
        snap_count: config.snap_count,
        snap_retain_count: config.snap_retain_count,
        timing: Timing {
            tick: config.tick(),
            init_limit: config.init_limit,
            sync_limit: config.sync_limit,
        },
    }
}

/// The peers and cluster id of the ensemble in `config`: every member computes the same id
/// from the same lines, and a server of another ensemble, whose ids, ports or roles differ,
/// is refused.
pub fn ensemble_settings(config: &Config) -> EnsembleSettings {
    let members = config.ensemble.members.values();
    let peers = members
        .clone()
        .map(|m| Peer {
            id: m.id,
            addr: m.quorum.to_string(),
            voter: m.peer_type == crate::config::PeerType::Participant,
        })
        .collect();
    // Ids, ports and roles, not hosts: a member may name itself 0.0.0.0 where the others name
    // its host (a common container setup), and the `;` client part is its own business.
    let mut hash = Sha256::new();
    for m in members {
        let role = m.peer_type == crate::config::PeerType::Participant;
        hash.update(format!("server.{}:{}:{}:{role}\n", m.id, m.quorum.port, m.election_port));
    }
    let cluster: ClusterId = hash.finalize().into();
    EnsembleSettings { peers, cluster }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_start_counts_a_new_incarnation() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(super::next_incarnation(dir.path()).unwrap(), 1);
        assert_eq!(super::next_incarnation(dir.path()).unwrap(), 2);
        std::fs::write(dir.path().join("corral/incarnation"), "garbage").unwrap();
        assert!(super::next_incarnation(dir.path()).is_err(), "never guessed");
    }
}
