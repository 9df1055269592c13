//! Golden tests: every frame recorded between stock clients and Apache ZooKeeper 3.8 decodes as
//! the record it should be, and re-encodes to the same bytes.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;

use jute::{
    ConnectRequest, ConnectResponse, Decode, Encode, OpCode, ReplyHeader, Request, RequestHeader,
    Response, WatcherEvent,
};

/// Where the recorded frames live: `CORRAL_FIXTURES`, or `shared/` beside the repository.
fn fixtures_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CORRAL_FIXTURES") {
        return PathBuf::from(dir).join("wire");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/wire")
}

struct Frame {
    conn: u64,
    from_client: bool,
    bytes: Vec<u8>,
}

fn load(file: &str) -> Vec<Frame> {
    let path = fixtures_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    let mut frames = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line).expect("fixture line is JSON");
        // `raw` lines are unframed four-letter-word traffic, checked by the server's tests.
        let Some(hex) = value["hex"].as_str() else {
            assert!(value["raw"].is_string(), "a line has neither hex nor raw: {line}");
            continue;
        };
        frames.push(Frame {
            conn: value["conn"].as_u64().expect("conn"),
            from_client: value["dir"] == "c2s",
            bytes: decode_hex(hex),
        });
    }
    frames
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Asserts that `value` re-encodes to exactly `bytes`.
fn assert_same<T: Encode + std::fmt::Debug>(value: &T, bytes: &[u8], what: &str) {
    assert_eq!(value.encoded_len(), bytes.len(), "encoded_len of {what}: {value:?}");
    assert_eq!(value.to_bytes(), bytes, "re-encoding {what}: {value:?}");
}

#[derive(Default)]
struct Tally {
    requests: BTreeMap<i32, usize>,
    replies: usize,
    notifications: usize,
    connections: usize,
}

/// Checks one connection's frames in order, matching replies to requests by xid.
fn check_connection(frames: &[&Frame], tally: &mut Tally) {
    let mut pending: HashMap<i32, VecDeque<OpCode>> = HashMap::new();
    let (mut saw_connect, mut saw_connected) = (false, false);
    for frame in frames {
        let bytes = frame.bytes.as_slice();
        if frame.from_client && !saw_connect {
            saw_connect = true;
            let request = ConnectRequest::from_bytes(bytes).expect("ConnectRequest decodes");
            assert_same(&request, bytes, "ConnectRequest");
        } else if !frame.from_client && !saw_connected {
            saw_connected = true;
            let response = ConnectResponse::from_bytes(bytes).expect("ConnectResponse decodes");
            assert_eq!(response.passwd.as_ref().map(Vec::len), Some(16));
            assert_same(&response, bytes, "ConnectResponse");
        } else if frame.from_client {
            let (xid, op) = check_request(bytes);
            *tally.requests.entry(op.as_i32()).or_default() += 1;
            pending.entry(xid).or_default().push_back(op);
        } else {
            check_reply(bytes, &mut pending, tally);
        }
    }
    tally.connections += 1;
}

/// Checks one request frame and returns its xid and opcode.
fn check_request(bytes: &[u8]) -> (i32, OpCode) {
    let (body, header) = RequestHeader::decode(bytes).expect("RequestHeader decodes");
    let request = Request::decode(header.op, body)
        .unwrap_or_else(|e| panic!("request op {} does not decode: {e}", header.op));
    assert_eq!(request.op_code().as_i32(), header.op);
    let op = request.op_code();
    assert_same(&(header.clone(), request), bytes, "request");
    (header.xid, op)
}

fn check_reply(bytes: &[u8], pending: &mut HashMap<i32, VecDeque<OpCode>>, tally: &mut Tally) {
    let (body, header) = ReplyHeader::decode(bytes).expect("ReplyHeader decodes");
    if header.xid == jute::xid::NOTIFICATION {
        let event = WatcherEvent::from_bytes(body).expect("WatcherEvent decodes");
        assert_same(&(header, event), bytes, "notification");
        tally.notifications += 1;
        return;
    }
    let op = pending
        .get_mut(&header.xid)
        .and_then(VecDeque::pop_front)
        .unwrap_or_else(|| panic!("a reply with xid {} answers no request", header.xid));
    // Replies carry a body only on success; Java appends one to a few errors (a failed SASL
    // step), which must decode as that op's response too.
    if header.err == 0 || !body.is_empty() {
        let response = Response::decode(op, body)
            .unwrap_or_else(|e| panic!("reply to {op:?} does not decode: {e}"));
        assert_same(&(header, response), bytes, "reply");
    } else {
        assert_same(&header, bytes, "error reply");
    }
    tally.replies += 1;
}

fn check_file(file: &str) -> Tally {
    let frames = load(file);
    let mut by_conn: BTreeMap<u64, Vec<&Frame>> = BTreeMap::new();
    for frame in &frames {
        by_conn.entry(frame.conn).or_default().push(frame);
    }
    let mut tally = Tally::default();
    for frames in by_conn.values() {
        check_connection(frames, &mut tally);
    }
    assert!(tally.connections > 0, "{file} has no connections");
    println!(
        "{file}: {} connections, requests by opcode {:?}, {} replies, {} notifications",
        tally.connections, tally.requests, tally.replies, tally.notifications
    );
    tally
}

#[test]
fn kazoo_frames_round_trip() {
    let tally = check_file("kazoo.jsonl");
    assert!(tally.notifications > 0);
}

#[test]
fn zkcli_frames_round_trip() {
    check_file("zkcli.jsonl");
}

#[test]
fn curator_frames_round_trip() {
    let tally = check_file("curator.jsonl");
    assert!(tally.requests.contains_key(&OpCode::Multi.as_i32()));
}

#[test]
fn cclient_frames_round_trip() {
    check_file("cclient.jsonl");
}

#[test]
fn gozk_frames_round_trip() {
    check_file("gozk.jsonl");
}

#[test]
fn rustclient_frames_round_trip() {
    check_file("rustclient.jsonl");
}

#[test]
fn fourlw_file_framed_connections_round_trip() {
    check_file("fourlw.jsonl");
}

/// Every opcode a client may send appears in some recording, except those no recorded client
/// used; the union is checked so a silently skipped opcode would show.
#[test]
fn recordings_cover_the_client_opcodes() {
    let files = [
        "kazoo.jsonl",
        "zkcli.jsonl",
        "curator.jsonl",
        "cclient.jsonl",
        "gozk.jsonl",
        "rustclient.jsonl",
    ];
    let mut seen = BTreeMap::new();
    for file in files {
        for (op, n) in check_file(file).requests {
            *seen.entry(op).or_insert(0) += n;
        }
    }
    for op in [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 14, 15, 16, 17, 18, 19, 21, 100, 101, 102] {
        assert!(seen.contains_key(&op), "no recorded request with opcode {op}");
    }
    for op in [103, 104, 106, 107, -11] {
        assert!(seen.contains_key(&op), "no recorded request with opcode {op}");
    }
}
