//! Authentication providers for auth packets (opcode 100): digest (with the super digest) and
//! ip; and whoAmI's view of a connection's ids. SASL lives in `sasl`.

use base64::Engine;
use jute::{ClientInfo, Id};
use sha1::{Digest, Sha1};

use crate::error::{ZkError, ZkResult};

/// ZooKeeper's digest id for `user:password`: `user:` + base64(SHA-1(`user:password`)).
pub fn digest_id(user_password: &str) -> String {
    let user = user_password.split(':').next().unwrap_or("");
    let hash = Sha1::digest(user_password.as_bytes());
    format!("{user}:{}", base64::engine::general_purpose::STANDARD.encode(hash))
}

/// The ids an auth packet adds to its connection, or AUTHFAILED (which closes it).
pub fn authenticate(
    scheme: &str,
    auth: &[u8],
    peer_ip: &str,
    super_digest: Option<&str>,
) -> ZkResult<Vec<Id>> {
    match scheme {
        "digest" => {
            let id = digest_id(&String::from_utf8_lossy(auth));
            let mut ids = vec![Id::new("digest", &id)];
            if super_digest == Some(id.as_str()) {
                ids.push(Id::new("super", ""));
            }
            Ok(ids)
        }
        "ip" => Ok(vec![Id::new("ip", peer_ip)]),
        _ => Err(ZkError::AuthFailed),
    }
}

/// whoAmI: one entry per id, the provider's user name for it.
pub fn who_am_i(ids: &[Id]) -> Vec<ClientInfo> {
    ids.iter()
        .map(|id| {
            let user = match id.scheme.as_str() {
                "digest" => id.id.split(':').next().unwrap_or("").to_owned(),
                "ip" | "sasl" | "x509" => id.id.to_string(),
                _ => String::new(),
            };
            ClientInfo { auth_scheme: id.scheme.as_str().into(), user: user.into() }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_zookeeper() {
        // The superDigest kazoo's harness configures for super:test.
        assert_eq!(digest_id("super:test"), "super:D/InIHSb7yEEbrWz8b9l71RjZJU=");
    }

    #[test]
    fn the_super_digest_adds_the_super_id() {
        let ids = authenticate(
            "digest",
            b"super:test",
            "127.0.0.1",
            Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU="),
        )
        .unwrap();
        assert!(ids.contains(&Id::new("super", "")));
        let ids = authenticate("digest", b"bob:pw", "127.0.0.1", None).unwrap();
        assert_eq!(ids.len(), 1);
        assert_eq!(authenticate("nope", b"", "127.0.0.1", None), Err(ZkError::AuthFailed));
    }

    #[test]
    fn who_am_i_names_users() {
        let ids =
            vec![Id::new("ip", "127.0.0.1"), Id::new("digest", "bob:hash"), Id::new("super", "")];
        let info = who_am_i(&ids);
        assert_eq!(info[0].user, "127.0.0.1");
        assert_eq!(info[1].user, "bob");
        assert_eq!(info[2].user, "");
    }
}
