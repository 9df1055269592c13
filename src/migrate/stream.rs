//! Jute primitives read from and written to a file as a stream, with the Adler-32 checksum
//! ZooKeeper keeps over a snapshot. Lengths are checked against what the file still holds
//! before anything is allocated, so a damaged length cannot ask for more memory than the file.

use std::io::{self, BufRead, Write};

use jute::{Acl, Buffer, Id, JString};

/// Reads Jute values from a file of known size, checksumming every byte.
pub struct JuteReader<R> {
    inner: R,
    len: u64,
    remaining: u64,
    checksum: adler2::Adler32,
}

impl<R: BufRead> JuteReader<R> {
    pub fn new(inner: R, file_len: u64) -> Self {
        JuteReader { inner, len: file_len, remaining: file_len, checksum: adler2::Adler32::new() }
    }

    /// The Adler-32 of everything read so far.
    pub fn checksum(&self) -> u32 {
        self.checksum.checksum()
    }

    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Bytes read so far.
    pub fn consumed(&self) -> u64 {
        self.len - self.remaining
    }

    fn fill(&mut self, out: &mut [u8]) -> io::Result<()> {
        if out.len() as u64 > self.remaining {
            return Err(truncated());
        }
        self.inner.read_exact(out).map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => truncated(),
            _ => e,
        })?;
        self.checksum.write_slice(out);
        self.remaining -= out.len() as u64;
        Ok(())
    }

    pub fn i32(&mut self) -> io::Result<i32> {
        let mut bytes = [0; 4];
        self.fill(&mut bytes)?;
        Ok(i32::from_be_bytes(bytes))
    }

    pub fn i64(&mut self) -> io::Result<i64> {
        let mut bytes = [0; 8];
        self.fill(&mut bytes)?;
        Ok(i64::from_be_bytes(bytes))
    }

    /// A length-prefixed run of bytes: `None` for -1.
    pub fn buffer(&mut self) -> io::Result<Buffer> {
        let len = self.i32()?;
        match len {
            -1 => Ok(None),
            n if n < 0 => Err(invalid(format!("negative length {n}"))),
            n if n as u64 > self.remaining => Err(invalid(format!(
                "a length of {n} bytes where the file holds {} more",
                self.remaining
            ))),
            n => {
                let mut bytes = vec![0; n as usize];
                self.fill(&mut bytes)?;
                Ok(Some(bytes))
            }
        }
    }

    pub fn string(&mut self) -> io::Result<JString> {
        let bytes = self.buffer()?;
        Ok(JString::from_option(bytes.map(|b| String::from_utf8_lossy(&b).into_owned())))
    }

    /// A vector's count (-1, null, is `None`), bounded by what the file can hold at
    /// `min_item` bytes per item.
    pub fn count_or_null(&mut self, min_item: u64) -> io::Result<Option<usize>> {
        let count = self.i32()?;
        match count {
            -1 => Ok(None),
            n if n < 0 => Err(invalid(format!("negative count {n}"))),
            n if n as u64 * min_item.max(1) > self.remaining => {
                Err(invalid(format!("a count of {n} that the rest of the file cannot hold")))
            }
            n => Ok(Some(n as usize)),
        }
    }

    /// A count where null means none.
    pub fn count(&mut self, min_item: u64) -> io::Result<usize> {
        Ok(self.count_or_null(min_item)?.unwrap_or(0))
    }

    /// An ACL list; `None` for a null one.
    pub fn acl_list(&mut self) -> io::Result<Option<Vec<Acl>>> {
        let Some(count) = self.count_or_null(12)? else { return Ok(None) };
        let mut acl = Vec::with_capacity(count);
        for _ in 0..count {
            let perms = self.i32()?;
            let (scheme, id) = (self.string()?, self.string()?);
            acl.push(Acl { perms, id: Id { scheme, id } });
        }
        Ok(Some(acl))
    }
}

/// Writes Jute values to a file, checksumming every byte.
pub struct JuteWriter<W> {
    inner: W,
    checksum: adler2::Adler32,
    written: u64,
}

impl<W: Write> JuteWriter<W> {
    pub fn new(inner: W) -> Self {
        JuteWriter { inner, checksum: adler2::Adler32::new(), written: 0 }
    }

    pub fn checksum(&self) -> u32 {
        self.checksum.checksum()
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn into_inner(self) -> W {
        self.inner
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.checksum.write_slice(bytes);
        self.written += bytes.len() as u64;
        Ok(())
    }

    pub fn i32(&mut self, value: i32) -> io::Result<()> {
        self.bytes(&value.to_be_bytes())
    }

    pub fn i64(&mut self, value: i64) -> io::Result<()> {
        self.bytes(&value.to_be_bytes())
    }

    pub fn buffer(&mut self, value: Option<&[u8]>) -> io::Result<()> {
        match value {
            None => self.i32(-1),
            Some(bytes) => {
                self.i32(bytes.len() as i32)?;
                self.bytes(bytes)
            }
        }
    }

    pub fn string(&mut self, value: &str) -> io::Result<()> {
        self.buffer(Some(value.as_bytes()))
    }

    pub fn acl_list(&mut self, acl: &[Acl]) -> io::Result<()> {
        self.i32(acl.len() as i32)?;
        for entry in acl {
            self.i32(entry.perms)?;
            self.buffer(entry.id.scheme.as_option().map(str::as_bytes))?;
            self.buffer(entry.id.id.as_option().map(str::as_bytes))?;
        }
        Ok(())
    }
}

fn truncated() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "the file ends in the middle of a record")
}

pub fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A file of a format this version does not know: refused, never read past.
pub fn unsupported(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, message)
}
