//! Replies of the operator HTTP server: bodies handed to hyper a chunk at a time, from
//! memory or from a file, each holding its slot until its last byte is taken.

use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body as _, Frame, Incoming, SizeHint};
use hyper::{Response, StatusCode};
use tokio::sync::OwnedSemaphorePermit;

pub type Reply = Response<Body>;

pub fn text(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
    let mut response = untyped(status, body);
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

/// A reply with no Content-Type (as Jetty sends the AdminServer's command list).
pub fn untyped(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let body = Body { data: body.into(), sent: 0, file: None, held: None };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

/// A reply whose body is the `len` bytes of `file`, read a chunk at a time as the client
/// takes them (a snapshot can be larger than memory should hold).
pub fn file(status: StatusCode, content_type: &str, file: std::fs::File, len: u64) -> Reply {
    let mut response = text(status, content_type, Bytes::new());
    response.body_mut().file = Some((file, len));
    response
}

/// Keeps `permit` until the reply's last byte has been handed to the connection, so that a
/// slot bounds the memory of an answer that its client is slow to take.
pub fn held(mut reply: Reply, permit: OwnedSemaphorePermit) -> Reply {
    reply.body_mut().held = Some(permit);
    reply
}

/// A reply's body, handed to hyper in copies of `CHUNK` bytes: hyper queues little more than
/// one chunk per connection (its buffer is `MAX_HEAD_BYTES`), so the whole answer lives only
/// here, with its permit, until it has been sent.
pub struct Body {
    data: Bytes,
    sent: usize,
    /// A file to send instead of `data`, and the bytes of it still to send.
    file: Option<(std::fs::File, u64)>,
    held: Option<OwnedSemaphorePermit>,
}

const CHUNK: usize = 16 * 1024;

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        if let Some((file, remaining)) = &mut this.file {
            return Poll::Ready(next_file_chunk(file, remaining).map(|chunk| {
                if *remaining == 0 {
                    this.held = None;
                }
                Ok(Frame::data(chunk))
            }));
        }
        if this.data.len() == this.sent {
            return Poll::Ready(None);
        }
        let end = (this.sent + CHUNK).min(this.data.len());
        let chunk = Bytes::copy_from_slice(&this.data[this.sent..end]);
        this.sent = end;
        if end == this.data.len() {
            // Sent in full: let go of the answer and its slot now, not when hyper drops us.
            (this.data, this.sent, this.held) = (Bytes::new(), 0, None);
        }
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        match &self.file {
            Some((_, remaining)) => *remaining == 0,
            None => self.data.len() == self.sent,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.file {
            Some((_, remaining)) => SizeHint::with_exact(*remaining),
            None => SizeHint::with_exact((self.data.len() - self.sent) as u64),
        }
    }
}

/// The next chunk of a file being sent; `None` once it is sent, or if it cannot be read (the
/// length was promised, so the connection then ends short, and the client sees it). The
/// file was just written, so this read is served from the page cache.
fn next_file_chunk(file: &mut std::fs::File, remaining: &mut u64) -> Option<Bytes> {
    if *remaining == 0 {
        return None;
    }
    let mut chunk = vec![0u8; CHUNK.min(*remaining as usize)];
    match std::io::Read::read(file, &mut chunk) {
        Ok(0) | Err(_) => {
            *remaining = 0;
            None
        }
        Ok(n) => {
            chunk.truncate(n);
            *remaining -= n as u64;
            Some(Bytes::from(chunk))
        }
    }
}

/// Why a request's body was not taken.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the body is longer than {0} bytes")]
    TooLarge(usize),
    #[error("the body was cut short: {0}")]
    Broken(String),
}

/// Reads a request's whole body, refusing it as soon as it is known to pass `limit` bytes
/// (from its Content-Length, or as it arrives), so no more than `limit` is ever held. The
/// frames are kept as they come and joined into a buffer of the exact length: a body of N
/// bytes costs about 2N at its peak, whatever its framing.
pub async fn read_body(mut body: Incoming, limit: usize) -> Result<Arc<[u8]>, BodyError> {
    if body.size_hint().lower() > limit as u64 {
        return Err(BodyError::TooLarge(limit));
    }
    let (mut frames, mut len) = (Vec::new(), 0usize);
    while let Some(frame) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| BodyError::Broken(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            len += data.len();
            if len > limit {
                return Err(BodyError::TooLarge(limit));
            }
            frames.push(data);
        }
    }
    Ok(joined(frames, len))
}

/// One buffer of the frames, each let go of once copied.
fn joined(frames: Vec<Bytes>, len: usize) -> Arc<[u8]> {
    let mut out = Vec::with_capacity(len);
    for frame in frames {
        out.extend_from_slice(&frame);
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;

    use hyper::body::Body as _;

    use tokio::sync::Semaphore;

    use super::*;

    #[tokio::test]
    async fn a_held_reply_keeps_its_permit_until_its_last_byte_is_taken() {
        let slots = Arc::new(Semaphore::new(1));
        let permit = Arc::clone(&slots).acquire_owned().await.unwrap();
        let body = vec![7u8; CHUNK * 2 + 10];
        let mut reply = held(untyped(StatusCode::OK, body), permit);
        assert_eq!(reply.body().size_hint().exact(), Some((CHUNK * 2 + 10) as u64));
        let mut sizes = Vec::new();
        let mut body = Pin::new(reply.body_mut());
        while let Some(frame) = poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            let taken = frame.unwrap().into_data().unwrap().len();
            sizes.push((taken, slots.available_permits()));
        }
        assert_eq!(
            sizes,
            [(CHUNK, 0), (CHUNK, 0), (10, 1)],
            "the slot is freed with the last chunk"
        );
        assert!(reply.body().is_end_stream());
    }

    #[test]
    fn frames_join_into_one_buffer_of_their_length() {
        let frames = vec![Bytes::from_static(b"ab"), Bytes::new(), Bytes::from_static(b"cde")];
        assert_eq!(&*joined(frames, 5), b"abcde");
        assert!(joined(Vec::new(), 0).is_empty());
    }
}
