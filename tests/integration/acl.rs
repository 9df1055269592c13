//! ACLs and auth: world, auth, digest, ip, the super digest, per-op permissions, getACL
//! redaction, and the close after a failed auth.

use crate::common;

use common::*;
use jute::*;

const SUPER: &str = "DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n";

fn digest(user_password: &str) -> String {
    corral::auth::digest_id(user_password)
}

#[tokio::test]
async fn digest_acls_guard_each_permission() {
    let t = start().await;
    let mut alice = Client::connect(t.addr).await;
    let mut bob = Client::connect(t.addr).await;
    alice.add_auth("digest", b"alice:pw").await;
    let acl = vec![
        Acl::new(perms::ALL, "digest", &digest("alice:pw")),
        Acl::new(perms::READ, "world", "anyone"),
    ];
    assert_eq!(alice.create_acl("/a", acl).await, 0);
    assert!(bob.get_data("/a", false).await.is_ok());
    assert_eq!(bob.set_data("/a", b"x", -1).await, Err(-102));
    assert_eq!(bob.create("/a/c", b"", 0).await, Err(-102));
    assert_eq!(
        bob.err(Request::SetAcl(SetAclRequest { path: "/a".into(), acl: open_acl(), version: -1 }))
            .await,
        -102
    );
    alice.create("/a/c", b"", 0).await.unwrap();
    assert_eq!(bob.delete("/a/c", -1).await, -102, "DELETE is checked on the parent");
    assert_eq!(bob.delete("/a/missing", -1).await, -102, "before the node's existence");
    assert!(alice.set_data("/a", b"x", -1).await.is_ok());
}

#[tokio::test]
async fn the_auth_scheme_expands_to_the_callers_ids() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    assert_eq!(c.create_acl("/none", vec![Acl::new(perms::ALL, "auth", "")]).await, -114);
    c.add_auth("digest", b"carol:pw").await;
    assert_eq!(c.create_acl("/mine", vec![Acl::new(perms::ALL, "auth", "")]).await, 0);
    let (_, body) = c.call(Request::GetAcl(PathRequest { path: "/mine".into() })).await;
    let Some(Response::GetAcl(r)) = body else { panic!() };
    assert_eq!(r.acl, vec![Acl::new(perms::ALL, "digest", &digest("carol:pw"))]);
}

#[tokio::test]
async fn invalid_acls_are_refused() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    for acl in [
        vec![],
        vec![Acl::new(31, "world", "everyone")],
        vec![Acl::new(31, "digest", "nohash")],
        vec![Acl::new(31, "ip", "10.0.0.300")],
        vec![Acl::new(31, "sasl", "bob")],
        vec![Acl::new(31, "x", "y")],
    ] {
        assert_eq!(c.create_acl("/bad", acl.clone()).await, -114, "{acl:?}");
    }
}

#[tokio::test]
async fn ip_acls_match_the_peer_address() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create_acl("/local", vec![Acl::new(perms::ALL, "ip", "127.0.0.0/8")]).await;
    c.create_acl("/remote", vec![Acl::new(perms::ALL, "ip", "10.0.0.1")]).await;
    assert!(c.get_data("/local", false).await.is_ok());
    assert_eq!(c.get_data("/remote", false).await, Err(-102));
}

#[tokio::test]
async fn get_acl_redacts_digests_without_admin() {
    let t = start().await;
    let mut alice = Client::connect(t.addr).await;
    alice.add_auth("digest", b"alice:pw").await;
    let acl = vec![
        Acl::new(perms::ALL, "digest", &digest("alice:pw")),
        Acl::new(perms::READ, "world", "anyone"),
    ];
    alice.create_acl("/r", acl.clone()).await;
    let mut bob = Client::connect(t.addr).await;
    let (_, body) = bob.call(Request::GetAcl(PathRequest { path: "/r".into() })).await;
    let Some(Response::GetAcl(shown)) = body else { panic!() };
    assert_eq!(shown.acl[0].id.id, "alice:x");
    let (_, body) = alice.call(Request::GetAcl(PathRequest { path: "/r".into() })).await;
    let Some(Response::GetAcl(full)) = body else { panic!() };
    assert_eq!(full.acl, acl);
    alice.create_acl("/hidden", vec![Acl::new(perms::ALL, "digest", &digest("alice:pw"))]).await;
    assert_eq!(bob.err(Request::GetAcl(PathRequest { path: "/hidden".into() })).await, -102);
    // ZooKeeper 3.9.2+ (and 3.8.4+): exists checks READ on a node that exists.
    assert_eq!(bob.exists("/hidden", false).await, Err(-102));
    assert_eq!(bob.exists("/hidden/none", false).await, Err(-101));
}

#[tokio::test]
async fn the_super_digest_bypasses_acls() {
    let t = start_with(SUPER).await;
    let mut alice = Client::connect(t.addr).await;
    alice.add_auth("digest", b"alice:pw").await;
    alice.create_acl("/locked", vec![Acl::new(perms::ALL, "digest", &digest("alice:pw"))]).await;
    let mut admin = Client::connect(t.addr).await;
    assert_eq!(admin.get_data("/locked", false).await, Err(-102));
    assert_eq!(admin.add_auth("digest", b"super:test").await, 0);
    assert!(admin.get_data("/locked", false).await.is_ok());
    assert_eq!(admin.delete("/locked", -1).await, 0);
}

#[tokio::test]
async fn skip_acl_disables_every_check() {
    let t = start_with("skipACL=yes\n").await;
    let mut c = Client::connect(t.addr).await;
    c.create_acl("/x", vec![Acl::new(perms::READ, "ip", "10.9.9.9")]).await;
    assert!(c.set_data("/x", b"1", -1).await.is_ok());
}

#[tokio::test]
async fn an_unknown_auth_scheme_fails_and_closes() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    assert_eq!(c.add_auth("kerberos", b"x").await, -115);
    assert!(c.closed().await);
}
