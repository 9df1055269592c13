//! Typed failures of the wire layer: a frame that cannot be accepted, or bytes that are not the
//! record they claim to be. The server decides what each means for the connection.

use thiserror::Error;

/// Why a frame's length prefix was refused. ZooKeeper closes the connection for both.
#[derive(Debug, Error)]
pub enum FrameError {
    #[error("frame length {0} is negative")]
    NegativeLength(i32),
    #[error("frame length {len} exceeds the maximum of {max} bytes (jute.maxbuffer)")]
    TooLarge { len: usize, max: usize },
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Why a record could not be decoded from a frame's bytes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("the record ends before its fields do")]
    Truncated,
    #[error("length {0} is negative and not -1 (null)")]
    NegativeLength(i32),
    #[error("a count of {count} elements cannot fit in the {remaining} bytes left")]
    CountTooLarge { count: i32, remaining: usize },
    #[error("unknown opcode {0}")]
    UnknownOpCode(i32),
    #[error("opcode {0} is not allowed here")]
    UnexpectedOpCode(i32),
    /// A multi's own body names an op that a multi cannot hold: the request is unparsable
    /// (ZooKeeper answers MARSHALLINGERROR), not an unknown request.
    #[error("op type {0} is not allowed inside a multi")]
    InvalidMultiOp(i32),
    #[error("{0} bytes are left over after the record")]
    TrailingBytes(usize),
}

impl<I> nom::error::ParseError<I> for DecodeError {
    fn from_error_kind(_input: I, _kind: nom::error::ErrorKind) -> Self {
        // Every nom primitive we use fails only by running out of input.
        DecodeError::Truncated
    }

    fn append(_input: I, _kind: nom::error::ErrorKind, other: Self) -> Self {
        other
    }
}

/// The result of one nom step over a frame's bytes.
pub type Parsed<'a, T> = nom::IResult<&'a [u8], T, DecodeError>;

/// Turns a typed failure into nom's error channel.
pub(crate) fn fail<T>(err: DecodeError) -> Parsed<'static, T> {
    Err(nom::Err::Error(err))
}

/// Unwraps nom's error wrapper: our parsers work on complete frames, so there is no Incomplete.
pub(crate) fn from_nom(err: nom::Err<DecodeError>) -> DecodeError {
    match err {
        nom::Err::Error(e) | nom::Err::Failure(e) => e,
        nom::Err::Incomplete(_) => DecodeError::Truncated,
    }
}
