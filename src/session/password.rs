//! Session ids as ZooKeeper forms them, and session passwords derived from the id and a
//! secret kept in the data directory, so a restarted server accepts the same password.

use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};

use sha2::{Digest, Sha256};

/// The password length every ConnectResponse carries.
pub const PASSWORD_LEN: usize = 16;

/// A session's password.
pub type Password = [u8; PASSWORD_LEN];

/// Compares in constant time, so a password cannot be guessed byte by byte.
pub fn matches(expected: &[u8], candidate: &[u8]) -> bool {
    candidate.len() == expected.len()
        && expected.iter().zip(candidate).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}
const SECRET_FILE: &str = "session.secret";

/// Derives passwords: the first 16 bytes of SHA-256(secret ‖ session id).
#[derive(Clone)]
pub struct PasswordKey {
    secret: [u8; 32],
}

impl PasswordKey {
    pub fn new(secret: [u8; 32]) -> Self {
        PasswordKey { secret }
    }

    /// Loads the secret from `dir`, creating it from the OS's random source on first start.
    pub fn load_or_create(dir: &Path) -> io::Result<Self> {
        let file = dir.join(SECRET_FILE);
        match std::fs::read(&file) {
            Ok(bytes) if bytes.len() == 32 => {
                // Older versions left it readable by all.
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600));
                let mut secret = [0u8; 32];
                secret.copy_from_slice(&bytes);
                Ok(PasswordKey::new(secret))
            }
            Ok(_) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a 32-byte secret", file.display()),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let mut secret = [0u8; 32];
                std::fs::File::open("/dev/urandom")
                    .and_then(|mut f| io::Read::read_exact(&mut f, &mut secret))?;
                write_private(&file, &secret).map_err(|e| at(&file, e))?;
                Ok(PasswordKey::new(secret))
            }
            Err(e) => Err(at(&file, e)),
        }
    }

    pub fn password(&self, session_id: i64) -> Password {
        let mut hash = Sha256::new();
        hash.update(self.secret);
        hash.update(session_id.to_be_bytes());
        let mut password = [0; PASSWORD_LEN];
        password.copy_from_slice(&hash.finalize()[..PASSWORD_LEN]);
        password
    }
}

/// Hands out session ids like ZooKeeper: the server id in the top byte, the low 40 bits of the
/// start time in milliseconds below it, and a counter in the low bits.
pub struct SessionIdGenerator {
    next: AtomicI64,
}

impl SessionIdGenerator {
    pub fn new(server_id: u8, now_ms: i64) -> Self {
        let base = ((now_ms << 24) as u64 >> 8) as i64 | ((server_id as i64) << 56);
        SessionIdGenerator { next: AtomicI64::new(base) }
    }

    pub fn next_id(&self) -> i64 {
        loop {
            let id = self.next.fetch_add(1, Ordering::Relaxed);
            // 0 means "new session" and i64::MIN marks containers: never hand either out.
            if id != 0 && id != i64::MIN {
                return id;
            }
        }
    }
}

/// Writes `bytes` to `path` readable by this user alone (anyone who can read the secret can
/// compute every session's password), durably: a crash leaves the old state or the new one.
/// The password ZooKeeper gives a session: 16 bytes of `java.util.Random` seeded with the id
/// XOR a constant. Sessions imported from ZooKeeper keep it, so their clients can reconnect.
pub fn zookeeper_password(session_id: i64) -> Password {
    const MULTIPLIER: i64 = 0x5_DEEC_E66D;
    const MASK: i64 = (1 << 48) - 1;
    const SUPER_SECRET: i64 = 0xB341_5C00;
    let mut seed = (session_id ^ SUPER_SECRET ^ MULTIPLIER) & MASK;
    let mut password = [0; PASSWORD_LEN];
    for chunk in password.chunks_mut(4) {
        seed = (seed.wrapping_mul(MULTIPLIER).wrapping_add(0xB)) & MASK;
        let next_int = (seed >> 16) as i32;
        for (i, byte) in chunk.iter_mut().enumerate() {
            *byte = (next_int >> (8 * i)) as u8;
        }
    }
    password
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let temp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    match path.parent() {
        Some(dir) => std::fs::File::open(dir)?.sync_all(),
        None => Ok(()),
    }
}

/// The error, with the file it is about.
fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by `java.util.Random` seeded as ZooKeeper's `generatePasswd` seeds it.
    #[test]
    fn zookeeper_passwords_match_javas_random() {
        let hex = |p: Password| p.iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(
            hex(zookeeper_password(0x0100_0000_0000_0001)),
            "054cc74a37327db215e702e20c73f005"
        );
        assert_eq!(hex(zookeeper_password(-1)), "20f62cb5648dc2d771471c8a2486a9ee");
        assert_eq!(
            hex(zookeeper_password(0x7f_1234_5678_9abc)),
            "e673bc9940b4e7724864ecd8054f6ff4"
        );
    }

    #[test]
    fn passwords_are_stable_and_distinct() {
        let key = PasswordKey::new([7; 32]);
        assert_eq!(key.password(1), key.password(1));
        assert_ne!(key.password(1), key.password(2));
        assert!(matches(&key.password(1), &key.password(1)));
        assert!(!matches(&key.password(1), &key.password(2)));
        assert!(!matches(&key.password(1), &[]));
    }

    #[test]
    fn the_secret_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = PasswordKey::load_or_create(dir.path()).unwrap();
        let second = PasswordKey::load_or_create(dir.path()).unwrap();
        assert_eq!(first.password(42), second.password(42));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(SECRET_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "only its owner may read it");
    }

    #[test]
    fn ids_carry_the_server_id() {
        let ids = SessionIdGenerator::new(1, 1_700_000_000_000);
        let a = ids.next_id();
        assert_eq!(a >> 56, 1);
        assert_eq!(ids.next_id(), a + 1);
    }
}
