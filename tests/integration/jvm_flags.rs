//! ZooKeeper's JVM settings as operators keep them: `-D` properties in SERVER_JVMFLAGS and
//! JVMFLAGS (the environment, or java.env beside zoo.cfg), applied with ZooKeeper's
//! precedence, and what corral does not use reported once.

use crate::common;

use common::*;

fn config_in(dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let cfg = dir.join("zoo.cfg");
    let text = format!(
        "tickTime=2000\ndataDir={}\nclientPort=0\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n{extra}",
        dir.join("data").display()
    );
    std::fs::write(&cfg, text).unwrap();
    cfg
}

fn stop(mut child: std::process::Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn java_env_and_the_environment_set_properties_the_last_one_winning() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), "");
    std::fs::write(
        dir.path().join("java.env"),
        "export SERVER_JVMFLAGS=\"-Xmx512m -Dzookeeper.4lw.commands.whitelist=ruok\"\n",
    )
    .unwrap();
    let flags = "-Dzookeeper.4lw.commands.whitelist=ruok,mntr -Dzookeeper.no.such.key=1 \
                 -Dreadonlymode.enabled=true";
    let (child, addr, log) = spawn_binary_with(&cfg, &[("JVMFLAGS", flags)]);
    // JVMFLAGS comes after SERVER_JVMFLAGS on ZooKeeper's java command line, so it wins.
    assert!(four_letter(addr, "mntr").await.starts_with("zk_version\t"));
    assert_eq!(
        four_letter(addr, "conf").await,
        "conf is not executed because it is not in the whitelist.\n"
    );
    let once = |needle: &str| log.iter().filter(|l| l.contains(needle)).count() == 1;
    assert!(once("zookeeper.no.such.key"), "unknown property reported once: {log:?}");
    assert!(once("readonlymode.enabled"), "unused property reported once: {log:?}");
    assert!(once("-Xmx512m"), "JVM options reported once: {log:?}");
    stop(child);
}

#[tokio::test]
async fn zoo_cfg_wins_over_a_property_of_the_same_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), "4lw.commands.whitelist=ruok\n");
    let flags = "-Dzookeeper.4lw.commands.whitelist=* -Dzookeeper.tickTime=1";
    let (child, addr, log) = spawn_binary_with(&cfg, &[("SERVER_JVMFLAGS", flags)]);
    assert_eq!(four_letter(addr, "ruok").await, "imok");
    assert!(four_letter(addr, "mntr").await.contains("not in the whitelist"));
    // tickTime is read from zoo.cfg only, in ZooKeeper as here.
    assert!(log.iter().any(|l| l.contains("zookeeper.tickTime")), "{log:?}");
    stop(child);
}

#[tokio::test]
async fn a_bad_property_value_is_refused_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config_in(dir.path(), "");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("--config")
        .arg(&cfg)
        .env("SERVER_JVMFLAGS", "-Dzookeeper.snapCount=many")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("-D property") && stderr.contains("snapCount=many"), "{stderr}");
}
