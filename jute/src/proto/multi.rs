//! multi (14) and multiRead (22): a list of ops, each behind a MultiHeader, ended by a header
//! with `done` set; the response mirrors it with one result per op.

use bytes::BufMut;

use crate::error::{fail, DecodeError, Parsed};
use crate::proto::data::Stat;
use crate::proto::header::MultiHeader;
use crate::proto::node::{
    CheckVersionRequest, Create2Response, CreateRequest, CreateResponse, CreateTtlRequest,
    DeleteRequest, ErrorResponse, GetChildrenResponse, GetDataResponse, PathWatchRequest,
    SetDataRequest,
};
use crate::{Decode, Encode, OpCode};

/// One op of a multi or multiRead request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// create (1), create2 (15) or createContainer (19): the opcode decides the result type.
    Create(OpCode, CreateRequest),
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    /// multiRead only; the watch flag is carried but ignored.
    GetData(PathWatchRequest),
    /// multiRead only; the watch flag is carried but ignored.
    GetChildren(PathWatchRequest),
}

impl MultiOp {
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create(op, _) => *op,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetData(_) => OpCode::GetData,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
        }
    }

    /// True for the ops that multiRead allows.
    pub fn is_read(&self) -> bool {
        matches!(self, MultiOp::GetData(_) | MultiOp::GetChildren(_))
    }

    fn decode_body(op: i32, input: &[u8]) -> Parsed<'_, MultiOp> {
        let code = OpCode::from_i32(op);
        match code {
            Some(c @ (OpCode::Create | OpCode::Create2 | OpCode::CreateContainer)) => {
                let (rest, r) = CreateRequest::decode(input)?;
                Ok((rest, MultiOp::Create(c, r)))
            }
            Some(OpCode::CreateTtl) => map(CreateTtlRequest::decode(input)?, MultiOp::CreateTtl),
            Some(OpCode::Delete) => map(DeleteRequest::decode(input)?, MultiOp::Delete),
            Some(OpCode::SetData) => map(SetDataRequest::decode(input)?, MultiOp::SetData),
            Some(OpCode::Check) => map(CheckVersionRequest::decode(input)?, MultiOp::Check),
            Some(OpCode::GetData) => map(PathWatchRequest::decode(input)?, MultiOp::GetData),
            Some(OpCode::GetChildren) => {
                map(PathWatchRequest::decode(input)?, MultiOp::GetChildren)
            }
            _ => fail(DecodeError::InvalidMultiOp(op)),
        }
    }

    fn encode_body<B: BufMut>(&self, out: &mut B) {
        match self {
            MultiOp::Create(_, r) => r.encode(out),
            MultiOp::CreateTtl(r) => r.encode(out),
            MultiOp::Delete(r) => r.encode(out),
            MultiOp::SetData(r) => r.encode(out),
            MultiOp::Check(r) => r.encode(out),
            MultiOp::GetData(r) | MultiOp::GetChildren(r) => r.encode(out),
        }
    }

    fn body_len(&self) -> usize {
        match self {
            MultiOp::Create(_, r) => r.encoded_len(),
            MultiOp::CreateTtl(r) => r.encoded_len(),
            MultiOp::Delete(r) => r.encoded_len(),
            MultiOp::SetData(r) => r.encoded_len(),
            MultiOp::Check(r) => r.encoded_len(),
            MultiOp::GetData(r) | MultiOp::GetChildren(r) => r.encoded_len(),
        }
    }
}

fn map<T, U>((rest, value): (&[u8], T), f: impl FnOnce(T) -> U) -> Parsed<'_, U> {
    Ok((rest, f(value)))
}

/// The body of multi and multiRead requests.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest {
    pub ops: Vec<MultiOp>,
}

/// Reads MultiHeaders and bodies until the `done` header. Each round consumes at least the
/// 9-byte header, so the loop ends with the input.
fn decode_list<'a, T>(
    mut input: &'a [u8],
    mut body: impl FnMut(&MultiHeader, &'a [u8]) -> Parsed<'a, T>,
) -> Parsed<'a, Vec<T>> {
    let mut items = Vec::new();
    loop {
        let (rest, header) = MultiHeader::decode(input)?;
        if header.done {
            return Ok((rest, items));
        }
        let (rest, item) = body(&header, rest)?;
        items.push(item);
        input = rest;
    }
}

impl Decode for MultiRequest {
    const MIN_SIZE: usize = 9;
    fn decode(input: &[u8]) -> Parsed<'_, Self> {
        let (rest, ops) = decode_list(input, |header, body| MultiOp::decode_body(header.op, body))?;
        Ok((rest, MultiRequest { ops }))
    }
}

impl Encode for MultiRequest {
    fn encode<B: BufMut>(&self, out: &mut B) {
        for op in &self.ops {
            let header = MultiHeader { op: op.op_code().as_i32(), done: false, err: -1 };
            header.encode(out);
            op.encode_body(out);
        }
        MultiHeader::END.encode(out);
    }
    fn encoded_len(&self) -> usize {
        9 + self.ops.iter().map(|op| 9 + op.body_len()).sum::<usize>()
    }
}

/// One result of a multi or multiRead response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiResult {
    /// A plain create (1).
    Create(CreateResponse),
    /// create2, createContainer and createTTL all answer as type 15.
    Create2(Create2Response),
    Delete,
    SetData(Stat),
    Check,
    GetData(GetDataResponse),
    GetChildren(GetChildrenResponse),
    /// An op that did not run: its own error, 0 for ops before the failing one, or
    /// RUNTIMEINCONSISTENCY for those after it.
    Error(i32),
}

impl MultiResult {
    /// The bytes this result takes in a MultiResponse: its header and its body.
    pub fn encoded_len(&self) -> usize {
        9 + self.body_len()
    }

    fn header(&self) -> MultiHeader {
        let (op, err) = match self {
            MultiResult::Create(_) => (OpCode::Create, 0),
            MultiResult::Create2(_) => (OpCode::Create2, 0),
            MultiResult::Delete => (OpCode::Delete, 0),
            MultiResult::SetData(_) => (OpCode::SetData, 0),
            MultiResult::Check => (OpCode::Check, 0),
            MultiResult::GetData(_) => (OpCode::GetData, 0),
            MultiResult::GetChildren(_) => (OpCode::GetChildren, 0),
            MultiResult::Error(err) => (OpCode::Error, *err),
        };
        MultiHeader { op: op.as_i32(), done: false, err }
    }

    fn decode_body<'a>(header: &MultiHeader, input: &'a [u8]) -> Parsed<'a, MultiResult> {
        match OpCode::from_i32(header.op) {
            Some(OpCode::Create) => map(CreateResponse::decode(input)?, MultiResult::Create),
            Some(OpCode::Create2) => map(Create2Response::decode(input)?, MultiResult::Create2),
            Some(OpCode::Delete) => Ok((input, MultiResult::Delete)),
            Some(OpCode::SetData) => map(Stat::decode(input)?, MultiResult::SetData),
            Some(OpCode::Check) => Ok((input, MultiResult::Check)),
            Some(OpCode::GetData) => map(GetDataResponse::decode(input)?, MultiResult::GetData),
            Some(OpCode::GetChildren) => {
                map(GetChildrenResponse::decode(input)?, MultiResult::GetChildren)
            }
            Some(OpCode::Error) => {
                let (rest, e) = ErrorResponse::decode(input)?;
                Ok((rest, MultiResult::Error(e.err)))
            }
            _ => fail(DecodeError::UnexpectedOpCode(header.op)),
        }
    }

    fn encode_body<B: BufMut>(&self, out: &mut B) {
        match self {
            MultiResult::Create(r) => r.encode(out),
            MultiResult::Create2(r) => r.encode(out),
            MultiResult::Delete | MultiResult::Check => {}
            MultiResult::SetData(stat) => stat.encode(out),
            MultiResult::GetData(r) => r.encode(out),
            MultiResult::GetChildren(r) => r.encode(out),
            MultiResult::Error(err) => err.encode(out),
        }
    }

    fn body_len(&self) -> usize {
        match self {
            MultiResult::Create(r) => r.encoded_len(),
            MultiResult::Create2(r) => r.encoded_len(),
            MultiResult::Delete | MultiResult::Check => 0,
            MultiResult::SetData(stat) => stat.encoded_len(),
            MultiResult::GetData(r) => r.encoded_len(),
            MultiResult::GetChildren(r) => r.encoded_len(),
            MultiResult::Error(_) => 4,
        }
    }
}

/// The body of multi and multiRead responses. The reply header's err is 0 even when the
/// transaction failed; the results carry the errors.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    pub results: Vec<MultiResult>,
}

impl Decode for MultiResponse {
    const MIN_SIZE: usize = 9;
    fn decode(input: &[u8]) -> Parsed<'_, Self> {
        let (rest, results) = decode_list(input, MultiResult::decode_body)?;
        Ok((rest, MultiResponse { results }))
    }
}

impl Encode for MultiResponse {
    fn encode<B: BufMut>(&self, out: &mut B) {
        for result in &self.results {
            result.header().encode(out);
            result.encode_body(out);
        }
        MultiHeader::END.encode(out);
    }
    fn encoded_len(&self) -> usize {
        9 + self.results.iter().map(MultiResult::encoded_len).sum::<usize>()
    }
}
