//! `Request`: a client frame's body decoded once, by the opcode in its RequestHeader, into the
//! typed record the server acts on.

use bytes::BufMut;

use crate::error::{from_nom, DecodeError};
use crate::proto::auth::{AuthPacket, SaslToken};
use crate::proto::multi::MultiRequest;
use crate::proto::node::{
    CheckVersionRequest, CreateRequest, CreateTtlRequest, DeleteContainerRequest, DeleteRequest,
    PathRequest, PathWatchRequest, ReconfigRequest, SetAclRequest, SetDataRequest,
};
use crate::proto::watches::{AddWatchRequest, SetWatches, SetWatches2, WatchesRequest};
use crate::{Decode, Encode, OpCode};

/// A client request after the handshake, without its header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Create(CreateRequest),
    Create2(CreateRequest),
    CreateContainer(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    /// Internal to ZooKeeper's reaper; decoded so the server can refuse it.
    DeleteContainer(DeleteContainerRequest),
    Exists(PathWatchRequest),
    GetData(PathWatchRequest),
    SetData(SetDataRequest),
    GetAcl(PathRequest),
    SetAcl(SetAclRequest),
    GetChildren(PathWatchRequest),
    GetChildren2(PathWatchRequest),
    Sync(PathRequest),
    Ping,
    /// Valid only inside a multi; decoded so the server can refuse it at the top level.
    Check(CheckVersionRequest),
    Multi(MultiRequest),
    MultiRead(MultiRequest),
    Reconfig(ReconfigRequest),
    CheckWatches(WatchesRequest),
    RemoveWatches(WatchesRequest),
    Auth(AuthPacket),
    SetWatches(SetWatches),
    SetWatches2(SetWatches2),
    Sasl(SaslToken),
    GetEphemerals(PathRequest),
    GetAllChildrenNumber(PathRequest),
    AddWatch(AddWatchRequest),
    WhoAmI,
    CloseSession,
}

fn body<T: Decode>(input: &[u8], wrap: impl FnOnce(T) -> Request) -> Result<Request, DecodeError> {
    // Like Java, bytes after the record are ignored: clients never send them, and refusing them
    // would only turn a harmless quirk into a closed connection.
    let (_, value) = T::decode(input).map_err(from_nom)?;
    Ok(wrap(value))
}

impl Request {
    /// Decodes the body of a request whose header carried opcode `op`. Opcodes a client may not
    /// send (notification, error, createSession) and unknown numbers are errors.
    pub fn decode(op: i32, input: &[u8]) -> Result<Request, DecodeError> {
        let code = OpCode::from_i32(op).ok_or(DecodeError::UnknownOpCode(op))?;
        match code {
            OpCode::Create => body(input, Request::Create),
            OpCode::Create2 => body(input, Request::Create2),
            OpCode::CreateContainer => body(input, Request::CreateContainer),
            OpCode::CreateTtl => body(input, Request::CreateTtl),
            OpCode::Delete => body(input, Request::Delete),
            OpCode::DeleteContainer => body(input, Request::DeleteContainer),
            OpCode::Exists => body(input, Request::Exists),
            OpCode::GetData => body(input, Request::GetData),
            OpCode::SetData => body(input, Request::SetData),
            OpCode::GetAcl => body(input, Request::GetAcl),
            OpCode::SetAcl => body(input, Request::SetAcl),
            OpCode::GetChildren => body(input, Request::GetChildren),
            OpCode::GetChildren2 => body(input, Request::GetChildren2),
            OpCode::Sync => body(input, Request::Sync),
            OpCode::Ping => Ok(Request::Ping),
            OpCode::Check => body(input, Request::Check),
            OpCode::Multi => body(input, Request::Multi),
            OpCode::MultiRead => body(input, Request::MultiRead),
            OpCode::Reconfig => body(input, Request::Reconfig),
            OpCode::CheckWatches => body(input, Request::CheckWatches),
            OpCode::RemoveWatches => body(input, Request::RemoveWatches),
            OpCode::Auth => body(input, Request::Auth),
            OpCode::SetWatches => body(input, Request::SetWatches),
            OpCode::SetWatches2 => body(input, Request::SetWatches2),
            OpCode::Sasl => body(input, Request::Sasl),
            OpCode::GetEphemerals => body(input, Request::GetEphemerals),
            OpCode::GetAllChildrenNumber => body(input, Request::GetAllChildrenNumber),
            OpCode::AddWatch => body(input, Request::AddWatch),
            OpCode::WhoAmI => Ok(Request::WhoAmI),
            OpCode::CloseSession => Ok(Request::CloseSession),
            OpCode::Notification | OpCode::CreateSession | OpCode::Error => {
                Err(DecodeError::UnexpectedOpCode(op))
            }
        }
    }

    pub fn op_code(&self) -> OpCode {
        match self {
            Request::Create(_) => OpCode::Create,
            Request::Create2(_) => OpCode::Create2,
            Request::CreateContainer(_) => OpCode::CreateContainer,
            Request::CreateTtl(_) => OpCode::CreateTtl,
            Request::Delete(_) => OpCode::Delete,
            Request::DeleteContainer(_) => OpCode::DeleteContainer,
            Request::Exists(_) => OpCode::Exists,
            Request::GetData(_) => OpCode::GetData,
            Request::SetData(_) => OpCode::SetData,
            Request::GetAcl(_) => OpCode::GetAcl,
            Request::SetAcl(_) => OpCode::SetAcl,
            Request::GetChildren(_) => OpCode::GetChildren,
            Request::GetChildren2(_) => OpCode::GetChildren2,
            Request::Sync(_) => OpCode::Sync,
            Request::Ping => OpCode::Ping,
            Request::Check(_) => OpCode::Check,
            Request::Multi(_) => OpCode::Multi,
            Request::MultiRead(_) => OpCode::MultiRead,
            Request::Reconfig(_) => OpCode::Reconfig,
            Request::CheckWatches(_) => OpCode::CheckWatches,
            Request::RemoveWatches(_) => OpCode::RemoveWatches,
            Request::Auth(_) => OpCode::Auth,
            Request::SetWatches(_) => OpCode::SetWatches,
            Request::SetWatches2(_) => OpCode::SetWatches2,
            Request::Sasl(_) => OpCode::Sasl,
            Request::GetEphemerals(_) => OpCode::GetEphemerals,
            Request::GetAllChildrenNumber(_) => OpCode::GetAllChildrenNumber,
            Request::AddWatch(_) => OpCode::AddWatch,
            Request::WhoAmI => OpCode::WhoAmI,
            Request::CloseSession => OpCode::CloseSession,
        }
    }
}

/// Runs `$some` with `$r` bound to the record inside a request, or `$none` for the opcodes that
/// carry no body.
macro_rules! with_record {
    ($req:expr, $r:ident => $some:expr, $none:expr) => {
        match $req {
            Request::Create($r) | Request::Create2($r) | Request::CreateContainer($r) => $some,
            Request::CreateTtl($r) => $some,
            Request::Delete($r) => $some,
            Request::DeleteContainer($r) => $some,
            Request::Exists($r)
            | Request::GetData($r)
            | Request::GetChildren($r)
            | Request::GetChildren2($r) => $some,
            Request::SetData($r) => $some,
            Request::GetAcl($r)
            | Request::Sync($r)
            | Request::GetEphemerals($r)
            | Request::GetAllChildrenNumber($r) => $some,
            Request::SetAcl($r) => $some,
            Request::Check($r) => $some,
            Request::Multi($r) | Request::MultiRead($r) => $some,
            Request::Reconfig($r) => $some,
            Request::CheckWatches($r) | Request::RemoveWatches($r) => $some,
            Request::Auth($r) => $some,
            Request::SetWatches($r) => $some,
            Request::SetWatches2($r) => $some,
            Request::Sasl($r) => $some,
            Request::AddWatch($r) => $some,
            Request::Ping | Request::WhoAmI | Request::CloseSession => $none,
        }
    };
}

impl Encode for Request {
    fn encode<B: BufMut>(&self, out: &mut B) {
        with_record!(self, r => r.encode(out), ())
    }
    fn encoded_len(&self) -> usize {
        with_record!(self, r => r.encoded_len(), 0)
    }
}
