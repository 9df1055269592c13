//! Tests of zoo.cfg reading: ZooKeeper's defaults, a sample file, and errors naming lines.

use super::*;

#[test]
fn defaults_follow_zookeeper() {
    let c = Config::default();
    assert_eq!(c.tick_time_ms, 3000);
    assert_eq!((c.min_session_timeout_ms, c.max_session_timeout_ms), (6000, 60000));
    assert_eq!(c.max_client_cnxns, 60);
    assert!(c.four_letter_allowed("srvr"));
    assert!(!c.four_letter_allowed("ruok"));
    assert_eq!(c.client_addr.port(), 2181);
}

#[test]
fn reads_a_sample_zoo_cfg() {
    let text = "# sample\ntickTime=2000\ninitLimit=10\ndataDir=/tmp/zk\nclientPort=2182\n\
                4lw.commands.whitelist=*\nzookeeper.extendedTypesEnabled=true\nfoo.bar=1\n\
                DigestAuthenticationProvider.superDigest=super:abc\n";
    let c = Config::from_text(text).unwrap();
    assert_eq!((c.min_session_timeout_ms, c.max_session_timeout_ms), (4000, 40000));
    assert_eq!(c.data_dir, PathBuf::from("/tmp/zk"));
    assert!(c.extended_types_enabled && c.four_letter_allowed("mntr"));
    assert_eq!(c.super_digest.as_deref(), Some("super:abc"));
    assert_eq!(c.unknown_keys(), vec!["foo.bar"]);
    assert_eq!(c.negotiate_timeout(100), 4000);
    assert_eq!(c.negotiate_timeout(1_000_000), 40000);
}

#[test]
fn a_bad_value_names_its_line() {
    let err = Config::from_text("tickTime=abc").unwrap_err();
    assert!(err.to_string().starts_with("line 1"), "{err}");
    let err = Config::from_text("dataDir=d\ntickTime=0").unwrap_err();
    assert_eq!(err.to_string(), "line 2: tickTime is not set");
}
