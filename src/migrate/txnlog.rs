//! ZooKeeper's transaction log files (`version-2/log.<zxid>`): a header, then records of an
//! Adler-32, a length, the txn's bytes (TxnHeader, the txn, and since 3.6 the tree digest
//! after it) and an end byte `B`, then zero padding. A record cut short ends the file, as in
//! ZooKeeper; a checksum that does not match is damage and is refused.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use jute::proto::persistence::*;
use jute::{Acl, Buffer, Decode};

use super::FileError;

/// A txn as ZooKeeper logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkTxn {
    CreateSession {
        timeout_ms: i32,
    },
    /// The ephemerals to delete, when the log names them (3.6+).
    CloseSession {
        paths: Option<Vec<String>>,
    },
    Create(Create),
    Delete {
        path: String,
    },
    SetData {
        path: String,
        data: Buffer,
        version: i32,
    },
    SetAcl {
        path: String,
        acl: Vec<Acl>,
        version: i32,
    },
    Check,
    Error {
        code: i32,
    },
    Multi(Vec<ZkTxn>),
}

/// Every kind of create: the owner is decided by the caller from `kind` and the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Create {
    /// The logged type: only a plain create (1) fixes its parent up when it finds the node.
    pub txn_type: i32,
    pub path: String,
    pub data: Buffer,
    pub acl: Vec<Acl>,
    pub kind: CreateKind,
    pub parent_cversion: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateKind {
    Persistent,
    Ephemeral,
    Container,
    Ttl(i64),
}

/// One logged record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedTxn {
    pub header: TxnHeader,
    pub txn: ZkTxn,
    /// The tree digest after this txn, when logged (3.6+).
    pub digest: Option<i64>,
}

/// Reads one log file's records in order.
pub struct LogFile {
    path: PathBuf,
    reader: BufReader<File>,
    len: u64,
    offset: u64,
    /// The longest record ZooKeeper reads (jute.maxbuffer and its 1 KiB extra).
    max_record: usize,
    /// Why the file ended before its length, if it did (a record cut short).
    pub ended_early: Option<String>,
}

impl LogFile {
    pub fn open(path: &Path, max_record: usize) -> Result<LogFile, FileError> {
        let at = |e: io::Error| FileError::new(path, e.to_string());
        let file = File::open(path).map_err(at)?;
        let len = file.metadata().map_err(at)?.len();
        let mut log = LogFile {
            path: path.to_owned(),
            reader: BufReader::with_capacity(1 << 20, file),
            len,
            offset: 0,
            max_record,
            ended_early: None,
        };
        if len > 0 {
            log.read_header()?;
        }
        Ok(log)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn file_len(&self) -> u64 {
        self.len
    }

    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn error(&self, message: impl Into<String>) -> FileError {
        FileError::at(&self.path, self.offset, message.into())
    }

    fn read_header(&mut self) -> Result<(), FileError> {
        let mut bytes = [0u8; 16];
        self.fill(&mut bytes)?
            .then_some(())
            .ok_or_else(|| self.error("shorter than its header"))?;
        let header = FileHeader::from_bytes(&bytes).map_err(|e| self.error(e.to_string()))?;
        if header.magic != TXN_LOG_MAGIC {
            return Err(FileError::new(
                &self.path,
                format!("not a ZooKeeper transaction log (magic {:#x})", header.magic),
            ));
        }
        if header.version != FILE_VERSION {
            let message =
                format!("log format version {}, which corral cannot read", header.version);
            return Err(FileError { unknown_format: true, ..FileError::new(&self.path, message) });
        }
        Ok(())
    }

    /// Reads exactly `out`, or returns `false` at the end of the file.
    fn fill(&mut self, out: &mut [u8]) -> Result<bool, FileError> {
        if out.len() as u64 > self.len - self.offset {
            return Ok(false);
        }
        self.reader
            .read_exact(out)
            .map_err(|e| FileError::at(&self.path, self.offset, e.to_string()))?;
        self.offset += out.len() as u64;
        Ok(true)
    }

    /// The next record, or `None` at the end of the log (its padding, the file's end, or a
    /// record cut short).
    pub fn next_txn(&mut self) -> Result<Option<LoggedTxn>, FileError> {
        let start = self.offset;
        let mut head = [0u8; 12];
        if !self.fill(&mut head)? {
            return Ok(self.cut_short(start, "a record header"));
        }
        let checksum = i64::from_be_bytes(head[..8].try_into().expect("8 bytes"));
        let len = i32::from_be_bytes(head[8..].try_into().expect("4 bytes"));
        match len {
            0 | -1 => return Ok(None),
            n if n < -1 => return Err(self.error(format!("a record of length {n}"))),
            // As ZooKeeper's reader: a length past jute.maxbuffer is damage, not a torn tail.
            n if n as usize > self.max_record => {
                return Err(FileError::at(
                    &self.path,
                    start,
                    format!(
                        "a record of {n} bytes, more than jute.maxbuffer allows (set \
                         jute.maxbuffer as the ZooKeeper server had it, if it was raised)"
                    ),
                ))
            }
            _ => {}
        }
        if len as u64 + 1 > self.len - self.offset {
            return Ok(self.cut_short(start, "a record's body"));
        }
        let mut bytes = vec![0u8; len as usize];
        self.fill(&mut bytes)?;
        let mut end = [0u8; 1];
        self.fill(&mut end)?;
        if end[0] != END_OF_RECORD {
            return Ok(self.cut_short(start, "a record's end byte"));
        }
        let actual = adler2::adler32_slice(&bytes);
        if checksum != i64::from(actual) {
            self.offset = start;
            return Err(self.error(format!(
                "checksum mismatch: the record says {checksum:#x}, its bytes give {actual:#x}"
            )));
        }
        decode_record(&bytes).map(Some).map_err(|message| {
            FileError::at(&self.path, start, format!("an undecodable record: {message}"))
        })
    }

    fn cut_short(&mut self, start: u64, what: &str) -> Option<LoggedTxn> {
        if start < self.len {
            self.ended_early = Some(format!("the log ends in {what} at offset {start}"));
        }
        None
    }
}

fn decode_record(bytes: &[u8]) -> Result<LoggedTxn, String> {
    let (rest, header) = TxnHeader::decode(bytes).map_err(|e| format!("its header: {e:?}"))?;
    let (rest, txn) = decode_body(header.txn_type, rest)?;
    let digest = match rest.len() {
        n if n >= 12 => Some(TxnDigest::decode(rest).map_err(|e| format!("{e:?}"))?.1.tree_digest),
        _ => None,
    };
    Ok(LoggedTxn { header, txn, digest })
}

fn text(s: jute::JString) -> String {
    s.into_string()
}

fn create(txn_type: i32, path: jute::JString, data: Buffer, acl: Vec<Acl>) -> Create {
    let kind = CreateKind::Persistent;
    Create { txn_type, path: text(path), data, acl, kind, parent_cversion: -1 }
}

type Body<'a> = Result<(&'a [u8], ZkTxn), String>;

/// A txn's body by its type, as ZooKeeper's reader picks it.
fn decode_body(txn_type: i32, input: &[u8]) -> Body<'_> {
    use txn_type::*;
    let bad = |e: nom::Err<jute::DecodeError>| format!("type {txn_type}: {e:?}");
    match txn_type {
        CREATE_SESSION => {
            let (rest, t) = CreateSessionTxn::decode(input).map_err(bad)?;
            Ok((rest, ZkTxn::CreateSession { timeout_ms: t.time_out }))
        }
        CLOSE_SESSION => match CloseSessionTxn::decode(input) {
            Ok((rest, t)) => {
                let paths = t.paths_to_delete.into_iter().map(text).collect();
                Ok((rest, ZkTxn::CloseSession { paths: Some(paths) }))
            }
            // Logged before 3.6: no body.
            Err(_) => Ok((input, ZkTxn::CloseSession { paths: None })),
        },
        CREATE => match CreateTxn::decode(input) {
            Ok((rest, t)) => Ok((rest, ZkTxn::Create(create_txn(txn_type, t)))),
            Err(_) => {
                // Logged before 3.3: no parent cversion (-1 asks for one more than now).
                let (rest, t) = CreateTxnV0::decode(input).map_err(bad)?;
                let mut c = create(txn_type, t.path, t.data, t.acl);
                c.kind = if t.ephemeral { CreateKind::Ephemeral } else { CreateKind::Persistent };
                Ok((rest, ZkTxn::Create(c)))
            }
        },
        other => decode_shared(other, input).map_err(|e| format!("type {txn_type}: {e}")),
    }
}

fn create_txn(txn_type: i32, t: CreateTxn) -> Create {
    let mut c = create(txn_type, t.path, t.data, t.acl);
    c.kind = if t.ephemeral { CreateKind::Ephemeral } else { CreateKind::Persistent };
    c.parent_cversion = t.parent_cversion;
    c
}

/// The bodies a multi may hold too.
fn decode_shared(txn_type: i32, input: &[u8]) -> Body<'_> {
    use txn_type::*;
    let bad = |e: nom::Err<jute::DecodeError>| format!("{e:?}");
    Ok(match txn_type {
        CREATE | CREATE2 => {
            let (rest, t) = CreateTxn::decode(input).map_err(bad)?;
            (rest, ZkTxn::Create(create_txn(txn_type, t)))
        }
        CREATE_CONTAINER => {
            let (rest, t) = CreateContainerTxn::decode(input).map_err(bad)?;
            let mut c = create(txn_type, t.path, t.data, t.acl);
            (c.kind, c.parent_cversion) = (CreateKind::Container, t.parent_cversion);
            (rest, ZkTxn::Create(c))
        }
        CREATE_TTL => {
            let (rest, t) = CreateTtlTxn::decode(input).map_err(bad)?;
            let mut c = create(txn_type, t.path, t.data, t.acl);
            (c.kind, c.parent_cversion) = (CreateKind::Ttl(t.ttl), t.parent_cversion);
            (rest, ZkTxn::Create(c))
        }
        DELETE | DELETE_CONTAINER => {
            let (rest, t) = DeleteTxn::decode(input).map_err(bad)?;
            (rest, ZkTxn::Delete { path: text(t.path) })
        }
        SET_DATA | RECONFIG => {
            let (rest, t) = SetDataTxn::decode(input).map_err(bad)?;
            (rest, ZkTxn::SetData { path: text(t.path), data: t.data, version: t.version })
        }
        SET_ACL => {
            let (rest, t) = SetAclTxn::decode(input).map_err(bad)?;
            (rest, ZkTxn::SetAcl { path: text(t.path), acl: t.acl, version: t.version })
        }
        CHECK => (CheckVersionTxn::decode(input).map_err(bad)?.0, ZkTxn::Check),
        ERROR => {
            let (rest, t) = ErrorTxn::decode(input).map_err(bad)?;
            (rest, ZkTxn::Error { code: t.err })
        }
        MULTI => {
            let (rest, t) = MultiTxn::decode(input).map_err(bad)?;
            let parts: Result<Vec<ZkTxn>, String> = t.txns.into_iter().map(multi_part).collect();
            (rest, ZkTxn::Multi(parts?))
        }
        other => return Err(format!("an unknown txn type {other}")),
    })
}

fn multi_part(part: MultiTxnPart) -> Result<ZkTxn, String> {
    use txn_type::*;
    if !matches!(
        part.txn_type,
        CREATE
            | CREATE2
            | CREATE_TTL
            | CREATE_CONTAINER
            | DELETE
            | DELETE_CONTAINER
            | SET_DATA
            | ERROR
            | CHECK
    ) {
        return Err(format!("a multi holds a txn of type {}", part.txn_type));
    }
    let data = part.data.unwrap_or_default();
    decode_shared(part.txn_type, &data).map(|(_, txn)| txn)
}
