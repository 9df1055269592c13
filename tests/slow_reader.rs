//! A client that pipelines reads of a large znode and never reads its socket: the server
//! stops reading it once it owes `corral.clientQueueBytes`, keeps serving everyone else, keeps
//! its own memory within the stated bound, and lets go of a client that takes nothing for two
//! thirds of its session timeout while its session stays open for a reconnect.
//! (Its own test binary: the memory assertion reads this process's RSS.)

#[path = "integration/common/mod.rs"]
mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use jute::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const BIG: usize = 1_000_000;

/// The tests here run one at a time: one of them reads this process's RSS.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn status_bytes(key: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Starts measuring: resets the process's peak RSS (VmHWM) and returns the RSS now.
fn rss_mark() -> usize {
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    status_bytes("VmRSS:")
}

/// How far the RSS rose above `mark` at its peak since.
fn rss_growth_since(mark: usize) -> usize {
    status_bytes("VmHWM:").saturating_sub(mark)
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
fn pipeline_reads<W>(mut stream: W, path: &str, count: i32) -> tokio::task::JoinHandle<()>
where
    W: AsyncWriteExt + Unpin + Send + 'static,
{
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
    let _serial = SERIAL.lock().await;
    let t = start().await;
    let mut writer = Client::connect(t.addr).await;
    writer.create("/big", &vec![b'x'; BIG], 0).await.unwrap();
    writer.create("/canary", b"0", 0).await.unwrap();
    let before = rss_mark();

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

    let grown = rss_growth_since(before);
    let bound = t.server.node.config.client_queue_max_bytes + t.server.node.config.max_frame_bytes;
    assert!(grown < bound, "RSS grew by {grown} bytes; the stated bound is {bound}");
    assert!(largest_backlog(&t) <= soft + BIG + 1024, "reading stopped at the soft bound");
    reads.abort();
}

#[tokio::test]
async fn a_client_that_takes_nothing_is_disconnected_and_its_session_kept() {
    let _serial = SERIAL.lock().await;
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

#[tokio::test]
async fn a_client_that_reads_slowly_is_kept() {
    let _serial = SERIAL.lock().await;
    let t = start().await;
    let mut writer = Client::connect(t.addr).await;
    writer.create("/big", &vec![b'z'; BIG], 0).await.unwrap();
    // A 6 s session: the stall limit is 4 s. The client takes 4 KiB every 100 ms, far too
    // slowly for the socket to become writable again within that time.
    let (stream, session_id, _) = slow_client(t.addr, 6_000).await;
    let (mut read_half, write_half) = stream.into_split();
    let reads = pipeline_reads(write_half, "/big", 100);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut taken = 0usize;
    let mut chunk = vec![0u8; 4096];
    while tokio::time::Instant::now() < deadline {
        taken += read_half.read(&mut chunk).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let conn = t.server.node.connection_list().into_iter().find(|c| c.session_id() == session_id);
    assert!(conn.is_some(), "a client that keeps reading is kept ({taken} bytes in 10 s)");
    reads.abort();
}

#[tokio::test]
async fn a_multi_read_larger_than_the_bound_closes_instead_of_building() {
    let _serial = SERIAL.lock().await;
    let t = start().await;
    let mut writer = Client::connect(t.addr).await;
    writer.create("/big", &vec![b'm'; BIG], 0).await.unwrap();
    let before = rss_mark();
    // 4,000 copies of a 1 MB node asked for in one 64 KB request: 4 GB if built.
    let get = |_| MultiOp::GetData(PathWatchRequest { path: "/big".into(), watch: false });
    let ops = (0..4000).map(get).collect();
    let mut greedy = Client::connect(t.addr).await;
    greedy.send(Request::MultiRead(MultiRequest { ops })).await;
    assert!(greedy.closed().await, "the connection is closed, not answered");
    let grown = rss_growth_since(before);
    let bound = t.server.node.config.client_queue_max_bytes + t.server.node.config.max_frame_bytes;
    assert!(grown < bound, "RSS grew by {grown} bytes; the stated bound is {bound}");
    // A multiRead that fits is answered as before.
    let ops = (0..3).map(get).collect();
    match writer.call(Request::MultiRead(MultiRequest { ops })).await {
        (h, Some(Response::Multi(m))) if h.err == 0 => assert_eq!(m.results.len(), 3),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_multi_read_is_bounded_by_what_its_child_lists_hold() {
    let _serial = SERIAL.lock().await;
    let bounds = "corral.clientQueueBytes=65536\ncorral.clientQueueMaxBytes=1200000\n";
    let t = start_with(bounds).await;
    let mut c = Client::connect(t.addr).await;
    c.create("/p", b"", 0).await.unwrap();
    for i in 0..3000 {
        c.create(&format!("/p/c{i:04}"), b"", 0).await.unwrap();
    }
    let list = |_| MultiOp::GetChildren(PathWatchRequest { path: "/p".into(), watch: false });
    // Each list is 27 kB on the wire but about 150 kB in memory (a String per name): two fit
    // under the 1.2 MB bound, ten do not, though their 270 kB on the wire would.
    let ops = (0..2).map(list).collect();
    match c.call(Request::MultiRead(MultiRequest { ops })).await {
        (h, Some(Response::Multi(m))) if h.err == 0 => assert_eq!(m.results.len(), 2),
        other => panic!("{other:?}"),
    }
    c.send(Request::MultiRead(MultiRequest { ops: (0..10).map(list).collect() })).await;
    assert!(c.closed().await, "refused before the lists were built");
}
