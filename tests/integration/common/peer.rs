//! Speaking the peer protocol as a member would, for tests of what a leader does with
//! traffic it did not expect: the handshake, and hand-made frames.

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::cluster::Cluster;

/// The cluster id every member derives from the `server.N` lines (their ids, ports and
/// roles): anyone can compute it, which is why it is a guard, not a password.
fn cluster_id(cluster: &Cluster) -> Vec<u8> {
    let mut hash = Sha256::new();
    for m in &cluster.members {
        hash.update(format!("server.{}:{}:{}:true\n", m.id, m.quorum.port(), m.id));
    }
    hash.finalize().to_vec()
}

/// A frame: its length, its kind, and `body`.
pub fn frame(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = ((body.len() + 1) as u32).to_be_bytes().to_vec();
    out.push(kind);
    out.extend(body);
    out
}

/// A frame whose body is a JSON message, as the handshake and raft's RPCs are sent.
pub fn json_frame(kind: u8, json: &str) -> Vec<u8> {
    let mut body = (json.len() as u32).to_be_bytes().to_vec();
    body.extend(json.as_bytes());
    frame(kind, &body)
}

/// Passes the handshake as member `from`, for `purpose` ("Raft" or "Forward").
pub async fn impersonate(cluster: &Cluster, target: usize, from: u64, purpose: &str) -> TcpStream {
    let mut stream = TcpStream::connect(cluster.members[target].quorum).await.unwrap();
    let hello = format!(
        r#"{{"version":1,"cluster":{:?},"from":{from},"purpose":"{purpose}"}}"#,
        cluster_id(cluster)
    );
    stream.write_all(&json_frame(1, &hello)).await.unwrap();
    let mut welcome = [0u8; 5];
    stream.read_exact(&mut welcome).await.unwrap();
    assert_eq!(welcome[4], 2, "welcomed");
    let mut rest = vec![0u8; u32::from_be_bytes(welcome[..4].try_into().unwrap()) as usize - 1];
    stream.read_exact(&mut rest).await.unwrap();
    stream
}

/// True when the other side closes `stream` without sending anything, within `WAIT`.
pub async fn closed_without_answer(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(tokio::time::timeout(super::WAIT, stream.read(&mut byte)).await, Ok(Ok(0) | Err(_)))
}
