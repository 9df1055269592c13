//! `jute`: ZooKeeper's client wire format and nothing else. It turns frames into typed records
//! and back; it knows no sessions, trees or servers.
//!
//! Jute writes big-endian ints and longs, one-byte booleans, and length-prefixed buffers,
//! strings and vectors in which -1 means null. A record is its fields in order, with no tags.
//!
//! Layout:
//! - [`codec`]: the length-prefixed [`FrameCodec`] (bounded by `jute.maxbuffer`).
//! - [`record`]: the primitives and the [`Decode`]/[`Encode`] traits.
//! - [`proto`]: every record of the client port, by family.
//! - [`Request`] and [`Response`]: a body decoded once by its opcode.
//! - [`OpCode`], [`ErrorCode`] and the small enums in [`consts`].

pub mod codec;
pub mod consts;
pub mod error;
pub mod error_code;
mod jstring;
pub mod opcode;
pub mod proto;
pub mod record;
pub mod request;
pub mod response;

pub use codec::{FrameCodec, RawPayload, DEFAULT_MAX_FRAME_BYTES};
pub use consts::{perms, AddWatchMode, CreateMode, EventType, KeeperState, WatcherType};
pub use error::{DecodeError, FrameError, Parsed};
pub use error_code::ErrorCode;
pub use jstring::JString;
pub use opcode::{xid, OpCode};
pub use proto::auth::{AuthPacket, SaslToken, WhoAmIResponse};
pub use proto::connect::{ConnectRequest, ConnectResponse};
pub use proto::data::{Acl, ClientInfo, Id, Stat};
pub use proto::header::{MultiHeader, ReplyHeader, RequestHeader};
pub use proto::multi::{MultiOp, MultiRequest, MultiResponse, MultiResult};
pub use proto::node::*;
pub use proto::watches::{AddWatchRequest, SetWatches, SetWatches2, WatcherEvent, WatchesRequest};
pub use record::{Buffer, Decode, Encode, Record};
pub use request::Request;
pub use response::Response;
