//! One raft entry as bytes, the same in the LMDB log and on the peer network: a format byte,
//! the log id (JSON, small), and the payload (a batch's Jute bytes as they are).

use super::types::*;

const ENTRY_FORMAT: u8 = 1;
const KIND_BLANK: u8 = 0;
const KIND_NORMAL: u8 = 1;
const KIND_MEMBERSHIP: u8 = 2;

fn io_err(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

pub fn encode(entry: &Entry) -> Result<Vec<u8>, std::io::Error> {
    let log_id = serde_json::to_vec(&entry.log_id).map_err(io_err)?;
    let mut out = Vec::with_capacity(16 + log_id.len());
    out.push(ENTRY_FORMAT);
    out.extend((log_id.len() as u32).to_be_bytes());
    out.extend(log_id);
    match &entry.payload {
        EntryPayload::Blank => out.push(KIND_BLANK),
        EntryPayload::Normal(batch) => {
            out.push(KIND_NORMAL);
            out.extend(&batch.bytes);
        }
        EntryPayload::Membership(m) => {
            out.push(KIND_MEMBERSHIP);
            out.extend(serde_json::to_vec(m).map_err(io_err)?);
        }
    }
    Ok(out)
}

pub fn decode(bytes: &[u8]) -> Result<Entry, std::io::Error> {
    let bad = |why: &str| io_err(format!("corrupt log entry: {why}"));
    let (&format, rest) = bytes.split_first().ok_or_else(|| bad("empty"))?;
    if format != ENTRY_FORMAT {
        return Err(bad(&format!("unknown entry format {format}")));
    }
    let len = rest.get(..4).ok_or_else(|| bad("truncated"))?;
    let len = u32::from_be_bytes(len.try_into().expect("4 bytes")) as usize;
    let log_id = rest.get(4..4 + len).ok_or_else(|| bad("truncated log id"))?;
    let log_id: LogId = serde_json::from_slice(log_id).map_err(io_err)?;
    let (&kind, payload) = rest[4 + len..].split_first().ok_or_else(|| bad("no payload kind"))?;
    let payload = match kind {
        KIND_BLANK => EntryPayload::Blank,
        KIND_NORMAL => EntryPayload::Normal(Batch { bytes: payload.to_vec() }),
        KIND_MEMBERSHIP => {
            EntryPayload::Membership(serde_json::from_slice(payload).map_err(io_err)?)
        }
        other => return Err(bad(&format!("unknown payload kind {other}"))),
    };
    Ok(Entry { log_id, payload })
}
