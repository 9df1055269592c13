//! SASL DIGEST-MD5 (RFC 2831) on opcode 102, as ZooKeeper's server runs it: users come from the
//! JAAS file's `Server` section (`user_<name>="<password>"`), the realm is `zk-sasl-md5`, and a
//! completed exchange gives the connection the id `sasl:<user>`.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use md5::{Digest, Md5};

const REALM: &str = "zk-sasl-md5";

/// The DIGEST-MD5 users of a JAAS `Server` section.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SaslUsers {
    passwords: HashMap<String, String>,
}

impl SaslUsers {
    pub fn load(path: &Path) -> std::io::Result<SaslUsers> {
        Ok(SaslUsers::parse(&std::fs::read_to_string(path)?, "Server"))
    }

    /// Reads `user_<name>="<password>"` options from the named section.
    pub fn parse(jaas: &str, section: &str) -> SaslUsers {
        let mut passwords = HashMap::new();
        let mut rest = jaas;
        while let Some(at) = rest.find('{') {
            let name = rest[..at]
                .trim()
                .rsplit(|c: char| c.is_whitespace() || c == ';')
                .next()
                .unwrap_or("");
            let Some(end) = rest[at..].find("};") else {
                break;
            };
            let body = &rest[at + 1..at + end];
            if name == section {
                for (key, value) in options(body) {
                    if let Some(user) = key.strip_prefix("user_") {
                        passwords.insert(user.to_owned(), value);
                    }
                }
            }
            rest = &rest[at + end + 2..];
        }
        SaslUsers { passwords }
    }

    pub fn is_empty(&self) -> bool {
        self.passwords.is_empty()
    }
}

/// `key="value"` pairs of a JAAS login-module entry.
fn options(body: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut rest = body;
    while let Some(eq) = rest.find("=\"") {
        let key = rest[..eq].rsplit(char::is_whitespace).next().unwrap_or("").to_owned();
        let after = &rest[eq + 2..];
        let Some(close) = after.find('"') else { break };
        found.push((key, after[..close].to_owned()));
        rest = &after[close + 1..];
    }
    found
}

/// Where a connection's SASL exchange stands.
#[derive(Debug, Default)]
pub enum SaslState {
    #[default]
    Start,
    /// The challenge went out with this nonce.
    Challenged {
        nonce: String,
    },
    Done,
}

/// What one SASL step produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this token and wait for the next.
    Continue(Vec<u8>),
    /// Authenticated as this user; send the final token.
    Success {
        user: String,
        token: Vec<u8>,
    },
    Failure,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn md5(parts: &[&[u8]]) -> Vec<u8> {
    let mut hash = Md5::new();
    parts.iter().for_each(|p| hash.update(p));
    hash.finalize().to_vec()
}

fn new_nonce() -> String {
    let mut bytes = [0u8; 30];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Splits a digest-response into its directives (values unquoted, `\` escapes removed).
fn directives(text: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut chars = text.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let key = key.trim().trim_start_matches(',').trim().to_owned();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
            while chars.peek().is_some_and(|c| *c != ',') {
                chars.next();
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        out.insert(key, value.trim().to_owned());
    }
}

/// RFC 2831's response value; `a2_prefix` is `AUTHENTICATE` for the client's response and empty
/// for the server's rspauth.
fn response_value(
    d: &HashMap<String, String>,
    password: &str,
    nonce: &str,
    a2_prefix: &str,
) -> Option<String> {
    let get = |k: &str| d.get(k).map(String::as_str);
    let (user, cnonce, nc, uri) =
        (get("username")?, get("cnonce")?, get("nc")?, get("digest-uri")?);
    let realm = get("realm").unwrap_or("");
    let qop = get("qop").unwrap_or("auth");
    let secret = md5(&[user.as_bytes(), b":", realm.as_bytes(), b":", password.as_bytes()]);
    let mut a1 = vec![secret.as_slice(), b":", nonce.as_bytes(), b":", cnonce.as_bytes()];
    if let Some(authzid) = get("authzid") {
        a1.extend([b":".as_slice(), authzid.as_bytes()]);
    }
    let ha1 = hex(&md5(&a1));
    let ha2 = hex(&md5(&[a2_prefix.as_bytes(), b":", uri.as_bytes()]));
    Some(hex(&md5(&[
        ha1.as_bytes(),
        b":",
        nonce.as_bytes(),
        b":",
        nc.as_bytes(),
        b":",
        cnonce.as_bytes(),
        b":",
        qop.as_bytes(),
        b":",
        ha2.as_bytes(),
    ])))
}

/// Runs one step of the server side of the exchange.
pub fn step(users: &SaslUsers, state: &mut SaslState, token: &[u8]) -> Step {
    match std::mem::take(state) {
        SaslState::Start => {
            let nonce = new_nonce();
            let challenge =
                format!("realm=\"{REALM}\",nonce=\"{nonce}\",charset=utf-8,algorithm=md5-sess");
            *state = SaslState::Challenged { nonce };
            Step::Continue(challenge.into_bytes())
        }
        SaslState::Challenged { nonce } => {
            verify(users, &nonce, token).map_or(Step::Failure, |(user, token)| {
                *state = SaslState::Done;
                Step::Success { user, token }
            })
        }
        SaslState::Done => Step::Failure,
    }
}

fn verify(users: &SaslUsers, nonce: &str, token: &[u8]) -> Option<(String, Vec<u8>)> {
    let d = directives(&String::from_utf8_lossy(token));
    if d.get("nonce").map(String::as_str) != Some(nonce) {
        return None;
    }
    let user = d.get("username")?;
    let password = users.passwords.get(user)?;
    let expected = response_value(&d, password, nonce, "AUTHENTICATE")?;
    if d.get("response").map(String::as_str) != Some(expected.as_str()) {
        return None;
    }
    let rspauth = response_value(&d, password, nonce, "")?;
    let authorized = d.get("authzid").unwrap_or(user).clone();
    Some((authorized, format!("rspauth={rspauth}").into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JAAS: &str = r#"
        Server {
            org.apache.zookeeper.server.auth.DigestLoginModule required
            user_super="super_secret"
            user_jaasuser="jaas_password";
        };
        Client {
            org.apache.zookeeper.server.auth.DigestLoginModule required
            username="jaasuser"
            password="jaas_password";
        };"#;

    #[test]
    fn reads_the_server_section() {
        let users = SaslUsers::parse(JAAS, "Server");
        assert_eq!(users.passwords.get("jaasuser").map(String::as_str), Some("jaas_password"));
        assert_eq!(users.passwords.len(), 2);
    }

    /// The exchange kazoo had with Apache ZooKeeper (shared/fixtures/wire/kazoo.jsonl).
    #[test]
    fn verifies_a_recorded_exchange() {
        let users = SaslUsers::parse(JAAS, "Server");
        let nonce = "BrH8WbCerd/y25/eiT+3cIXewaLi1DttsRxeHziG";
        let mut state = SaslState::Challenged { nonce: nonce.into() };
        let response = format!(
            "qop=auth,realm=\"zk-sasl-md5\",username=\"jaasuser\",nonce=\"{nonce}\",cnonce=\"9331562697830268\",\
             nc=00000001,digest-uri=\"zookeeper/zk-sasl-md5\",response=c1020eeac008818767f43cd2a9b56eb7"
        );
        let step = step(&users, &mut state, response.as_bytes());
        assert_eq!(
            step,
            Step::Success {
                user: "jaasuser".into(),
                token: b"rspauth=a3de50c469f6fa6673449ac713253678".to_vec()
            }
        );
    }

    #[test]
    fn a_wrong_password_or_nonce_fails() {
        let users = SaslUsers::parse(JAAS, "Server");
        let mut state = SaslState::Start;
        let Step::Continue(challenge) = step(&users, &mut state, b"") else { panic!() };
        assert!(String::from_utf8(challenge)
            .unwrap()
            .starts_with("realm=\"zk-sasl-md5\",nonce=\""));
        let bad = "username=\"jaasuser\",nonce=\"other\",cnonce=\"1\",nc=00000001,digest-uri=\"x\",response=00";
        assert_eq!(step(&users, &mut state, bad.as_bytes()), Step::Failure);
    }
}
