//! SASL DIGEST-MD5 on opcode 102 with users from a JAAS file, driven by a client written from
//! RFC 2831 (the same exchange kazoo and the Java client perform).

use crate::common;

use common::*;
use corral::config::Config;
use corral::sasl::SaslUsers;
use corral::server::Server;
use jute::*;
use md5::{Digest, Md5};

const JAAS: &str = r#"Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};"#;

async fn start_sasl() -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "dataDir={}\nauthProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider\n",
        dir.path().display()
    );
    let mut config = Config::from_text(&text).unwrap();
    config.sasl_users = SaslUsers::parse(JAAS, "Server");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (Server::start(config, listener).await.unwrap(), dir)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn md5(parts: &[&str]) -> Vec<u8> {
    let mut h = Md5::new();
    parts.iter().for_each(|p| h.update(p.as_bytes()));
    h.finalize().to_vec()
}

/// The client's digest-response to a challenge, per RFC 2831 (qop=auth).
fn digest_response(challenge: &str, user: &str, password: &str) -> String {
    let nonce = challenge.split("nonce=\"").nth(1).unwrap().split('"').next().unwrap();
    let (cnonce, nc, uri, realm) = ("0a1b2c3d", "00000001", "zookeeper/zk-sasl-md5", "zk-sasl-md5");
    let mut a1 = md5(&[user, ":", realm, ":", password]);
    a1.extend(format!(":{nonce}:{cnonce}").bytes());
    let mut h = Md5::new();
    h.update(&a1);
    let ha1 = hex(&h.finalize());
    let ha2 = hex(&md5(&["AUTHENTICATE:", uri]));
    let response = hex(&md5(&[&ha1, ":", nonce, ":", nc, ":", cnonce, ":auth:", &ha2]));
    format!(
        "charset=utf-8,username=\"{user}\",realm=\"{realm}\",nonce=\"{nonce}\",nc={nc},cnonce=\"{cnonce}\",\
         digest-uri=\"{uri}\",maxbuf=65536,response={response},qop=auth"
    )
}

async fn sasl(c: &mut Client, token: Vec<u8>) -> (ReplyHeader, Option<Vec<u8>>) {
    match c.call(Request::Sasl(SaslToken { token: Some(token) })).await {
        (h, Some(Response::Sasl(t))) => (h, t.token),
        (h, _) => (h, None),
    }
}

#[tokio::test]
async fn digest_md5_authenticates_a_jaas_user() {
    let (server, _dir) = start_sasl().await;
    let mut c = Client::connect(server.addr).await;
    let (h, challenge) = sasl(&mut c, vec![]).await;
    assert_eq!((h.err, h.zxid), (0, 0));
    let challenge = String::from_utf8(challenge.unwrap()).unwrap();
    assert!(challenge.starts_with("realm=\"zk-sasl-md5\",nonce=\""), "{challenge}");
    let (h, rspauth) =
        sasl(&mut c, digest_response(&challenge, "jaasuser", "jaas_password").into_bytes()).await;
    assert_eq!(h.err, 0);
    assert!(String::from_utf8(rspauth.unwrap()).unwrap().starts_with("rspauth="));
    assert_eq!(c.create_acl("/s", vec![Acl::new(perms::ALL, "sasl", "jaasuser")]).await, 0);
    assert!(c.get_data("/s", false).await.is_ok());
    let (_, body) = c.call(Request::WhoAmI).await;
    let Some(Response::WhoAmI(me)) = body else { panic!() };
    assert!(me
        .client_info
        .contains(&ClientInfo { auth_scheme: "sasl".into(), user: "jaasuser".into() }));
    let mut other = Client::connect(server.addr).await;
    assert_eq!(other.get_data("/s", false).await, Err(-102));
}

#[tokio::test]
async fn a_wrong_password_fails_with_a_null_token_and_a_close() {
    let (server, _dir) = start_sasl().await;
    let mut c = Client::connect(server.addr).await;
    let (_, challenge) = sasl(&mut c, vec![]).await;
    let challenge = String::from_utf8(challenge.unwrap()).unwrap();
    c.send(Request::Sasl(SaslToken {
        token: Some(digest_response(&challenge, "jaasuser", "wrong").into_bytes()),
    }))
    .await;
    let frame = c.next_raw().await.unwrap();
    // Exactly what Apache ZooKeeper sends: the header with AUTHFAILED and a null token.
    assert_eq!(
        &frame[4..],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x8d, 0xff, 0xff, 0xff, 0xff]
    );
    assert!(c.closed().await);
}
