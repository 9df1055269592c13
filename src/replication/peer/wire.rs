//! The peer protocol's messages and their codec. A frame is a 4-byte big-endian length (at
//! most `MAX_FRAME`) and a body: a kind byte, then the kind's fields. Small fields are JSON
//! (openraft's own serde forms); raft entries use `entry_codec`, the log's own bytes, so a
//! batch is never re-encoded on its way from one log to another.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use openraft::error::{Fatal, RaftError};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use serde::{Deserialize, Serialize};
use tokio_util::codec::{Decoder, Encoder, LengthDelimitedCodec};

use super::super::entry_codec;
use super::super::types::*;

/// The protocol version this build speaks; a peer offering another one is refused. It goes
/// up when a message changes, so a rolling upgrade can tell old peers from new.
pub const VERSION: u16 = 1;
/// The largest frame: an append of entries, or a snapshot chunk.
pub const MAX_FRAME: usize = 64 << 20;
/// The largest frame before the handshake is done (a Hello, a Welcome or a refusal): a
/// stranger cannot make a member buffer more than this per connection.
pub const MAX_HANDSHAKE_FRAME: usize = 4 << 10;
/// Snapshot files travel in chunks of this many bytes.
pub const SNAPSHOT_CHUNK: usize = 1 << 20;

/// A hash of the ensemble's `server.N` lines: peers of another ensemble are refused.
pub type ClusterId = [u8; 32];

/// What a connection carries after its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Purpose {
    /// Raft RPCs from a leader or candidate: one request, one reply, in turn.
    Raft,
    /// A member's forwarded writes and session touches to the leader: one ordered stream.
    Forward,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub version: u16,
    pub cluster: ClusterId,
    pub from: NodeId,
    pub purpose: Purpose,
}

#[derive(Debug)]
pub enum Message {
    Hello(Hello),
    Welcome {
        version: u16,
    },
    Refused(String),
    Vote(VoteRequest<NodeId>),
    VoteReply(Result<VoteResponse<NodeId>, RaftError<NodeId>>),
    Append(AppendEntriesRequest<TypeConfig>),
    AppendReply(Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>),
    SnapshotBegin {
        vote: Vote,
        meta: SnapshotMeta,
    },
    SnapshotChunk(Bytes),
    SnapshotEnd,
    SnapshotReply(Result<SnapshotResponse<NodeId>, Fatal<NodeId>>),
    /// Forwarded txns, as a txn-codec entry (its clock unused: the leader stamps its own).
    Txns(Bytes),
    /// Sessions touched on the sender since its last batch.
    Touches(Vec<i64>),
}

mod kind {
    pub const HELLO: u8 = 1;
    pub const WELCOME: u8 = 2;
    pub const REFUSED: u8 = 3;
    pub const VOTE: u8 = 10;
    pub const VOTE_REPLY: u8 = 11;
    pub const APPEND: u8 = 12;
    pub const APPEND_REPLY: u8 = 13;
    pub const SNAPSHOT_BEGIN: u8 = 14;
    pub const SNAPSHOT_CHUNK: u8 = 15;
    pub const SNAPSHOT_END: u8 = 16;
    pub const SNAPSHOT_REPLY: u8 = 17;
    pub const TXNS: u8 = 20;
    pub const TOUCHES: u8 = 21;
}

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("bad peer message: {0}")]
    Bad(String),
    #[error("a message of {0} bytes is past the frame bound")]
    TooLarge(usize),
}

fn bad(why: impl std::fmt::Display) -> WireError {
    WireError::Bad(why.to_string())
}

/// The fields of an append, without its entries.
#[derive(Serialize, Deserialize)]
struct AppendHeader {
    vote: Vote,
    prev_log_id: Option<LogId>,
    leader_commit: Option<LogId>,
}

#[derive(Serialize, Deserialize)]
struct SnapshotHeader {
    vote: Vote,
    meta: SnapshotMeta,
}

fn put_json(out: &mut BytesMut, value: &impl Serialize) -> Result<(), WireError> {
    let json = serde_json::to_vec(value).map_err(bad)?;
    out.put_u32(json.len() as u32);
    out.put_slice(&json);
    Ok(())
}

fn take_json<T: for<'de> Deserialize<'de>>(body: &mut Bytes) -> Result<T, WireError> {
    let bytes = take_sized(body)?;
    serde_json::from_slice(&bytes).map_err(bad)
}

fn take_sized(body: &mut Bytes) -> Result<Bytes, WireError> {
    if body.remaining() < 4 {
        return Err(bad("truncated length"));
    }
    let len = body.get_u32() as usize;
    if body.remaining() < len {
        return Err(bad("truncated field"));
    }
    Ok(body.split_to(len))
}

impl Message {
    fn encode_body(&self, out: &mut BytesMut) -> Result<(), WireError> {
        match self {
            Message::Hello(hello) => tagged(out, kind::HELLO, hello),
            Message::Welcome { version } => tagged(out, kind::WELCOME, version),
            Message::Refused(why) => tagged(out, kind::REFUSED, why),
            Message::Vote(rpc) => tagged(out, kind::VOTE, rpc),
            Message::VoteReply(reply) => tagged(out, kind::VOTE_REPLY, reply),
            Message::Append(rpc) => encode_append(out, rpc),
            Message::AppendReply(reply) => tagged(out, kind::APPEND_REPLY, reply),
            Message::SnapshotBegin { vote, meta } => {
                let header = SnapshotHeader { vote: *vote, meta: meta.clone() };
                tagged(out, kind::SNAPSHOT_BEGIN, &header)
            }
            Message::SnapshotChunk(bytes) => {
                out.put_u8(kind::SNAPSHOT_CHUNK);
                out.put_slice(bytes);
                Ok(())
            }
            Message::SnapshotEnd => {
                out.put_u8(kind::SNAPSHOT_END);
                Ok(())
            }
            Message::SnapshotReply(reply) => tagged(out, kind::SNAPSHOT_REPLY, reply),
            Message::Txns(bytes) => {
                out.put_u8(kind::TXNS);
                out.put_slice(bytes);
                Ok(())
            }
            Message::Touches(ids) => {
                out.put_u8(kind::TOUCHES);
                ids.iter().for_each(|id| out.put_i64(*id));
                Ok(())
            }
        }
    }

    fn decode_body(mut body: Bytes) -> Result<Message, WireError> {
        if body.is_empty() {
            return Err(bad("empty frame"));
        }
        let tag = body.get_u8();
        Ok(match tag {
            kind::HELLO => Message::Hello(take_json(&mut body)?),
            kind::WELCOME => Message::Welcome { version: take_json(&mut body)? },
            kind::REFUSED => Message::Refused(take_json(&mut body)?),
            kind::VOTE => Message::Vote(take_json(&mut body)?),
            kind::VOTE_REPLY => Message::VoteReply(take_json(&mut body)?),
            kind::APPEND => Message::Append(decode_append(body)?),
            kind::APPEND_REPLY => Message::AppendReply(take_json(&mut body)?),
            kind::SNAPSHOT_BEGIN => {
                let header: SnapshotHeader = take_json(&mut body)?;
                Message::SnapshotBegin { vote: header.vote, meta: header.meta }
            }
            kind::SNAPSHOT_CHUNK => Message::SnapshotChunk(body),
            kind::SNAPSHOT_END => Message::SnapshotEnd,
            kind::SNAPSHOT_REPLY => Message::SnapshotReply(take_json(&mut body)?),
            kind::TXNS => Message::Txns(body),
            kind::TOUCHES => {
                if body.len() % 8 != 0 {
                    return Err(bad("touches are 8-byte ids"));
                }
                Message::Touches((0..body.len() / 8).map(|_| body.get_i64()).collect())
            }
            other => return Err(bad(format!("unknown message kind {other}"))),
        })
    }
}

fn tagged(out: &mut BytesMut, tag: u8, value: &impl Serialize) -> Result<(), WireError> {
    out.put_u8(tag);
    put_json(out, value)
}

fn encode_append(
    out: &mut BytesMut,
    rpc: &AppendEntriesRequest<TypeConfig>,
) -> Result<(), WireError> {
    out.put_u8(kind::APPEND);
    let header = AppendHeader {
        vote: rpc.vote,
        prev_log_id: rpc.prev_log_id,
        leader_commit: rpc.leader_commit,
    };
    put_json(out, &header)?;
    out.put_u32(rpc.entries.len() as u32);
    for entry in &rpc.entries {
        let bytes = entry_codec::encode(entry)?;
        out.put_u32(bytes.len() as u32);
        out.put_slice(&bytes);
    }
    Ok(())
}

fn decode_append(mut body: Bytes) -> Result<AppendEntriesRequest<TypeConfig>, WireError> {
    let header: AppendHeader = take_json(&mut body)?;
    if body.remaining() < 4 {
        return Err(bad("truncated entry count"));
    }
    let count = body.get_u32() as usize;
    // Each entry takes at least its 4-byte length: a count past that is a lie.
    if count > body.remaining() / 4 {
        return Err(bad("more entries than bytes"));
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        entries.push(entry_codec::decode(&take_sized(&mut body)?)?);
    }
    Ok(AppendEntriesRequest {
        vote: header.vote,
        prev_log_id: header.prev_log_id,
        entries,
        leader_commit: header.leader_commit,
    })
}

/// Frames `Message`s, bounded by `MAX_FRAME` both ways.
pub struct PeerCodec {
    frames: LengthDelimitedCodec,
}

impl PeerCodec {
    /// A codec for a new connection: frames up to `MAX_HANDSHAKE_FRAME` until `handshaken`.
    pub fn for_handshake() -> Self {
        let mut frames = LengthDelimitedCodec::new();
        frames.set_max_frame_length(MAX_HANDSHAKE_FRAME);
        PeerCodec { frames }
    }

    /// Both sides passed the handshake: frames up to `MAX_FRAME` from now on.
    pub fn handshaken(&mut self) {
        self.frames.set_max_frame_length(MAX_FRAME);
    }
}

impl Decoder for PeerCodec {
    type Item = Message;
    type Error = WireError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>, WireError> {
        match self.frames.decode(src)? {
            Some(frame) => Message::decode_body(frame.freeze()).map(Some),
            None => Ok(None),
        }
    }
}

impl Encoder<Message> for PeerCodec {
    type Error = WireError;

    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<(), WireError> {
        let mut body = BytesMut::new();
        message.encode_body(&mut body)?;
        if body.len() > MAX_FRAME {
            return Err(WireError::TooLarge(body.len()));
        }
        self.frames.encode(body.freeze(), dst)?;
        Ok(())
    }
}
