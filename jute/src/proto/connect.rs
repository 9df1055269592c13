//! The handshake records. Both carry an optional trailing readOnly byte: old clients and
//! go-zookeeper omit it, and the server mirrors what the client did.

use bytes::BufMut;

use crate::error::Parsed;
use crate::{Buffer, Decode, Encode};

/// The first frame from a client; it has no RequestHeader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    /// The highest zxid the client has seen (0 for a new client).
    pub last_zxid_seen: i64,
    /// The requested session timeout in ms.
    pub timeout_ms: i32,
    /// 0 asks for a new session; otherwise the session to resume.
    pub session_id: i64,
    /// 16 bytes when resuming; zeros, empty or null for a new session.
    pub passwd: Buffer,
    /// `None` when the client omitted the trailing byte.
    pub read_only: Option<bool>,
}

/// The first frame from the server; it has no ReplyHeader.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    /// The negotiated timeout in ms; 0 tells the client its session is invalid or expired.
    pub timeout_ms: i32,
    pub session_id: i64,
    /// Always 16 bytes on the wire.
    pub passwd: Buffer,
    /// Written only when the client sent its readOnly byte.
    pub read_only: Option<bool>,
}

fn optional_bool(input: &[u8]) -> Parsed<'_, Option<bool>> {
    if input.is_empty() {
        Ok((input, None))
    } else {
        let (rest, value) = bool::decode(input)?;
        Ok((rest, Some(value)))
    }
}

impl Decode for ConnectRequest {
    const MIN_SIZE: usize = 28;
    fn decode(input: &[u8]) -> Parsed<'_, Self> {
        let (input, protocol_version) = i32::decode(input)?;
        let (input, last_zxid_seen) = i64::decode(input)?;
        let (input, timeout_ms) = i32::decode(input)?;
        let (input, session_id) = i64::decode(input)?;
        let (input, passwd) = Buffer::decode(input)?;
        let (input, read_only) = optional_bool(input)?;
        let request = ConnectRequest {
            protocol_version,
            last_zxid_seen,
            timeout_ms,
            session_id,
            passwd,
            read_only,
        };
        Ok((input, request))
    }
}

impl Encode for ConnectRequest {
    fn encode<B: BufMut>(&self, out: &mut B) {
        self.protocol_version.encode(out);
        self.last_zxid_seen.encode(out);
        self.timeout_ms.encode(out);
        self.session_id.encode(out);
        self.passwd.encode(out);
        if let Some(read_only) = self.read_only {
            read_only.encode(out);
        }
    }
    fn encoded_len(&self) -> usize {
        24 + self.passwd.encoded_len() + usize::from(self.read_only.is_some())
    }
}

impl Decode for ConnectResponse {
    const MIN_SIZE: usize = 20;
    fn decode(input: &[u8]) -> Parsed<'_, Self> {
        let (input, protocol_version) = i32::decode(input)?;
        let (input, timeout_ms) = i32::decode(input)?;
        let (input, session_id) = i64::decode(input)?;
        let (input, passwd) = Buffer::decode(input)?;
        let (input, read_only) = optional_bool(input)?;
        let response =
            ConnectResponse { protocol_version, timeout_ms, session_id, passwd, read_only };
        Ok((input, response))
    }
}

impl Encode for ConnectResponse {
    fn encode<B: BufMut>(&self, out: &mut B) {
        self.protocol_version.encode(out);
        self.timeout_ms.encode(out);
        self.session_id.encode(out);
        self.passwd.encode(out);
        if let Some(read_only) = self.read_only {
            read_only.encode(out);
        }
    }
    fn encoded_len(&self) -> usize {
        16 + self.passwd.encoded_len() + usize::from(self.read_only.is_some())
    }
}
