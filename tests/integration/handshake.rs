//! The handshake as zk-protocol.md §1 describes it: readOnly mirrored, a 16-byte password,
//! pipelined requests, reconnects, and ZooKeeper's answers for bad sessions.

use crate::common;

use common::*;
use jute::*;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn new_session_gets_a_16_byte_password_and_the_read_only_byte_mirrored() {
    let t = start().await;
    let (_, body) = raw_handshake(t.addr, &connect_request(0, vec![0; 16], 30_000)).await;
    let body = body.unwrap();
    assert_eq!(body.len(), 37);
    let response = ConnectResponse::from_bytes(&body).unwrap();
    assert_eq!(response.passwd.as_ref().unwrap().len(), 16);
    assert_eq!(response.read_only, Some(false));
    assert_eq!(response.session_id >> 56, 1, "standalone session ids start with server id 1");

    // go-zookeeper omits the readOnly byte and must not get one back.
    let mut old = connect_request(0, vec![0; 16], 30_000);
    old.read_only = None;
    let (_, body) = raw_handshake(t.addr, &old).await;
    assert_eq!(body.unwrap().len(), 36);

    // zookeeper-client-rust sends an empty password for a new session.
    let (_, body) = raw_handshake(t.addr, &connect_request(0, vec![], 30_000)).await;
    assert_eq!(ConnectResponse::from_bytes(&body.unwrap()).unwrap().passwd.unwrap().len(), 16);
}

#[tokio::test]
async fn the_timeout_is_clamped_to_min_and_max() {
    let t = start_with("tickTime=2000\n").await;
    let low = Client::resume(t.addr, connect_request(0, vec![], 10)).await.unwrap();
    assert_eq!(low.timeout_ms, 4000);
    let high = Client::resume(t.addr, connect_request(0, vec![], 1_000_000)).await.unwrap();
    assert_eq!(high.timeout_ms, 40_000);
    let custom =
        start_with("tickTime=2000\nminSessionTimeout=1000\nmaxSessionTimeout=5000\n").await;
    let c = Client::resume(custom.addr, connect_request(0, vec![], 30_000)).await.unwrap();
    assert_eq!(c.timeout_ms, 5000);
}

#[tokio::test]
async fn requests_pipelined_behind_the_connect_request_are_answered_in_order() {
    let t = start().await;
    let mut socket = tokio::net::TcpStream::connect(t.addr).await.unwrap();
    let mut burst = Vec::new();
    let connect = connect_request(0, vec![], 30_000);
    burst.extend((connect.encoded_len() as i32).to_be_bytes());
    connect.encode(&mut burst);
    let requests = [
        (
            1,
            Request::Create(CreateRequest {
                path: "/p".into(),
                data: None,
                acl: open_acl(),
                flags: 0,
            }),
        ),
        (2, Request::Exists(PathWatchRequest { path: "/p".into(), watch: false })),
        (xid::PING, Request::Ping),
    ];
    for (xid, request) in &requests {
        let frame =
            (RequestHeader { xid: *xid, op: request.op_code().as_i32() }, request).to_bytes();
        burst.extend((frame.len() as i32).to_be_bytes());
        burst.extend(frame);
    }
    socket.write_all(&burst).await.unwrap();
    let mut framed = tokio_util::codec::Framed::new(socket, FrameCodec::default());
    use futures::StreamExt;
    let connect = framed.next().await.unwrap().unwrap();
    assert!(ConnectResponse::from_bytes(&connect).unwrap().session_id != 0);
    let mut xids = Vec::new();
    for _ in 0..3 {
        let frame = framed.next().await.unwrap().unwrap();
        let header = ReplyHeader::decode(&frame).unwrap().1;
        assert_eq!(header.err, 0);
        xids.push(header.xid);
    }
    assert_eq!(xids, vec![1, 2, xid::PING]);
}

#[tokio::test]
async fn reconnect_with_id_and_password_keeps_the_session_and_its_ephemerals() {
    let t = start().await;
    let mut first = Client::connect(t.addr).await;
    first.create("/eph", b"", 1).await.unwrap();
    let request = connect_request(first.session_id, first.passwd.clone(), 30_000);
    let mut second = Client::resume(t.addr, request).await.expect("same session");
    assert_eq!(second.session_id, first.session_id);
    // The old connection is closed when the session moves.
    assert!(first.closed().await);
    let stat = second.exists("/eph", false).await.unwrap();
    assert_eq!(stat.ephemeral_owner, second.session_id);
}

#[tokio::test]
async fn a_wrong_password_gets_an_invalid_session_answer_and_a_close() {
    let t = start().await;
    let client = Client::connect(t.addr).await;
    let (mut socket, body) =
        raw_handshake(t.addr, &connect_request(client.session_id, vec![9; 16], 30_000)).await;
    let response = ConnectResponse::from_bytes(&body.unwrap()).unwrap();
    assert_eq!((response.timeout_ms, response.session_id), (0, 0));
    assert_eq!(response.passwd, Some(vec![0; 16]));
    let mut rest = Vec::new();
    use tokio::io::AsyncReadExt;
    assert_eq!(socket.read_to_end(&mut rest).await.unwrap(), 0, "then the server closes");
}

#[tokio::test]
async fn an_unknown_or_closed_session_is_refused() {
    let t = start().await;
    let client = Client::connect(t.addr).await;
    let (id, passwd) = (client.session_id, client.passwd.clone());
    client.close().await;
    assert!(Client::resume(t.addr, connect_request(id, passwd, 30_000)).await.is_none());
    assert!(Client::resume(t.addr, connect_request(0x0100_0000_0000_0042, vec![0; 16], 30_000))
        .await
        .is_none());
}

#[tokio::test]
async fn a_client_that_has_seen_a_newer_zxid_is_closed_without_a_response() {
    let t = start().await;
    let mut ahead = connect_request(0, vec![], 30_000);
    ahead.last_zxid_seen = 1 << 40;
    let (_, body) = raw_handshake(t.addr, &ahead).await;
    assert!(body.is_none());
}

#[tokio::test]
async fn close_session_replies_then_closes_and_removes_ephemerals() {
    let t = start().await;
    let mut watcher = Client::connect(t.addr).await;
    let mut owner = Client::connect(t.addr).await;
    owner.create("/gone", b"", 1).await.unwrap();
    watcher.exists("/gone", true).await.unwrap();
    let (header, _) = owner.call(Request::CloseSession).await;
    assert_eq!(header.err, 0);
    assert!(owner.closed().await);
    let event = watcher.event().await;
    assert_eq!((event.event_type, event.path.as_str()), (EventType::NodeDeleted.as_i32(), "/gone"));
    assert_eq!(watcher.exists("/gone", false).await, Err(-101));
}
