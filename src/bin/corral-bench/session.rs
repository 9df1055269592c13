//! One benchmark session: a raw protocol connection that keeps `inflight` requests pipelined
//! and times each reply against its request (replies come back in order).

use std::collections::VecDeque;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use jute::{
    ConnectRequest, ConnectResponse, CreateRequest, Decode, DeleteRequest, Encode, FrameCodec,
    PathWatchRequest, ReplyHeader, Request, RequestHeader, Response,
};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::Framed;

use super::report::Report;
use super::workload::Workload;

#[derive(Debug, Clone)]
pub struct Plan {
    pub workload: Workload,
    pub inflight: usize,
    pub size: usize,
    pub warmup: Duration,
    pub measure: Duration,
    pub root: String,
}

type Conn = Framed<TcpStream, FrameCodec>;

async fn connect(host: &str) -> anyhow::Result<Conn> {
    let mut socket =
        TcpStream::connect(host).await.with_context(|| format!("connecting to {host}"))?;
    socket.set_nodelay(true)?;
    let request = ConnectRequest {
        timeout_ms: 30_000,
        passwd: Some(vec![0; 16]),
        read_only: Some(false),
        ..ConnectRequest::default()
    };
    let mut bytes = (request.encoded_len() as i32).to_be_bytes().to_vec();
    request.encode(&mut bytes);
    tokio::io::AsyncWriteExt::write_all(&mut socket, &bytes).await?;
    let mut conn = Framed::new(socket, FrameCodec::new(64 << 20));
    let frame = conn.next().await.context("no ConnectResponse")??;
    if ConnectResponse::from_bytes(&frame)?.session_id == 0 {
        bail!("{host} refused the session");
    }
    Ok(conn)
}

async fn call(conn: &mut Conn, xid: i32, request: Request) -> anyhow::Result<i32> {
    let op = request.op_code().as_i32();
    conn.send((RequestHeader { xid, op }, request)).await?;
    loop {
        let frame = conn.next().await.context("connection closed")??;
        let header = ReplyHeader::decode(&frame).map_err(|e| anyhow::anyhow!("{e:?}"))?.1;
        if header.xid == xid {
            return Ok(header.err);
        }
    }
}

/// Creates the benchmark's root and one node per session.
pub async fn prepare(host: &str, root: &str, sessions: usize, size: usize) -> anyhow::Result<()> {
    let mut conn = connect(host).await?;
    let open = vec![jute::Acl::new(jute::perms::ALL, "world", "anyone")];
    let create = |path: String| {
        Request::Create(CreateRequest {
            path: path.into(),
            data: Some(vec![b'x'; size]),
            acl: open.clone(),
            flags: 0,
        })
    };
    call(&mut conn, 1, create(root.to_owned())).await?;
    for i in 0..sessions {
        let err = call(&mut conn, 2 + i as i32, create(format!("{root}/s{i}"))).await?;
        if err != 0 {
            bail!("creating {root}/s{i} failed with {err}");
        }
    }
    Ok(())
}

/// Requests kept in flight by `cleanup`.
const CLEANUP_WINDOW: usize = 256;

/// Sends `requests` with up to `CLEANUP_WINDOW` in flight; the replies' bodies, in order
/// (`None` for an error).
async fn pipelined(
    conn: &mut Conn,
    xid: &mut i32,
    requests: Vec<Request>,
) -> anyhow::Result<Vec<Option<Response>>> {
    let mut replies = Vec::with_capacity(requests.len());
    for chunk in requests.chunks(CLEANUP_WINDOW) {
        for request in chunk {
            let op = request.op_code().as_i32();
            conn.feed((RequestHeader { xid: *xid, op }, request.clone())).await?;
            *xid += 1;
        }
        SinkExt::<(RequestHeader, Request)>::flush(conn).await?;
        for request in chunk {
            let frame = conn.next().await.context("connection closed")??;
            let (body, header) =
                ReplyHeader::decode(&frame).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            let ok = header.err == 0;
            replies.push(ok.then(|| Response::decode(request.op_code(), body).ok()).flatten());
        }
    }
    Ok(replies)
}

/// Removes what the benchmark created, level by level, pipelined (best effort).
pub async fn cleanup(host: &str, root: &str) {
    let Ok(mut conn) = connect(host).await else { return };
    let _ = remove_tree(&mut conn, root).await;
}

async fn remove_tree(conn: &mut Conn, root: &str) -> anyhow::Result<()> {
    let mut xid = 1;
    let mut level = vec![root.to_owned()];
    let mut order = Vec::new();
    while !level.is_empty() {
        let lists = level
            .iter()
            .map(|p| {
                Request::GetChildren(PathWatchRequest { path: p.as_str().into(), watch: false })
            })
            .collect();
        let replies = pipelined(conn, &mut xid, lists).await?;
        let mut next = Vec::new();
        for (path, reply) in level.iter().zip(replies) {
            if let Some(Response::GetChildren(r)) = reply {
                next.extend(r.children.iter().map(|c| format!("{path}/{c}")));
            }
        }
        order.append(&mut level);
        level = next;
    }
    // Deepest first; a session's requests apply in order, so children go before parents.
    let deletes = order
        .into_iter()
        .rev()
        .map(|path| Request::Delete(DeleteRequest { path: path.as_str().into(), version: -1 }))
        .collect();
    pipelined(conn, &mut xid, deletes).await?;
    Ok(())
}

/// Runs one session until the plan's window ends.
pub async fn run(host: String, index: usize, plan: Plan) -> anyhow::Result<Report> {
    let mut conn = connect(&host).await?;
    let data = vec![b'x'; plan.size];
    let start = Instant::now();
    let (measure_from, stop_at) = (start + plan.warmup, start + plan.warmup + plan.measure);
    let mut sent: VecDeque<Instant> = VecDeque::with_capacity(plan.inflight);
    let (mut n, mut xid) = (0u64, 1i32);
    let mut report = Report::default();
    loop {
        while sent.len() < plan.inflight && Instant::now() < stop_at {
            let request = plan.workload.request(&plan.root, index, n, &data);
            let op = request.op_code().as_i32();
            conn.feed((RequestHeader { xid, op }, request)).await?;
            sent.push_back(Instant::now());
            n += 1;
            xid = xid.wrapping_add(1).max(1);
        }
        SinkExt::<(RequestHeader, Request)>::flush(&mut conn).await?;
        let Some(issued) = sent.pop_front() else { break };
        let frame = conn.next().await.context("connection closed")??;
        let header = ReplyHeader::decode(&frame).map_err(|e| anyhow::anyhow!("{e:?}"))?.1;
        let done = Instant::now();
        if issued >= measure_from && done <= stop_at {
            if header.err == 0 {
                report.latencies_us.push(done.duration_since(issued).as_micros() as u32);
            } else {
                report.errors += 1;
            }
        }
    }
    Ok(report)
}
