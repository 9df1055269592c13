//! `Response`: the body of a successful reply, one variant per response record. Which variant
//! answers a request is decided by the request's opcode.

use bytes::BufMut;

use crate::error::DecodeError;
use crate::proto::auth::{SaslToken, WhoAmIResponse};
use crate::proto::multi::MultiResponse;
use crate::proto::node::{
    Create2Response, CreateResponse, ErrorResponse, GetAclResponse, GetAllChildrenNumberResponse,
    GetChildren2Response, GetChildrenResponse, GetDataResponse, GetEphemeralsResponse,
    StatResponse, SyncResponse,
};
use crate::{Decode, Encode, OpCode};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// No body: delete, ping, auth, setWatches, checkWatches, removeWatches, closeSession.
    Empty,
    Create(CreateResponse),
    /// create2, createContainer and createTTL.
    Create2(Create2Response),
    /// exists, setData and setACL.
    Stat(StatResponse),
    /// getData, and reconfig (the new config and the Stat of /zookeeper/config).
    GetData(GetDataResponse),
    GetAcl(GetAclResponse),
    GetChildren(GetChildrenResponse),
    GetChildren2(GetChildren2Response),
    Sync(SyncResponse),
    Multi(MultiResponse),
    Sasl(SaslToken),
    GetEphemerals(GetEphemeralsResponse),
    GetAllChildrenNumber(GetAllChildrenNumberResponse),
    WhoAmI(WhoAmIResponse),
    /// addWatch answers with an ErrorResponse holding 0.
    AddWatch(ErrorResponse),
}

fn body<T: Decode>(
    input: &[u8],
    wrap: impl FnOnce(T) -> Response,
) -> Result<Response, DecodeError> {
    Ok(wrap(T::from_bytes(input)?))
}

impl Response {
    /// Decodes the body of a successful reply to a request with opcode `op`.
    pub fn decode(op: OpCode, input: &[u8]) -> Result<Response, DecodeError> {
        use OpCode::*;
        match op {
            Create => body(input, Response::Create),
            Create2 | CreateContainer | CreateTtl => body(input, Response::Create2),
            Exists | SetData | SetAcl => body(input, Response::Stat),
            GetData | Reconfig => body(input, Response::GetData),
            GetAcl => body(input, Response::GetAcl),
            GetChildren => body(input, Response::GetChildren),
            GetChildren2 => body(input, Response::GetChildren2),
            Sync => body(input, Response::Sync),
            Multi | MultiRead => body(input, Response::Multi),
            Sasl => body(input, Response::Sasl),
            GetEphemerals => body(input, Response::GetEphemerals),
            GetAllChildrenNumber => body(input, Response::GetAllChildrenNumber),
            WhoAmI => body(input, Response::WhoAmI),
            AddWatch => body(input, Response::AddWatch),
            Delete | DeleteContainer | Ping | Check | CheckWatches | RemoveWatches | Auth
            | SetWatches | SetWatches2 | CloseSession | CreateSession => match input.len() {
                0 => Ok(Response::Empty),
                n => Err(DecodeError::TrailingBytes(n)),
            },
            Notification | Error => Err(DecodeError::UnexpectedOpCode(op.as_i32())),
        }
    }
}

macro_rules! with_record {
    ($resp:expr, $r:ident => $some:expr, $none:expr) => {
        match $resp {
            Response::Empty => $none,
            Response::Create($r) => $some,
            Response::Create2($r) => $some,
            Response::Stat($r) => $some,
            Response::GetData($r) => $some,
            Response::GetAcl($r) => $some,
            Response::GetChildren($r) => $some,
            Response::GetChildren2($r) => $some,
            Response::Sync($r) => $some,
            Response::Multi($r) => $some,
            Response::Sasl($r) => $some,
            Response::GetEphemerals($r) => $some,
            Response::GetAllChildrenNumber($r) => $some,
            Response::WhoAmI($r) => $some,
            Response::AddWatch($r) => $some,
        }
    };
}

impl Encode for Response {
    fn encode<B: BufMut>(&self, out: &mut B) {
        with_record!(self, r => r.encode(out), ())
    }
    fn encoded_len(&self) -> usize {
        with_record!(self, r => r.encoded_len(), 0)
    }
}
