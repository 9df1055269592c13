//! Test support: a real corral on 127.0.0.1:0 with its data in a temp dir, and a raw protocol
//! client that speaks frames, keeps notifications apart from replies, and can pipeline.
#![allow(dead_code)]

pub mod cluster;
pub mod peer;
pub mod processes;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use corral::config::Config;
use corral::server::Server;
use futures::{SinkExt, StreamExt};
use jute::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

pub const WAIT: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub server: Server,
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
}

/// Starts a server with ZooKeeper config text (dataDir and port are filled in).
pub async fn start_with(config: &str) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let server = start_in(dir.path(), config).await;
    TestServer { addr: server.addr, server, dir }
}

/// Starts a server on an existing data directory, as a restart does.
pub async fn start_in(dir: &std::path::Path, config: &str) -> Server {
    let text = format!("dataDir={}\n{config}", dir.display());
    let config = Config::from_text(&text).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Server::start(config, listener).await.unwrap()
}

pub async fn start() -> TestServer {
    start_with("tickTime=2000\n4lw.commands.whitelist=*\n").await
}

/// A frame from the server after the handshake.
#[derive(Debug)]
pub enum Incoming {
    Reply(ReplyHeader, Option<Response>),
    Event(i64, WatcherEvent),
}

pub struct Client {
    framed: Framed<TcpStream, FrameCodec>,
    next_xid: i32,
    /// Requests sent and not yet answered, oldest first.
    pending: VecDeque<(i32, OpCode)>,
    /// Notifications received while waiting for replies.
    pub events: VecDeque<(i64, WatcherEvent)>,
    pub session_id: i64,
    pub passwd: Vec<u8>,
    pub timeout_ms: i32,
}

pub fn connect_request(session_id: i64, passwd: Vec<u8>, timeout_ms: i32) -> ConnectRequest {
    ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        timeout_ms,
        session_id,
        passwd: Some(passwd),
        read_only: Some(false),
    }
}

/// Sends a raw ConnectRequest and reads the raw response bytes (without the length).
pub async fn raw_handshake(
    addr: SocketAddr,
    request: &ConnectRequest,
) -> (TcpStream, Option<Vec<u8>>) {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let mut bytes = (request.encoded_len() as i32).to_be_bytes().to_vec();
    request.encode(&mut bytes);
    socket.write_all(&bytes).await.unwrap();
    let mut len = [0u8; 4];
    let read = tokio::time::timeout(WAIT, socket.read_exact(&mut len)).await.unwrap();
    if read.is_err() {
        return (socket, None);
    }
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    socket.read_exact(&mut body).await.unwrap();
    (socket, Some(body))
}

impl Client {
    pub async fn connect(addr: SocketAddr) -> Client {
        Client::resume(addr, connect_request(0, vec![0; 16], 30_000)).await.expect("connects")
    }

    /// A new session, or `None` when the server closes or refuses the connection.
    pub async fn try_connect(addr: SocketAddr) -> Option<Client> {
        Client::resume(addr, connect_request(0, vec![0; 16], 30_000)).await
    }

    /// Connects with `request`; `None` when the server refuses the session.
    pub async fn resume(addr: SocketAddr, request: ConnectRequest) -> Option<Client> {
        let (socket, body) = raw_handshake(addr, &request).await;
        let response = ConnectResponse::from_bytes(&body?).unwrap();
        if response.session_id == 0 {
            return None;
        }
        Some(Client {
            framed: Framed::new(socket, FrameCodec::new(64 << 20)),
            next_xid: 1,
            pending: VecDeque::new(),
            events: VecDeque::new(),
            session_id: response.session_id,
            passwd: response.passwd.unwrap(),
            timeout_ms: response.timeout_ms,
        })
    }

    /// Sends without waiting; returns the xid.
    pub async fn send(&mut self, request: Request) -> i32 {
        let xid = match request {
            Request::Ping => xid::PING,
            _ => {
                self.next_xid += 1;
                self.next_xid - 1
            }
        };
        self.send_xid(xid, request).await;
        xid
    }

    pub async fn send_xid(&mut self, xid: i32, request: Request) {
        let op = request.op_code();
        self.pending.push_back((xid, op));
        let header = RequestHeader { xid, op: op.as_i32() };
        self.framed.send((header, request)).await.unwrap();
    }

    /// The next frame's raw bytes; `None` when the server closed the connection.
    pub async fn next_raw(&mut self) -> Option<BytesMut> {
        match tokio::time::timeout(WAIT, self.framed.next()).await {
            Ok(Some(Ok(frame))) => Some(frame),
            Ok(_) => None,
            Err(_) => panic!("no frame from the server within {WAIT:?}"),
        }
    }

    /// Sends raw payload bytes as one frame.
    pub async fn send_raw(&mut self, payload: &[u8]) {
        self.framed.send(RawPayload(payload)).await.unwrap();
    }

    /// The next frame; `None` when the server closed the connection.
    pub async fn next(&mut self) -> Option<Incoming> {
        let frame: BytesMut = match tokio::time::timeout(WAIT, self.framed.next()).await {
            Ok(Some(Ok(frame))) => frame,
            Ok(_) => return None,
            Err(_) => panic!("no frame from the server within {WAIT:?}"),
        };
        let (body, header) = ReplyHeader::decode(&frame).unwrap();
        if header.xid == xid::NOTIFICATION {
            return Some(Incoming::Event(header.zxid, WatcherEvent::from_bytes(body).unwrap()));
        }
        let (xid, op) = self.pending.pop_front().expect("a reply to a request");
        assert_eq!(header.xid, xid, "replies must come in request order");
        let response = (header.err == 0).then(|| Response::decode(op, body).unwrap());
        Some(Incoming::Reply(header, response))
    }

    /// The next reply, keeping notifications that come first in `events`.
    pub async fn reply(&mut self) -> (ReplyHeader, Option<Response>) {
        loop {
            match self.next().await.expect("connection open") {
                Incoming::Event(zxid, event) => self.events.push_back((zxid, event)),
                Incoming::Reply(header, body) => return (header, body),
            }
        }
    }

    /// Like `call`, but `None` instead of a panic when the connection fails or falls silent:
    /// for clients of servers that are being killed.
    pub async fn try_call(&mut self, request: Request) -> Option<(ReplyHeader, Option<Response>)> {
        let op = request.op_code();
        self.next_xid += 1;
        let xid = self.next_xid - 1;
        let header = RequestHeader { xid, op: op.as_i32() };
        self.framed.send((header, request)).await.ok()?;
        loop {
            let frame = tokio::time::timeout(WAIT, self.framed.next()).await.ok()??.ok()?;
            let (body, header) = ReplyHeader::decode(&frame).ok()?;
            if header.xid == xid::NOTIFICATION {
                continue;
            }
            assert_eq!(header.xid, xid, "replies must come in request order");
            let response = (header.err == 0).then(|| Response::decode(op, body).ok()).flatten();
            return Some((header, response));
        }
    }

    pub async fn call(&mut self, request: Request) -> (ReplyHeader, Option<Response>) {
        self.send(request).await;
        self.reply().await
    }

    /// The error code of a call (0 on success).
    pub async fn err(&mut self, request: Request) -> i32 {
        self.call(request).await.0.err
    }

    /// Waits for the next notification.
    pub async fn event(&mut self) -> WatcherEvent {
        if let Some((_, event)) = self.events.pop_front() {
            return event;
        }
        match self.next().await.expect("connection open") {
            Incoming::Event(_, event) => event,
            Incoming::Reply(h, _) => panic!("expected an event, got reply {h:?}"),
        }
    }

    /// True once the server has closed the connection (reading until EOF).
    pub async fn closed(&mut self) -> bool {
        loop {
            match tokio::time::timeout(WAIT, self.framed.next()).await {
                Ok(None) | Ok(Some(Err(_))) => return true,
                Ok(Some(Ok(_))) => continue,
                Err(_) => return false,
            }
        }
    }

    pub async fn create(&mut self, path: &str, data: &[u8], flags: i32) -> Result<String, i32> {
        let request =
            CreateRequest { path: path.into(), data: Some(data.to_vec()), acl: open_acl(), flags };
        match self.call(Request::Create(request)).await {
            (h, Some(Response::Create(r))) if h.err == 0 => Ok(r.path.to_string()),
            (h, _) => Err(h.err),
        }
    }

    pub async fn create_acl(&mut self, path: &str, acl: Vec<Acl>) -> i32 {
        let request = CreateRequest { path: path.into(), data: None, acl, flags: 0 };
        self.err(Request::Create(request)).await
    }

    pub async fn get_data(
        &mut self,
        path: &str,
        watch: bool,
    ) -> Result<(Option<Vec<u8>>, Stat), i32> {
        match self.call(Request::GetData(PathWatchRequest { path: path.into(), watch })).await {
            (_, Some(Response::GetData(r))) => Ok((r.data, r.stat)),
            (h, _) => Err(h.err),
        }
    }

    pub async fn exists(&mut self, path: &str, watch: bool) -> Result<Stat, i32> {
        match self.call(Request::Exists(PathWatchRequest { path: path.into(), watch })).await {
            (_, Some(Response::Stat(r))) => Ok(r.stat),
            (h, _) => Err(h.err),
        }
    }

    pub async fn set_data(&mut self, path: &str, data: &[u8], version: i32) -> Result<Stat, i32> {
        let request = SetDataRequest { path: path.into(), data: Some(data.to_vec()), version };
        match self.call(Request::SetData(request)).await {
            (_, Some(Response::Stat(r))) => Ok(r.stat),
            (h, _) => Err(h.err),
        }
    }

    pub async fn delete(&mut self, path: &str, version: i32) -> i32 {
        self.err(Request::Delete(DeleteRequest { path: path.into(), version })).await
    }

    pub async fn children(&mut self, path: &str, watch: bool) -> Result<Vec<String>, i32> {
        match self.call(Request::GetChildren(PathWatchRequest { path: path.into(), watch })).await {
            (_, Some(Response::GetChildren(r))) => {
                Ok(r.children.iter().map(|c| c.to_string()).collect())
            }
            (h, _) => Err(h.err),
        }
    }

    pub async fn add_auth(&mut self, scheme: &str, auth: &[u8]) -> i32 {
        let packet = AuthPacket { auth_type: 0, scheme: scheme.into(), auth: Some(auth.to_vec()) };
        self.send_xid(xid::AUTH, Request::Auth(packet)).await;
        self.reply().await.0.err
    }

    /// sync(path): every write acknowledged before it is applied on this server after it.
    pub async fn sync(&mut self, path: &str) {
        let (header, _) = self.call(Request::Sync(PathRequest { path: path.into() })).await;
        assert_eq!(header.err, 0, "sync {path}");
    }

    pub async fn close(mut self) {
        self.call(Request::CloseSession).await;
    }
}

pub fn open_acl() -> Vec<Acl> {
    vec![Acl::new(perms::ALL, "world", "anyone")]
}

/// Sends a four-letter word and returns the text the server answers with.
pub async fn four_letter(addr: SocketAddr, command: &str) -> String {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(command.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(WAIT, socket.read_to_string(&mut out)).await.unwrap().unwrap();
    out
}

/// Polls `check` until it holds or `WAIT` passes.
pub async fn eventually<F, Fut>(mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Every node a client can see (the tree must be world-readable): path → data, Stat, ACL.
pub type TreeDump = std::collections::BTreeMap<String, (Option<Vec<u8>>, Stat, Vec<Acl>)>;

pub async fn dump_tree(c: &mut Client) -> TreeDump {
    let mut dump = TreeDump::new();
    let mut pending = vec!["/".to_owned()];
    while let Some(path) = pending.pop() {
        let (data, stat) = c.get_data(&path, false).await.expect("readable");
        let acl = match c.call(Request::GetAcl(PathRequest { path: path.as_str().into() })).await {
            (_, Some(Response::GetAcl(r))) => r.acl,
            (h, _) => panic!("getACL {path}: {}", h.err),
        };
        for child in c.children(&path, false).await.expect("listable") {
            pending.push(if path == "/" { format!("/{child}") } else { format!("{path}/{child}") });
        }
        dump.insert(path, (data, stat, acl));
    }
    dump
}

/// Starts the corral binary with `cfg` (whose clientPort is 0); returns it, the address it
/// serves, and the log lines it wrote before serving. Its log is drained from then on.
pub fn spawn_binary(cfg: &std::path::Path) -> (std::process::Child, SocketAddr, Vec<String>) {
    spawn_binary_with(cfg, &[])
}

/// As `spawn_binary`, with these environment variables (and no JVM flags but these).
pub fn spawn_binary_with(
    cfg: &std::path::Path,
    env: &[(&str, &str)],
) -> (std::process::Child, SocketAddr, Vec<String>) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("--config")
        .arg(cfg)
        .env("RUST_LOG", "info")
        .env_remove("JVMFLAGS")
        .env_remove("SERVER_JVMFLAGS")
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut before = Vec::new();
    let addr = loop {
        let line = lines.next().expect("corral exited before serving").unwrap();
        if let Some(rest) = line.split("addr=").nth(1).filter(|_| line.contains("corral serving")) {
            break rest.trim().parse().unwrap();
        }
        before.push(line);
    };
    // Keep draining its log so the pipe never fills.
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr, before)
}

/// A free 127.0.0.1 port below the kernel's ephemeral range, for an address a test must
/// name before it binds (quorum ports in `server.N` lines, rebound after a restart).
///
/// A port picked by binding port 0 and closing can be handed out again by the next bind to
/// port 0 (another test's client listener) before its owner binds it: a port below the
/// ephemeral range is never handed out that way, and this process never hands it out twice.
pub fn reserved_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    const FIRST: u16 = 12_000;
    const SPAN: u16 = 18_000; // up to 30 000, under Linux's default floor of 32 768
    static NEXT: AtomicU16 = AtomicU16::new(0);
    // Start where this process's id points, so test processes run side by side rarely meet.
    let _ = NEXT.compare_exchange(
        0,
        (std::process::id() % SPAN as u32) as u16 + 1,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = FIRST + NEXT.fetch_add(1, Ordering::SeqCst) % SPAN;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// One HTTP/1.1 request: the status code (0 for a connection closed unanswered) and body.
pub async fn http(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let (status, _, body) = http_with(addr, method, path, &[]).await;
    (status, body)
}

/// One HTTP/1.1 request with these headers: the status, the response's head, the body.
pub async fn http_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let (status, head, body) = http_bytes(addr, method, path, headers).await;
    (status, head, String::from_utf8_lossy(&body).into_owned())
}

/// As `http_with`, with the body as bytes (a snapshot is binary).
pub async fn http_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Vec<u8>) {
    http_send(addr, (method, path), headers, &[]).await
}

/// One request with a body (sent with its Content-Length when it has one): the status, the
/// response's head and its body.
pub async fn http_send(
    addr: SocketAddr,
    (method, path): (&str, &str),
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String, Vec<u8>) {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let _ = socket.write_all(request.as_bytes()).await;
    let _ = socket.write_all(body).await;
    let mut raw = Vec::new();
    let _ = socket.read_to_end(&mut raw).await;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map_or(raw.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&raw[..split]).trim_end().to_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head, raw[split..].to_vec())
}
