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

/// A zoo.cfg file and, if given, a myid beside its data.
fn file_config(text: &str, myid: Option<&str>) -> Result<Config, ConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    if let Some(id) = myid {
        std::fs::write(data.join("myid"), id).unwrap();
    }
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(&cfg, text.replace("{data}", &data.display().to_string())).unwrap();
    Config::from_file(&cfg)
}

#[test]
fn a_zoo_cfg_without_a_data_dir_is_refused() {
    let error = file_config("tickTime=2000\n", None).unwrap_err();
    assert!(error.to_string().contains("dataDir is not set"), "{error}");
}

#[test]
fn standalone_takes_its_client_port_from_its_server_line() {
    let text = "dataDir={data}\nserver.1=localhost:2888:3888;2182\n";
    assert_eq!(file_config(text, Some("1")).unwrap().client_addr.port(), 2182);
    let conflicting = "dataDir={data}\nclientPort=2181\nserver.1=localhost:2888:3888;2182\n";
    assert!(file_config(conflicting, Some("1")).is_err());
}

#[test]
fn srvr_is_always_allowed() {
    let config = Config::from_text("4lw.commands.whitelist=ruok\n").unwrap();
    assert!(config.four_letter_allowed("srvr") && config.four_letter_allowed("ruok"));
    assert!(!config.four_letter_allowed("mntr"));
}
