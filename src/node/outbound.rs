//! A connection's outbound queue, bounded in bytes: what apply and the request loop hand to the
//! connection's writer task. Every frame is counted from the moment it is queued until the
//! socket has taken it, so the bound covers the writer's buffer too, at what it costs in
//! memory: its wire size plus the queue's own cost per frame.

use std::sync::atomic::{AtomicUsize, Ordering};

use jute::{Encode, ReplyHeader, Response, WatcherEvent};
use tokio::sync::{mpsc, Notify};

/// Frames waiting for a connection's writer, in the order they must be sent.
#[derive(Debug)]
pub enum Outbound {
    /// A reply; a body goes out with errors only where ZooKeeper sends one (a failed SASL step).
    Reply { header: ReplyHeader, body: Option<Response> },
    /// A watch notification (xid -1).
    Notification { zxid: i64, event: WatcherEvent },
    /// Flush everything before it, then close.
    Close,
}

/// The length prefix and the reply header of every frame.
const FRAME_OVERHEAD: usize = 4 + 16;

/// What a queued frame costs beyond its wire size: its slot in the queue and the heap blocks
/// behind its path and body (a small event takes about 5 times its wire size in memory).
const QUEUE_COST_PER_FRAME: usize = std::mem::size_of::<(Outbound, usize)>() + 64;

impl Outbound {
    /// The bytes this frame is counted at while queued: wire size plus the queue's cost.
    pub fn queued_cost(&self) -> usize {
        match self {
            Outbound::Close => 0,
            _ => self.wire_len() + QUEUE_COST_PER_FRAME,
        }
    }

    /// The bytes this frame takes on the wire, length prefix included.
    pub fn wire_len(&self) -> usize {
        match self {
            Outbound::Reply { body, .. } => {
                FRAME_OVERHEAD + body.as_ref().map_or(0, |b| b.encoded_len())
            }
            Outbound::Notification { event, .. } => FRAME_OVERHEAD + event.encoded_len(),
            Outbound::Close => 0,
        }
    }
}

/// The byte bounds of one connection (see `Config::client_queue_bytes`).
#[derive(Debug, Clone, Copy)]
pub struct QueueLimits {
    /// Owed bytes (unsent output plus writes in flight) at which the socket stops being read.
    pub soft: usize,
    /// Unsent output beyond which the connection is closed: apply never waits for a client.
    pub hard: usize,
}

/// Why a frame was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue would pass its hard bound; the connection must close.
    OverLimit { unsent: usize },
    /// The writer is gone.
    Closed,
}

/// The sending side, shared by apply and the request loop.
#[derive(Debug)]
pub struct OutboundQueue {
    sender: mpsc::UnboundedSender<(Outbound, usize)>,
    limits: QueueLimits,
    unsent_bytes: AtomicUsize,
    unsent_frames: AtomicUsize,
    /// Woken whenever the writer hands bytes to the socket.
    drained: Notify,
}

pub type OutboundReceiver = mpsc::UnboundedReceiver<(Outbound, usize)>;

impl OutboundQueue {
    pub fn new(limits: QueueLimits) -> (OutboundQueue, OutboundReceiver) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let queue = OutboundQueue {
            sender,
            limits,
            unsent_bytes: AtomicUsize::new(0),
            unsent_frames: AtomicUsize::new(0),
            drained: Notify::new(),
        };
        (queue, receiver)
    }

    pub fn limits(&self) -> QueueLimits {
        self.limits
    }

    /// Queues a frame without waiting. `Close` is always accepted: it takes no bytes.
    pub fn push(&self, frame: Outbound) -> Result<(), Refused> {
        let bytes = frame.queued_cost();
        let unsent = self.unsent_bytes.fetch_add(bytes, Ordering::AcqRel) + bytes;
        if unsent > self.limits.hard && bytes > 0 {
            self.unsent_bytes.fetch_sub(bytes, Ordering::AcqRel);
            return Err(Refused::OverLimit { unsent: unsent - bytes });
        }
        self.unsent_frames.fetch_add(1, Ordering::AcqRel);
        if self.sender.send((frame, bytes)).is_err() {
            self.sent(1, bytes);
            return Err(Refused::Closed);
        }
        Ok(())
    }

    /// The writer has handed `frames` frames of `bytes` bytes in all to the socket.
    pub fn sent(&self, frames: usize, bytes: usize) {
        self.unsent_frames.fetch_sub(frames, Ordering::AcqRel);
        self.unsent_bytes.fetch_sub(bytes, Ordering::AcqRel);
        self.drained.notify_waiters();
    }

    pub fn unsent_bytes(&self) -> usize {
        self.unsent_bytes.load(Ordering::Acquire)
    }

    pub fn unsent_frames(&self) -> usize {
        self.unsent_frames.load(Ordering::Acquire)
    }

    /// Resolves at the writer's next progress; create it before checking the condition.
    pub fn drained(&self) -> tokio::sync::futures::Notified<'_> {
        self.drained.notified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(body_bytes: usize) -> Outbound {
        let data = Some(vec![7u8; body_bytes]);
        let body = Response::GetData(jute::GetDataResponse { data, stat: Default::default() });
        Outbound::Reply { header: ReplyHeader { xid: 1, zxid: 1, err: 0 }, body: Some(body) }
    }

    #[test]
    fn wire_len_is_what_the_codec_writes() {
        use tokio_util::codec::Encoder;
        let Outbound::Reply { header, body: Some(body) } = reply(1000) else { unreachable!() };
        let mut buffer = bytes::BytesMut::new();
        jute::FrameCodec::default().encode((header, body.clone()), &mut buffer).unwrap();
        assert_eq!(reply(1000).wire_len(), buffer.len());
    }

    #[test]
    fn the_hard_bound_refuses_bytes_but_not_close() {
        let limits = QueueLimits { soft: 100, hard: 3 * reply(1000).queued_cost() - 1 };
        let (queue, mut receiver) = OutboundQueue::new(limits);
        let one = reply(1000).queued_cost();
        assert_eq!(queue.push(reply(1000)), Ok(()));
        assert_eq!(queue.push(reply(1000)), Ok(()));
        assert_eq!(queue.push(reply(1000)), Err(Refused::OverLimit { unsent: 2 * one }));
        assert_eq!(queue.push(Outbound::Close), Ok(()));
        assert_eq!((queue.unsent_bytes(), queue.unsent_frames()), (2 * one, 3));
        let (_, bytes) = receiver.try_recv().unwrap();
        queue.sent(1, bytes);
        assert_eq!(queue.unsent_bytes(), one);
        assert_eq!(queue.push(reply(1000)), Ok(()), "room again once the socket took a frame");
    }
}
