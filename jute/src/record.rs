//! The Jute primitives (int, long, boolean, buffer, ustring, vector) and the `Record` traits that
//! every message implements. Decoding is nom over a complete frame; encoding is `BufMut`.

use bytes::BufMut;
use nom::bytes::complete::take;
use nom::number::complete::{be_i32, be_i64, be_u8};
use nom::Parser;

use crate::error::{fail, from_nom, DecodeError, Parsed};
use crate::JString;

/// Something that can be read from Jute bytes.
pub trait Decode: Sized {
    /// The fewest bytes any encoding of this type takes. Bounds the element count that a vector
    /// may claim, so hostile counts never turn into large allocations.
    const MIN_SIZE: usize;

    fn decode(input: &[u8]) -> Parsed<'_, Self>;

    /// Decodes a whole record and refuses leftover bytes.
    fn from_bytes(input: &[u8]) -> Result<Self, DecodeError> {
        let (rest, value) = Self::decode(input).map_err(from_nom)?;
        match rest.len() {
            0 => Ok(value),
            n => Err(DecodeError::TrailingBytes(n)),
        }
    }
}

/// Something that can be written as Jute bytes.
pub trait Encode {
    fn encode<B: BufMut>(&self, out: &mut B);

    /// The exact number of bytes `encode` writes.
    fn encoded_len(&self) -> usize;

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode(&mut out);
        out
    }
}

/// A type that crosses the wire in both directions.
pub trait Record: Decode + Encode {}
impl<T: Decode + Encode> Record for T {}

impl Decode for i32 {
    const MIN_SIZE: usize = 4;
    fn decode(input: &[u8]) -> Parsed<'_, Self> {
        be_i32(input)
    }
}

impl Encode for i32 {
    fn encode<B: BufMut>(&self, out: &mut B) {
        out.put_i32(*self);
    }
    fn encoded_len(&self) -> usize {
        4
    }
}

impl Decode for i64 {
    const MIN_SIZE: usize = 8;
    fn decode(input: &[u8]) -> Parsed<'_, Self> {
        be_i64(input)
    }
}

impl Encode for i64 {
    fn encode<B: BufMut>(&self, out: &mut B) {
        out.put_i64(*self);
    }
    fn encoded_len(&self) -> usize {
        8
    }
}

impl Decode for bool {
    const MIN_SIZE: usize = 1;
    /// Java's reader treats any non-zero byte as true.
    fn decode(input: &[u8]) -> Parsed<'_, Self> {
        let (rest, byte) = be_u8(input)?;
        Ok((rest, byte != 0))
    }
}

impl Encode for bool {
    fn encode<B: BufMut>(&self, out: &mut B) {
        out.put_u8(u8::from(*self));
    }
    fn encoded_len(&self) -> usize {
        1
    }
}

/// Reads a length prefix: `None` for -1 (null), an error for any other negative value.
fn length(input: &[u8]) -> Parsed<'_, Option<usize>> {
    let (rest, len) = be_i32(input)?;
    match len {
        -1 => Ok((rest, None)),
        n if n < 0 => fail(DecodeError::NegativeLength(n)),
        n => Ok((rest, Some(n as usize))),
    }
}

/// Reads a length-prefixed run of bytes; the length is checked against what the frame holds
/// before anything is copied.
fn raw_bytes(input: &[u8]) -> Parsed<'_, Option<&[u8]>> {
    let (rest, len) = length(input)?;
    match len {
        None => Ok((rest, None)),
        Some(n) => {
            let (rest, bytes) = take(n).parse(rest)?;
            Ok((rest, Some(bytes)))
        }
    }
}

/// A Jute `buffer`: `None` is the null buffer (length -1), which ZooKeeper keeps distinct from
/// an empty one (null node data is returned as null).
pub type Buffer = Option<Vec<u8>>;

impl Decode for Buffer {
    const MIN_SIZE: usize = 4;
    fn decode(input: &[u8]) -> Parsed<'_, Self> {
        let (rest, bytes) = raw_bytes(input)?;
        Ok((rest, bytes.map(<[u8]>::to_vec)))
    }
}

impl Encode for Buffer {
    fn encode<B: BufMut>(&self, out: &mut B) {
        match self {
            None => out.put_i32(-1),
            Some(bytes) => {
                out.put_i32(bytes.len() as i32);
                out.put_slice(bytes);
            }
        }
    }
    fn encoded_len(&self) -> usize {
        4 + self.as_ref().map_or(0, Vec::len)
    }
}

impl Decode for JString {
    const MIN_SIZE: usize = 4;
    /// Invalid UTF-8 becomes U+FFFD, as Java's decoder does; path validation then rejects it.
    fn decode(input: &[u8]) -> Parsed<'_, Self> {
        let (rest, bytes) = raw_bytes(input)?;
        let value = bytes.map(|b| String::from_utf8_lossy(b).into_owned());
        Ok((rest, JString::from_option(value)))
    }
}

impl Encode for JString {
    fn encode<B: BufMut>(&self, out: &mut B) {
        match self.as_option() {
            None => out.put_i32(-1),
            Some(s) => {
                out.put_i32(s.len() as i32);
                out.put_slice(s.as_bytes());
            }
        }
    }
    fn encoded_len(&self) -> usize {
        4 + self.len()
    }
}

/// A non-null Jute `ustring` written from a borrowed string (decoding gives a `JString`).
impl Encode for str {
    fn encode<B: BufMut>(&self, out: &mut B) {
        out.put_i32(self.len() as i32);
        out.put_slice(self.as_bytes());
    }
    fn encoded_len(&self) -> usize {
        4 + self.len()
    }
}

/// A Jute `vector`. A null vector (count -1) decodes as empty; an empty vector is always written
/// as count 0, because go-zookeeper cannot read a null one.
impl<T: Decode> Decode for Vec<T> {
    const MIN_SIZE: usize = 4;
    fn decode(input: &[u8]) -> Parsed<'_, Self> {
        let (mut rest, count) = be_i32(input)?;
        if count == -1 {
            return Ok((rest, Vec::new()));
        }
        if count < 0 {
            return fail(DecodeError::NegativeLength(count));
        }
        let min = T::MIN_SIZE.max(1);
        if count as usize > rest.len() / min {
            return fail(DecodeError::CountTooLarge { count, remaining: rest.len() });
        }
        let mut items = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let (next, item) = T::decode(rest)?;
            items.push(item);
            rest = next;
        }
        Ok((rest, items))
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode<B: BufMut>(&self, out: &mut B) {
        out.put_i32(self.len() as i32);
        for item in self {
            item.encode(out);
        }
    }
    fn encoded_len(&self) -> usize {
        4 + self.iter().map(Encode::encoded_len).sum::<usize>()
    }
}

/// A borrowed record encodes as the record, so frames can be written without cloning.
impl<T: Encode + ?Sized> Encode for &T {
    fn encode<B: BufMut>(&self, out: &mut B) {
        (**self).encode(out);
    }
    fn encoded_len(&self) -> usize {
        (**self).encoded_len()
    }
}

/// Two records back to back, such as a ReplyHeader and its response body.
impl<A: Encode, B2: Encode> Encode for (A, B2) {
    fn encode<B: BufMut>(&self, out: &mut B) {
        self.0.encode(out);
        self.1.encode(out);
    }
    fn encoded_len(&self) -> usize {
        self.0.encoded_len() + self.1.encoded_len()
    }
}

/// Declares a record: a struct whose fields are encoded in declaration order with no framing,
/// exactly as the Jute compiler lays them out.
#[macro_export]
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name {
            $( $(#[$fmeta])* pub $field: $ty ),*
        }

        impl $crate::Decode for $name {
            const MIN_SIZE: usize = 0 $( + <$ty as $crate::Decode>::MIN_SIZE )*;
            #[allow(unused_mut)]
            fn decode(input: &[u8]) -> $crate::Parsed<'_, Self> {
                let mut rest = input;
                $( let (next, $field) = <$ty as $crate::Decode>::decode(rest)?; rest = next; )*
                Ok((rest, $name { $($field),* }))
            }
        }

        impl $crate::Encode for $name {
            #[allow(unused_variables)]
            fn encode<B: ::bytes::BufMut>(&self, out: &mut B) {
                $( $crate::Encode::encode(&self.$field, out); )*
            }
            fn encoded_len(&self) -> usize {
                0 $( + $crate::Encode::encoded_len(&self.$field) )*
            }
        }
    };
}
