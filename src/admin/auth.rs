//! The AdminServer's auth, for the commands ZooKeeper 3.9 protects (snapshot, restore): an
//! `Authorization: <scheme>[ <auth>]` header names the ids, as an auth packet would on the
//! client port, and they must hold every bit of ALL on `/`, each checked on its own.

use std::net::IpAddr;

use hyper::StatusCode;
use jute::{perms, Id};

use crate::auth::authenticate;
use crate::node::Node;
use crate::tree::acl::permits;

/// Why a protected command is refused: the status and the envelope's error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    NotAuthenticated,
    NotAuthorized,
}

impl Refusal {
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::Missing | Refusal::NotAuthenticated => StatusCode::UNAUTHORIZED,
            Refusal::NotAuthorized => StatusCode::FORBIDDEN,
        }
    }

    pub fn error(self) -> &'static str {
        match self {
            Refusal::Missing => "Auth info is missing for the command",
            Refusal::NotAuthenticated => "Not authenticated",
            Refusal::NotAuthorized => "Not authorized",
        }
    }
}

/// Checks `header` (the Authorization header's value, if any) from `peer` for ALL on `/`.
pub fn check(node: &Node, header: Option<&str>, peer: IpAddr) -> Result<(), Refusal> {
    let header = header.ok_or(Refusal::Missing)?;
    let ids = ids_of(node, header, peer).ok_or(Refusal::NotAuthenticated)?;
    let acl = node.with_state(|s| s.tree.get("/").map(|n| n.acl.clone()));
    let acl = acl.ok_or(Refusal::NotAuthorized)?;
    let policy = &node.apply_config.acl;
    let bits = (0..5).map(|b| 1 << b).filter(|bit| perms::ALL & bit != 0);
    for bit in bits {
        if !permits(policy, &acl, &ids, bit) {
            tracing::info!(%peer, "admin command refused: no permission on /");
            return Err(Refusal::NotAuthorized);
        }
    }
    Ok(())
}

/// The ids a header authenticates as: Java's `split(" ")` into a scheme and at most one
/// auth part; `ip` takes the address the request came from. Schemes that ZooKeeper can only
/// check with a TLS certificate or SASL exchange (x509, sasl) authenticate nobody here.
fn ids_of(node: &Node, header: &str, peer: IpAddr) -> Option<Vec<Id>> {
    let parts = java_split_on_space(header);
    let (scheme, auth) = match parts.as_slice() {
        [scheme] => (*scheme, None),
        [scheme, auth] => (*scheme, Some(*auth)),
        _ => return None,
    };
    let super_digest = node.config.super_digest.as_deref();
    let ids = match (scheme, auth) {
        ("digest", Some(auth)) => authenticate("digest", auth.as_bytes(), "", super_digest).ok()?,
        ("ip", _) => vec![Id::new("ip", &peer.to_string())],
        _ => return None,
    };
    (!ids.is_empty()).then_some(ids)
}

/// `String.split(" ")`: every single space separates, trailing empty parts are dropped.
fn java_split_on_space(text: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = text.split(' ').collect();
    while parts.last() == Some(&"") {
        parts.pop();
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_as_java_does() {
        assert_eq!(java_split_on_space("digest a:b"), ["digest", "a:b"]);
        assert_eq!(java_split_on_space("ip"), ["ip"]);
        assert_eq!(java_split_on_space("digest  a:b"), ["digest", "", "a:b"]);
        assert_eq!(java_split_on_space("digest a:b  "), ["digest", "a:b"]);
    }
}
