//! The headers in front of every request and reply after the handshake, and the per-op header
//! inside a multi.

use crate::record;

record! {
    /// Precedes every client request: the client's request id and the opcode.
    pub struct RequestHeader {
        pub xid: i32,
        pub op: i32,
    }
}

record! {
    /// Precedes every server reply. The body follows only when `err` is 0 (multi excepted).
    pub struct ReplyHeader {
        pub xid: i32,
        pub zxid: i64,
        pub err: i32,
    }
}

record! {
    /// Precedes each op of a multi request and each result of a multi response.
    pub struct MultiHeader {
        pub op: i32,
        pub done: bool,
        pub err: i32,
    }
}

impl MultiHeader {
    /// The header that ends a multi request or response.
    pub const END: MultiHeader = MultiHeader { op: -1, done: true, err: -1 };
}
