//! `FrameCodec`: ZooKeeper's framing, a 4-byte big-endian length and that many bytes, as a
//! tokio-util Decoder/Encoder. Incoming frames are bounded by `jute.maxbuffer`.

use bytes::{Buf, BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::FrameError;
use crate::Encode;

/// ZooKeeper's default `jute.maxbuffer`: 0xfffff bytes.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 0xfffff;

const LENGTH_BYTES: usize = 4;

#[derive(Debug, Clone, Copy)]
pub struct FrameCodec {
    /// The largest incoming payload accepted; a larger length prefix is an error before any of
    /// its bytes are buffered.
    max_frame_bytes: usize,
}

impl FrameCodec {
    pub fn new(max_frame_bytes: usize) -> Self {
        FrameCodec { max_frame_bytes }
    }

    pub fn max_frame_bytes(&self) -> usize {
        self.max_frame_bytes
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_FRAME_BYTES)
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = FrameError;

    /// Returns one frame's payload, `Ok(None)` while it is incomplete, or an error for a
    /// negative or oversized length.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        if src.len() < LENGTH_BYTES {
            return Ok(None);
        }
        let len = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        if len < 0 {
            return Err(FrameError::NegativeLength(len));
        }
        let len = len as usize;
        if len > self.max_frame_bytes {
            return Err(FrameError::TooLarge { len, max: self.max_frame_bytes });
        }
        if src.len() < LENGTH_BYTES + len {
            // No reserve ahead of the bytes: memory follows what the peer actually sent, not
            // what its length prefix claims.
            return Ok(None);
        }
        src.advance(LENGTH_BYTES);
        Ok(Some(src.split_to(len)))
    }
}

/// Frames any record (or pair of records, such as a header and a body) in place: the length is
/// written after the payload, so nothing is encoded twice.
impl<T: Encode> Encoder<T> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), FrameError> {
        let len = item.encoded_len();
        dst.reserve(LENGTH_BYTES + len);
        dst.put_i32(len as i32);
        item.encode(dst);
        Ok(())
    }
}

/// Raw payload bytes, already encoded.
#[derive(Debug, Clone, Copy)]
pub struct RawPayload<'a>(pub &'a [u8]);

impl Encode for RawPayload<'_> {
    fn encode<B: BufMut>(&self, out: &mut B) {
        out.put_slice(self.0);
    }
    fn encoded_len(&self) -> usize {
        self.0.len()
    }
}
