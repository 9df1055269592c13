//! ACL rules: the permission check, fixupACL for create and setACL, identity matching per
//! scheme (world, auth, digest, ip, sasl, super). Pure: the caller passes the connection's ids.

use std::net::IpAddr;

use jute::{perms, Acl, Id};

/// How ACLs are enforced; the same on every node, since apply depends on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AclPolicy {
    /// `skipACL=yes`: every check passes.
    pub skip_acl: bool,
    /// SASL is configured, so `sasl:` ACL entries are valid.
    pub sasl_enabled: bool,
}

/// True when a connection holding `ids` may do `perm` on a node with `acl`.
pub fn permits(policy: &AclPolicy, acl: &[Acl], ids: &[Id], perm: i32) -> bool {
    if policy.skip_acl || acl.is_empty() || is_super(ids) {
        return true;
    }
    acl.iter().filter(|entry| entry.perms & perm != 0).any(|entry| entry_matches(&entry.id, ids))
}

/// True when the ids include the super user (superDigest, or a SASL super user).
pub fn is_super(ids: &[Id]) -> bool {
    ids.iter().any(|id| id.scheme == "super")
}

fn entry_matches(entry: &Id, ids: &[Id]) -> bool {
    if entry.scheme == "world" && entry.id == "anyone" {
        return true;
    }
    ids.iter().filter(|id| id.scheme.as_str() == entry.scheme.as_str()).any(|id| {
        match entry.scheme.as_str() {
            "ip" => ip_matches(&id.id, &entry.id),
            _ => id.id.as_str() == entry.id.as_str(),
        }
    })
}

/// Why fixupACL refused a list; always INVALIDACL on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidAcl;

/// ZooKeeper's fixupACL: refuses an empty list or an invalid entry, expands `auth` into the
/// caller's authenticated ids, and drops duplicates. The result is what the node stores.
pub fn fixup(policy: &AclPolicy, acl: &[Acl], ids: &[Id]) -> Result<Vec<Acl>, InvalidAcl> {
    if acl.is_empty() {
        return Err(InvalidAcl);
    }
    let mut fixed: Vec<Acl> = Vec::with_capacity(acl.len());
    for entry in acl {
        if entry.id.scheme == "auth" {
            let authenticated: Vec<&Id> = ids.iter().filter(|id| is_authenticated(id)).collect();
            if authenticated.is_empty() {
                return Err(InvalidAcl);
            }
            for id in authenticated {
                push_unique(&mut fixed, Acl { perms: entry.perms, id: normalized(id) });
            }
        } else if valid_entry(policy, &entry.id) {
            push_unique(&mut fixed, Acl { perms: entry.perms, id: normalized(&entry.id) });
        } else {
            return Err(InvalidAcl);
        }
    }
    Ok(fixed)
}

/// Null strings (kazoo's empty strings) are stored as empty ones.
fn normalized(id: &Id) -> Id {
    Id::new(id.scheme.as_str(), id.id.as_str())
}

fn push_unique(list: &mut Vec<Acl>, acl: Acl) {
    if !list.contains(&acl) {
        list.push(acl);
    }
}

/// Schemes whose ids prove who the client is; `ip` does not count.
fn is_authenticated(id: &Id) -> bool {
    matches!(id.scheme.as_str(), "digest" | "sasl" | "x509")
}

fn valid_entry(policy: &AclPolicy, id: &Id) -> bool {
    match id.scheme.as_str() {
        "world" => id.id == "anyone",
        "digest" => valid_digest_id(&id.id),
        "ip" => parse_ip_pattern(&id.id).is_some(),
        "sasl" => policy.sasl_enabled && !id.id.is_empty(),
        _ => false,
    }
}

/// Java splits on `:` (dropping trailing empty parts) and wants exactly two parts.
fn valid_digest_id(id: &str) -> bool {
    let trimmed = id.trim_end_matches(':');
    trimmed.split(':').count() == 2
}

/// Parses `addr` or `addr/bits`; `bits` defaults to the whole address.
fn parse_ip_pattern(pattern: &str) -> Option<(IpAddr, u32)> {
    let (addr, bits) = match pattern.split_once('/') {
        Some((addr, bits)) => (addr, Some(bits.parse::<u32>().ok()?)),
        None => (pattern, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let width = if addr.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(width);
    (bits <= width).then_some((addr, bits))
}

fn ip_matches(client: &str, pattern: &str) -> bool {
    let (Some((want, bits)), Ok(have)) = (parse_ip_pattern(pattern), client.parse::<IpAddr>())
    else {
        return false;
    };
    match (want, have) {
        (IpAddr::V4(w), IpAddr::V4(h)) => prefix_eq(&w.octets(), &h.octets(), bits),
        (IpAddr::V6(w), IpAddr::V6(h)) => prefix_eq(&w.octets(), &h.octets(), bits),
        _ => false,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u32) -> bool {
    let full = (bits / 8) as usize;
    if a[..full] != b[..full] {
        return false;
    }
    let rest = bits % 8;
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

/// getACL without ADMIN: digest ids are shown as `user:x`.
pub fn redact_digests(acl: &[Acl]) -> Vec<Acl> {
    acl.iter()
        .map(|entry| match entry.id.scheme.as_str() {
            "digest" => {
                let user = entry.id.id.split(':').next().unwrap_or("");
                Acl::new(entry.perms, "digest", &format!("{user}:x"))
            }
            _ => entry.clone(),
        })
        .collect()
}

/// The ACL `world:anyone` with every permission (OPEN_ACL_UNSAFE).
pub fn open_acl() -> Vec<Acl> {
    vec![Acl::new(perms::ALL, "world", "anyone")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[(&str, &str)]) -> Vec<Id> {
        list.iter().map(|(s, i)| Id::new(s, i)).collect()
    }

    #[test]
    fn world_anyone_permits_everyone() {
        let policy = AclPolicy::default();
        assert!(permits(&policy, &open_acl(), &[], perms::READ));
        let read_only = vec![Acl::new(perms::READ, "world", "anyone")];
        assert!(!permits(&policy, &read_only, &[], perms::WRITE));
    }

    #[test]
    fn digest_and_super() {
        let policy = AclPolicy::default();
        let acl = vec![Acl::new(perms::ALL, "digest", "bob:hash")];
        assert!(permits(&policy, &acl, &ids(&[("digest", "bob:hash")]), perms::READ));
        assert!(!permits(&policy, &acl, &ids(&[("digest", "eve:hash")]), perms::READ));
        assert!(permits(&policy, &acl, &ids(&[("super", "")]), perms::READ));
        let skip = AclPolicy { skip_acl: true, ..AclPolicy::default() };
        assert!(permits(&skip, &acl, &[], perms::READ));
    }

    #[test]
    fn ip_prefixes() {
        assert!(ip_matches("10.1.2.3", "10.1.0.0/16"));
        assert!(!ip_matches("10.2.2.3", "10.1.0.0/16"));
        assert!(ip_matches("127.0.0.1", "127.0.0.1"));
        assert!(!ip_matches("127.0.0.2", "127.0.0.1"));
        assert!(ip_matches("::1", "::1/128"));
        assert!(ip_matches("10.1.2.3", "10.1.2.0/23"));
    }

    #[test]
    fn fixup_expands_auth_and_refuses_bad_entries() {
        let policy = AclPolicy::default();
        let caller = ids(&[("ip", "127.0.0.1"), ("digest", "bob:h")]);
        let auth = vec![Acl::new(perms::ALL, "auth", "")];
        let fixed = fixup(&policy, &auth, &caller).unwrap();
        assert_eq!(fixed, vec![Acl::new(perms::ALL, "digest", "bob:h")]);
        assert_eq!(fixup(&policy, &auth, &ids(&[("ip", "127.0.0.1")])), Err(InvalidAcl));
        assert_eq!(fixup(&policy, &[], &caller), Err(InvalidAcl));
        let bad = [
            ("world", "someone"),
            ("digest", "nocolon"),
            ("ip", "300.1.1.1"),
            ("sasl", "x"),
            ("foo", "bar"),
        ];
        for (scheme, id) in bad {
            assert_eq!(
                fixup(&policy, &[Acl::new(1, scheme, id)], &caller),
                Err(InvalidAcl),
                "{scheme}:{id}"
            );
        }
        let dup = vec![Acl::new(1, "world", "anyone"), Acl::new(1, "world", "anyone")];
        assert_eq!(fixup(&policy, &dup, &caller).unwrap().len(), 1);
    }

    #[test]
    fn redaction_hides_digest_hashes() {
        let acl = vec![Acl::new(31, "digest", "bob:secret"), Acl::new(1, "world", "anyone")];
        let shown = redact_digests(&acl);
        assert_eq!(shown[0].id.id, "bob:x");
        assert_eq!(shown[1], acl[1]);
    }
}
