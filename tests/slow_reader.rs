//! A client that pipelines reads of a large znode and never reads its socket: the server
//! stops reading it once it owes `corral.clientQueueBytes`, keeps serving everyone else, keeps
//! its own memory within the stated bound, and lets go of a client that takes nothing for two
//! thirds of its session timeout while its session stays open for a reconnect.
//! (Its own test binary: the memory assertion reads this process's RSS.)

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use jute::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const BIG: usize = 1_000_000;

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// A session on a socket with a 4 KiB receive buffer; returns it with (session id, password).
async fn slow_client(addr: SocketAddr, timeout_ms: i32) -> (TcpStream, i64, Vec<u8>) {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    let request = connect_request(0, vec![0; 16], timeout_ms);
    let mut bytes = (request.encoded_len() as i32).to_be_bytes().to_vec();
    request.encode(&mut bytes);
    stream.write_all(&bytes).await.unwrap();
    let mut len = [0u8; 4];
    stream.read_exact(&mut len).await.unwrap();
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    stream.read_exact(&mut body).await.unwrap();
    let response = ConnectResponse::from_bytes(&body).unwrap();
    (stream, response.session_id, response.passwd.unwrap())
}

/// `count` getData requests for `path`, sent 50 to a write; never reads a reply.
fn pipeline_reads(mut stream: TcpStream, path: &str, count: i32) -> tokio::task::JoinHandle<()> {
    let path = path.to_owned();
    tokio::spawn(async move {
        for batch in 0..count / 50 {
            let mut bytes = Vec::new();
            for i in 0..50 {
                let request = PathWatchRequest { path: path.as_str().into(), watch: false };
                let header =
                    RequestHeader { xid: batch * 50 + i + 1, op: OpCode::GetData.as_i32() };
                let len = (header.encoded_len() + request.encoded_len()) as i32;
                bytes.extend(len.to_be_bytes());
                header.encode(&mut bytes);
                request.encode(&mut bytes);
            }
            if stream.write_all(&bytes).await.is_err() {
                return;
            }
        }
        // Hold the socket open, unread, until the test ends.
        std::future::pending::<()>().await;
    })
}

/// The most unsent bytes any connection holds.
fn largest_backlog(t: &TestServer) -> usize {
    t.server.node.connection_list().iter().map(|c| c.unsent_bytes()).max().unwrap_or(0)
}

#[tokio::test]
async fn a_slow_reader_is_held_to_its_bound_and_others_are_served() {
    let t = start().await;
    let mut writer = Client::connect(t.addr).await;
    writer.create("/big", &vec![b'x'; BIG], 0).await.unwrap();
    writer.create("/canary", b"0", 0).await.unwrap();
    let before = rss_bytes();

    let (stream, _, _) = slow_client(t.addr, 30_000).await;
    // 500 replies of 1 MB: half a gigabyte, if the server queued them all.
    let reads = pipeline_reads(stream, "/big", 500);
    let soft = t.server.node.config.client_queue_bytes;
    assert!(
        eventually(|| async { largest_backlog(&t) >= soft }).await,
        "the slow reader's replies back up to the soft bound"
    );

    let mut canary = Client::connect(t.addr).await;
    for i in 0..20 {
        let value = i.to_string();
        canary.set_data("/canary", value.as_bytes(), -1).await.unwrap();
        let (data, _) = canary.get_data("/canary", false).await.unwrap();
        assert_eq!(data.unwrap(), value.as_bytes(), "the canary is answered");
    }

    let grown = rss_bytes().saturating_sub(before);
    let bound = t.server.node.config.client_queue_max_bytes + t.server.node.config.max_frame_bytes;
    assert!(grown < bound, "RSS grew by {grown} bytes; the stated bound is {bound}");
    assert!(largest_backlog(&t) <= soft + BIG + 64, "reading stopped at the soft bound");
    reads.abort();
}

#[tokio::test]
async fn a_client_that_takes_nothing_is_disconnected_and_its_session_kept() {
    let t = start().await;
    let mut writer = Client::connect(t.addr).await;
    writer.create("/big", &vec![b'y'; BIG], 0).await.unwrap();
    let (stream, session_id, passwd) = slow_client(t.addr, 9_000).await;
    let slow_conn = |t: &TestServer| {
        t.server.node.connection_list().into_iter().find(|c| c.session_id() == session_id)
    };
    let reads = pipeline_reads(stream, "/big", 100);
    assert!(slow_conn(&t).is_some());

    // Two thirds of 9 s without taking a byte: the server closes the connection.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while slow_conn(&t).is_some() {
        assert!(tokio::time::Instant::now() < deadline, "the stalled connection was never closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Its session is left to the client: a reconnect within the timeout keeps it.
    let resumed = Client::resume(t.addr, connect_request(session_id, passwd, 9_000)).await;
    let mut resumed = resumed.expect("the session survives the disconnect");
    assert!(resumed.exists("/big", false).await.is_ok());
    reads.abort();
}
