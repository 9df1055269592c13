//! Bad input gets ZooKeeper's answer (an error code or a closed connection) and affects no
//! one else; connection limits hold.

use crate::common;

use common::*;
use jute::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn assert_closed(mut socket: tokio::net::TcpStream) {
    let mut rest = Vec::new();
    let read = tokio::time::timeout(WAIT, socket.read_to_end(&mut rest)).await.unwrap();
    assert!(read.is_err() || rest.is_empty(), "expected a close, got {rest:?}");
}

#[tokio::test]
async fn oversized_and_negative_frames_close_the_connection_only() {
    let t = start().await;
    let mut bystander = Client::connect(t.addr).await;
    bystander.create("/b", b"", 0).await.unwrap();

    let mut c = Client::connect(t.addr).await;
    let huge = vec![0u8; 1_048_576 + 16];
    c.send_raw(&huge).await;
    assert!(c.closed().await);

    let mut socket = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    socket.write_all(&(-7i32).to_be_bytes()).await.unwrap();
    assert_closed(socket).await;

    assert!(bystander.exists("/b", false).await.is_ok());
}

#[tokio::test]
async fn a_data_node_at_the_limit_is_accepted_and_one_byte_over_is_not() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let overhead = (
        RequestHeader::default(),
        CreateRequest { path: "/big".into(), data: Some(vec![]), acl: open_acl(), flags: 0 },
    )
        .encoded_len();
    let fits = vec![b'x'; 1_048_575 - overhead];
    assert_eq!(c.create("/big", &fits, 0).await, Ok("/big".into()));
    let (data, _) = c.get_data("/big", false).await.unwrap();
    assert_eq!(data.unwrap().len(), fits.len());
    let mut c = Client::connect(t.addr).await;
    let request = CreateRequest {
        path: "/too".into(),
        data: Some(vec![b'x'; 1_048_575]),
        acl: open_acl(),
        flags: 0,
    };
    c.send(Request::Create(request)).await;
    assert!(c.closed().await);
}

#[tokio::test]
async fn a_vector_count_larger_than_its_frame_is_a_marshalling_error() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let mut frame = RequestHeader { xid: 1, op: OpCode::SetWatches.as_i32() }.to_bytes();
    frame.extend(0i64.to_be_bytes());
    frame.extend(i32::MAX.to_be_bytes());
    c.send_raw(&frame).await;
    let reply = c.next_raw().await.unwrap();
    let header = ReplyHeader::decode(&reply).unwrap().1;
    assert_eq!((header.xid, header.err), (1, -5));
    assert!(c.exists("/", false).await.is_ok(), "the connection still works");
}

#[tokio::test]
async fn a_truncated_write_is_a_marshalling_error_that_takes_a_zxid() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let (before, _) =
        c.call(Request::Exists(PathWatchRequest { path: "/".into(), watch: false })).await;
    let mut frame = RequestHeader { xid: 9, op: OpCode::Create.as_i32() }.to_bytes();
    frame.extend(100i32.to_be_bytes());
    frame.extend(b"/short");
    c.send_raw(&frame).await;
    let reply = c.next_raw().await.unwrap();
    let header = ReplyHeader::decode(&reply).unwrap().1;
    assert_eq!((header.xid, header.err, header.zxid), (9, -5, before.zxid + 1));
}

#[tokio::test]
async fn garbage_before_a_handshake_is_dropped() {
    let t = start().await;
    let mut socket = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    socket.write_all(&[0, 0, 0, 5, 1, 2, 3, 4, 5]).await.unwrap();
    assert_closed(socket).await;
    let mut c = Client::connect(t.addr).await;
    assert!(c.exists("/", false).await.is_ok());
}

#[tokio::test]
async fn max_client_cnxns_limits_connections_per_ip() {
    let t = start_with("maxClientCnxns=2\n").await;
    let _a = Client::connect(t.addr).await;
    let _b = Client::connect(t.addr).await;
    let (_, body) = raw_handshake(t.addr, &connect_request(0, vec![], 30_000)).await;
    assert!(body.is_none(), "the third connection from one IP is closed");
    drop(_a);
    assert!(
        eventually(|| async {
            raw_handshake(t.addr, &connect_request(0, vec![], 30_000)).await.1.is_some()
        })
        .await
    );
}

#[tokio::test]
async fn invalid_paths_are_not_found_on_reads_and_bad_arguments_on_writes() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    assert_eq!(c.get_data("//bad", false).await, Err(-101));
    assert_eq!(c.set_data("//bad", b"", -1).await, Err(-8));
    assert_eq!(c.exists("/a\0b", false).await, Err(-8));
    assert_eq!(c.create("/emoji\u{1F600}", b"", 0).await, Err(-8));
}

#[tokio::test]
async fn a_zero_length_frame_after_the_handshake_closes_at_once() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/kept", b"", 0).await.unwrap();
    c.send_raw(&[]).await;
    assert!(c.closed().await, "ZooKeeper closes a frame too short for a request header");
    assert!(
        eventually(|| async { t.server.node.connection_list().is_empty() }).await,
        "the server let go of the connection"
    );
    let resumed = connect_request(c.session_id, c.passwd.clone(), c.timeout_ms);
    let mut again = Client::resume(t.addr, resumed).await.expect("the session lives on");
    assert!(again.exists("/kept", false).await.is_ok());
}

/// A multi whose body names an op a multi cannot hold.
fn multi_holding(op: OpCode, body: &[u8]) -> Vec<u8> {
    let mut frame = RequestHeader { xid: 5, op: OpCode::Multi.as_i32() }.to_bytes();
    frame.extend(MultiHeader { op: op.as_i32(), done: false, err: -1 }.to_bytes());
    frame.extend(body);
    frame.extend(MultiHeader::END.to_bytes());
    frame
}

#[tokio::test]
async fn a_multi_holding_a_multi_or_delete_container_is_a_marshalling_error() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let nested = MultiRequest::default().to_bytes();
    let delete_container = JString::from("/a").to_bytes();
    for frame in [
        multi_holding(OpCode::Multi, &nested),
        multi_holding(OpCode::DeleteContainer, &delete_container),
    ] {
        let (zxid_before, _) =
            c.call(Request::Exists(PathWatchRequest { path: "/".into(), watch: false })).await;
        c.send_raw(&frame).await;
        let reply = c.next_raw().await.expect("an answer, not a close");
        let header = ReplyHeader::decode(&reply).unwrap().1;
        // As in ZooKeeper, the failed request is a txn of its own: it takes a zxid.
        assert_eq!((header.xid, header.err, header.zxid), (5, -5, zxid_before.zxid + 1));
        assert!(c.exists("/", false).await.is_ok(), "the connection stays open");
    }
}
