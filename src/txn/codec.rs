//! How an Entry is written to the log: Jute encoding (jute's primitives and request records)
//! behind a one-byte format version, so the log never depends on Rust's memory layout.

use bytes::BufMut;
use jute::{
    CreateTtlRequest, Decode, DecodeError, DeleteRequest, Encode, Id, JString, MultiRequest,
    OpCode, Parsed, SetAclRequest, SetDataRequest,
};

use super::{Entry, Origin, RestorePart, Txn, TxnOp};
use crate::error::ZkError;
use crate::session::password::Password;

/// The entry format written by this version; an unknown one is refused, never guessed at.
pub const ENTRY_FORMAT: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum EntryDecodeError {
    #[error("log entry format {0} is not one this version of corral can read")]
    UnknownFormat(u8),
    #[error("log entry is corrupt: {0}")]
    Corrupt(#[from] DecodeError),
    #[error("log entry is empty")]
    Empty,
}

/// Tags of the op kinds, stable on disk.
mod tag {
    pub const CREATE_SESSION: i32 = 1;
    pub const CLOSE_SESSION: i32 = 2;
    pub const CREATE: i32 = 3;
    pub const DELETE: i32 = 4;
    pub const SET_DATA: i32 = 5;
    pub const SET_ACL: i32 = 6;
    pub const MULTI: i32 = 7;
    pub const SYNC: i32 = 8;
    pub const REAP: i32 = 9;
    pub const FAIL: i32 = 10;
    pub const CREATE_SESSION_WITH_PASSWORD: i32 = 11;
    pub const MOVE_SESSION: i32 = 12;
    pub const RESTORE: i32 = 13;
}

pub fn encode_entry(entry: &Entry) -> Vec<u8> {
    let mut builder = EntryBuilder::new(entry.time_ms);
    entry.txns.iter().for_each(|txn| builder.push(txn));
    builder.finish()
}

/// Encodes an entry txn by txn, so a batch can stop growing at a size in bytes.
pub struct EntryBuilder {
    out: Vec<u8>,
    count: i32,
}

/// Where the txn count sits: after the format byte and the clock.
const COUNT_AT: usize = 1 + 8;

impl EntryBuilder {
    pub fn new(time_ms: i64) -> Self {
        let mut out = Vec::with_capacity(4096);
        out.put_u8(ENTRY_FORMAT);
        time_ms.encode(&mut out);
        0i32.encode(&mut out);
        EntryBuilder { out, count: 0 }
    }

    pub fn push(&mut self, txn: &Txn) {
        encode_txn(txn, &mut self.out);
        self.count += 1;
    }

    pub fn bytes_len(&self) -> usize {
        self.out.len()
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.out[COUNT_AT..COUNT_AT + 4].copy_from_slice(&self.count.to_be_bytes());
        self.out
    }
}

/// An encoded entry's clock and txn count, read without decoding its txns.
pub fn entry_header(bytes: &[u8]) -> Option<(i64, u32)> {
    if bytes.first() != Some(&ENTRY_FORMAT) || bytes.len() < COUNT_AT + 4 {
        return None;
    }
    let time_ms = i64::from_be_bytes(bytes[1..COUNT_AT].try_into().ok()?);
    let count = i32::from_be_bytes(bytes[COUNT_AT..COUNT_AT + 4].try_into().ok()?);
    Some((time_ms, u32::try_from(count).ok()?))
}

pub fn decode_entry(bytes: &[u8]) -> Result<Entry, EntryDecodeError> {
    let (&format, rest) = bytes.split_first().ok_or(EntryDecodeError::Empty)?;
    if format != ENTRY_FORMAT {
        return Err(EntryDecodeError::UnknownFormat(format));
    }
    let (mut rest, time_ms) = i64::decode(rest).map_err(nom_err)?;
    let (next, count) = i32::decode(rest).map_err(nom_err)?;
    rest = next;
    let mut txns = Vec::with_capacity((count.max(0) as usize).min(rest.len() / 20));
    for _ in 0..count {
        let (next, txn) = decode_txn(rest).map_err(nom_err)?;
        txns.push(txn);
        rest = next;
    }
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes(rest.len()).into());
    }
    Ok(Entry { time_ms, txns })
}

fn nom_err(err: nom::Err<DecodeError>) -> EntryDecodeError {
    match err {
        nom::Err::Error(e) | nom::Err::Failure(e) => e.into(),
        nom::Err::Incomplete(_) => DecodeError::Truncated.into(),
    }
}

fn encode_txn(txn: &Txn, out: &mut Vec<u8>) {
    txn.session_id.encode(out);
    let (node, request) = txn.origin.map_or((-1, -1), |o| (o.node_id as i64, o.request_id as i64));
    node.encode(out);
    request.encode(out);
    txn.auth.as_ref().encode(out);
    match &txn.op {
        TxnOp::CreateSession { timeout_ms, passwd: None } => {
            (tag::CREATE_SESSION, timeout_ms).encode(out)
        }
        TxnOp::CreateSession { timeout_ms, passwd: Some(passwd) } => {
            (tag::CREATE_SESSION_WITH_PASSWORD, (*timeout_ms, Some(passwd.to_vec()))).encode(out)
        }
        TxnOp::CloseSession => tag::CLOSE_SESSION.encode(out),
        TxnOp::MoveSession => tag::MOVE_SESSION.encode(out),
        TxnOp::Create { op, request } => (tag::CREATE, (op.as_i32(), request)).encode(out),
        TxnOp::Delete(r) => (tag::DELETE, r).encode(out),
        TxnOp::SetData(r) => (tag::SET_DATA, r).encode(out),
        TxnOp::SetAcl(r) => (tag::SET_ACL, r).encode(out),
        TxnOp::Multi(ops) => (tag::MULTI, MultiRequest { ops: ops.clone() }).encode(out),
        TxnOp::Sync { path } => (tag::SYNC, JString::from(path.as_str())).encode(out),
        TxnOp::Reap { path } => (tag::REAP, JString::from(path.as_str())).encode(out),
        TxnOp::Fail(err) => (tag::FAIL, err.as_i32()).encode(out),
        TxnOp::Restore(part) => {
            (tag::RESTORE, (part.id, (part.offset, part.total))).encode(out);
            (part.bytes.len() as i32).encode(out);
            out.extend_from_slice(&part.bytes);
        }
    }
}

fn decode_txn(input: &[u8]) -> Parsed<'_, Txn> {
    let (input, session_id) = i64::decode(input)?;
    let (input, node) = i64::decode(input)?;
    let (input, request) = i64::decode(input)?;
    let (input, auth) = Vec::<Id>::decode(input)?;
    let (input, op) = decode_op(input)?;
    let origin = (node >= 0).then_some(Origin { node_id: node as u64, request_id: request as u64 });
    Ok((input, Txn { session_id, origin, auth: auth.into(), op }))
}

fn decode_op(input: &[u8]) -> Parsed<'_, TxnOp> {
    let (input, kind) = i32::decode(input)?;
    let corrupt = || nom::Err::Failure(DecodeError::UnexpectedOpCode(kind));
    Ok(match kind {
        tag::CREATE_SESSION => {
            let (input, timeout_ms) = i32::decode(input)?;
            (input, TxnOp::CreateSession { timeout_ms, passwd: None })
        }
        tag::CREATE_SESSION_WITH_PASSWORD => {
            let (input, timeout_ms) = i32::decode(input)?;
            let (input, passwd) = Option::<Vec<u8>>::decode(input)?;
            let passwd = passwd.unwrap_or_default();
            let passwd = Password::try_from(passwd.as_slice()).map_err(|_| corrupt())?;
            (input, TxnOp::CreateSession { timeout_ms, passwd: Some(passwd) })
        }
        tag::CLOSE_SESSION => (input, TxnOp::CloseSession),
        tag::MOVE_SESSION => (input, TxnOp::MoveSession),
        tag::CREATE => {
            let (input, op) = i32::decode(input)?;
            let (input, request) = CreateTtlRequest::decode(input)?;
            let op = OpCode::from_i32(op).ok_or_else(corrupt)?;
            (input, TxnOp::Create { op, request })
        }
        tag::DELETE => map(DeleteRequest::decode(input)?, TxnOp::Delete),
        tag::SET_DATA => map(SetDataRequest::decode(input)?, TxnOp::SetData),
        tag::SET_ACL => map(SetAclRequest::decode(input)?, TxnOp::SetAcl),
        tag::MULTI => map(MultiRequest::decode(input)?, |m| TxnOp::Multi(m.ops)),
        tag::SYNC => map(JString::decode(input)?, |p| TxnOp::Sync { path: p.into_string() }),
        tag::REAP => map(JString::decode(input)?, |p| TxnOp::Reap { path: p.into_string() }),
        tag::FAIL => {
            let (input, code) = i32::decode(input)?;
            (input, TxnOp::Fail(ZkError::from_code(code).ok_or_else(corrupt)?))
        }
        tag::RESTORE => {
            let (input, id) = i64::decode(input)?;
            let (input, offset) = i64::decode(input)?;
            let (input, total) = i64::decode(input)?;
            let (input, bytes) = Option::<Vec<u8>>::decode(input)?;
            let bytes = bytes.ok_or_else(corrupt)?.into();
            (input, TxnOp::Restore(RestorePart { id, offset, total, bytes }))
        }
        _ => return Err(corrupt()),
    })
}

fn map<T>((rest, value): (&[u8], T), f: impl FnOnce(T) -> TxnOp) -> (&[u8], TxnOp) {
    (rest, f(value))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jute::{Acl, CreateRequest, MultiOp};

    use super::*;

    fn sample() -> Entry {
        let auth = Arc::new(vec![Id::new("ip", "127.0.0.1"), Id::new("digest", "bob:x")]);
        let create = CreateTtlRequest {
            path: "/a".into(),
            data: Some(b"v".to_vec()),
            acl: vec![Acl::new(31, "world", "anyone")],
            flags: 6,
            ttl: 100,
        };
        let ops = vec![
            TxnOp::CreateSession { timeout_ms: 4000, passwd: None },
            TxnOp::CreateSession { timeout_ms: 4000, passwd: Some([7; 16]) },
            TxnOp::CloseSession,
            TxnOp::MoveSession,
            TxnOp::Create { op: OpCode::CreateTtl, request: create },
            TxnOp::Delete(DeleteRequest { path: "/a".into(), version: 3 }),
            TxnOp::SetData(SetDataRequest { path: "/a".into(), data: None, version: -1 }),
            TxnOp::SetAcl(SetAclRequest { path: "/a".into(), acl: vec![], version: 1 }),
            TxnOp::Multi(vec![MultiOp::Create(
                OpCode::Create2,
                CreateRequest { path: "/m".into(), data: None, acl: vec![], flags: 0 },
            )]),
            TxnOp::Sync { path: "/s".into() },
            TxnOp::Reap { path: "/c".into() },
            TxnOp::Fail(ZkError::Marshalling),
            TxnOp::Restore(RestorePart { id: 7, offset: 3, total: 6, bytes: vec![1, 2, 3].into() }),
        ];
        let txns = ops
            .into_iter()
            .enumerate()
            .map(|(i, op)| Txn {
                session_id: 0x0100_0000_0000_0001 + i as i64,
                origin: (i % 2 == 0).then_some(Origin { node_id: 1, request_id: i as u64 }),
                auth: auth.clone(),
                op,
            })
            .collect();
        Entry { time_ms: 1_700_000_000_123, txns }
    }

    #[test]
    fn entries_round_trip() {
        let entry = sample();
        let bytes = encode_entry(&entry);
        let back = decode_entry(&bytes).unwrap();
        assert_eq!(format!("{back:?}"), format!("{entry:?}"));
    }

    #[test]
    fn unknown_formats_and_truncation_are_refused() {
        let mut bytes = encode_entry(&sample());
        bytes[0] = 9;
        assert!(matches!(decode_entry(&bytes), Err(EntryDecodeError::UnknownFormat(9))));
        let bytes = encode_entry(&sample());
        assert!(matches!(
            decode_entry(&bytes[..bytes.len() - 3]),
            Err(EntryDecodeError::Corrupt(_))
        ));
    }
}
