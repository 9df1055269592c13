//! The official zookeeper image's entrypoint, for corral's image (which has no shell): a
//! zoo.cfg written from the `ZOO_*` environment when none is mounted, and `myid` from
//! `ZOO_MY_ID` when the data directory has none. The lines, their order and defaults are the
//! entrypoint's; a mounted or persisted zoo.cfg or myid wins over the environment, as there.

use std::io;
use std::path::{Path, PathBuf};

/// Where the image keeps its configuration and data (the official image's defaults).
const CONF_DIR: (&str, &str) = ("ZOO_CONF_DIR", "/conf");
const DATA_DIR: (&str, &str) = ("ZOO_DATA_DIR", "/data");
const DATA_LOG_DIR: (&str, &str) = ("ZOO_DATA_LOG_DIR", "/datalog");
const LOG_DIR: (&str, &str) = ("ZOO_LOG_DIR", "/logs");

/// The image's `zookeeper` user and group.
const ZOOKEEPER_ID: u32 = 1000;

/// Settings written as `key=value` lines, in the entrypoint's order, with its defaults.
const SETTINGS: &[(&str, &str, &str)] = &[
    ("tickTime", "ZOO_TICK_TIME", "2000"),
    ("initLimit", "ZOO_INIT_LIMIT", "5"),
    ("syncLimit", "ZOO_SYNC_LIMIT", "2"),
    ("autopurge.snapRetainCount", "ZOO_AUTOPURGE_SNAPRETAINCOUNT", "3"),
    ("autopurge.purgeInterval", "ZOO_AUTOPURGE_PURGEINTERVAL", "0"),
    ("maxClientCnxns", "ZOO_MAX_CLIENT_CNXNS", "60"),
    ("standaloneEnabled", "ZOO_STANDALONE_ENABLED", "true"),
    ("admin.enableServer", "ZOO_ADMINSERVER_ENABLED", "true"),
];

const DEFAULT_SERVERS: &str = "server.1=localhost:2888:3888;2181";

/// The official entrypoint's first step: started as root, give the data, data log and log
/// directories to the zookeeper user (uid and gid 1000), then become that user, so that a
/// host directory mounted there works and no file is left that the user cannot open.
pub fn become_zookeeper(env: impl Fn(&str) -> Option<String>) -> io::Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(());
    }
    for (name, default) in [DATA_DIR, DATA_LOG_DIR, LOG_DIR] {
        let dir = PathBuf::from(env(name).unwrap_or_else(|| default.to_owned()));
        give_to_zookeeper(&dir).map_err(|e| at(&dir, e))?;
    }
    // SAFETY: plain system calls on this process; glibc applies them to every thread.
    let dropped = unsafe {
        libc::setgroups(0, std::ptr::null()) == 0
            && libc::setgid(ZOOKEEPER_ID) == 0
            && libc::setuid(ZOOKEEPER_ID) == 0
    };
    match dropped {
        true => Ok(()),
        false => Err(io::Error::last_os_error()),
    }
}

/// `chown -R zookeeper:zookeeper` of what is not the user's already; a missing path is made.
fn give_to_zookeeper(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let meta = match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            std::fs::create_dir_all(path)?;
            std::fs::symlink_metadata(path)?
        }
        other => other?,
    };
    if meta.uid() != ZOOKEEPER_ID || meta.gid() != ZOOKEEPER_ID {
        std::os::unix::fs::lchown(path, Some(ZOOKEEPER_ID), Some(ZOOKEEPER_ID))?;
    }
    if meta.is_dir() {
        for entry in std::fs::read_dir(path)? {
            give_to_zookeeper(&entry?.path())?;
        }
    }
    Ok(())
}

/// Writes what is missing and returns the zoo.cfg to run with.
pub fn prepare(env: impl Fn(&str) -> Option<String>) -> io::Result<PathBuf> {
    let var = |(name, default): (&str, &str)| env(name).unwrap_or_else(|| default.to_owned());
    let conf = PathBuf::from(var(CONF_DIR));
    let data = PathBuf::from(var(DATA_DIR));
    let cfg = conf.join("zoo.cfg");
    if !cfg.exists() {
        let text = zoo_cfg(&env, &data, Path::new(&var(DATA_LOG_DIR)));
        std::fs::create_dir_all(&conf).map_err(|e| at(&conf, e))?;
        std::fs::write(&cfg, text).map_err(|e| at(&cfg, e))?;
        tracing::info!(path = %cfg.display(), "wrote zoo.cfg from the ZOO_* environment");
    }
    let myid = data.join("myid");
    if !myid.exists() {
        let id = env("ZOO_MY_ID").unwrap_or_else(|| "1".into());
        std::fs::create_dir_all(&data).map_err(|e| at(&data, e))?;
        std::fs::write(&myid, format!("{id}\n")).map_err(|e| at(&myid, e))?;
    }
    Ok(cfg)
}

/// The error, with the file or directory it is about (the container's user may not own it).
fn at(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// The entrypoint's zoo.cfg: the directories, the settings, each word of `ZOO_SERVERS` as a
/// line, the 4lw whitelist if set, each word of `ZOO_CFG_EXTRA` as a line.
fn zoo_cfg(env: &impl Fn(&str) -> Option<String>, data: &Path, data_log: &Path) -> String {
    let mut lines =
        vec![format!("dataDir={}", data.display()), format!("dataLogDir={}", data_log.display())];
    for (key, name, default) in SETTINGS {
        lines.push(format!("{key}={}", env(name).unwrap_or_else(|| (*default).to_owned())));
    }
    let servers = env("ZOO_SERVERS").unwrap_or_else(|| DEFAULT_SERVERS.to_owned());
    lines.extend(servers.split_whitespace().map(str::to_owned));
    if let Some(whitelist) = env("ZOO_4LW_COMMANDS_WHITELIST") {
        lines.push(format!("4lw.commands.whitelist={whitelist}"));
    }
    if let Some(extra) = env("ZOO_CFG_EXTRA") {
        lines.extend(extra.split_whitespace().map(str::to_owned));
    }
    lines.iter().map(|line| format!("{line}\n")).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn writes_the_entrypoints_zoo_cfg_and_myid_only_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let at = |p: &str| dir.path().join(p).display().to_string();
        let env = env_of(&[
            ("ZOO_CONF_DIR", at("conf")),
            ("ZOO_DATA_DIR", at("data")),
            ("ZOO_DATA_LOG_DIR", at("datalog")),
            ("ZOO_MY_ID", "2".into()),
            ("ZOO_SERVERS", "server.1=zoo1:2888:3888;2181 server.2=zoo2:2888:3888;2181".into()),
            ("ZOO_CFG_EXTRA", "metricsProvider.httpPort=7070 snapCount=10".into()),
        ]);
        let cfg = prepare(&env).unwrap();
        let text = std::fs::read_to_string(&cfg).unwrap();
        let expected = format!(
            "dataDir={}\ndataLogDir={}\ntickTime=2000\ninitLimit=5\nsyncLimit=2\n\
             autopurge.snapRetainCount=3\nautopurge.purgeInterval=0\nmaxClientCnxns=60\n\
             standaloneEnabled=true\nadmin.enableServer=true\n\
             server.1=zoo1:2888:3888;2181\nserver.2=zoo2:2888:3888;2181\n\
             metricsProvider.httpPort=7070\nsnapCount=10\n",
            at("data"),
            at("datalog")
        );
        assert_eq!(text, expected);
        assert_eq!(std::fs::read_to_string(dir.path().join("data/myid")).unwrap(), "2\n");
        // A zoo.cfg or myid already there (mounted, or from an earlier start) is kept.
        std::fs::write(&cfg, "tickTime=1000\n").unwrap();
        std::fs::write(dir.path().join("data/myid"), "7\n").unwrap();
        prepare(&env).unwrap();
        assert_eq!(std::fs::read_to_string(&cfg).unwrap(), "tickTime=1000\n");
        assert_eq!(std::fs::read_to_string(dir.path().join("data/myid")).unwrap(), "7\n");
    }

    #[test]
    fn the_data_directories_are_given_to_the_zookeeper_user() {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return; // only root can give files away; CI runs as root
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("data/version-2")).unwrap();
        std::fs::write(dir.path().join("data/version-2/log"), b"x").unwrap();
        give_to_zookeeper(&dir.path().join("data")).unwrap();
        give_to_zookeeper(&dir.path().join("logs")).unwrap();
        for path in ["data", "data/version-2", "data/version-2/log", "logs"] {
            let meta = std::fs::metadata(dir.path().join(path)).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (ZOOKEEPER_ID, ZOOKEEPER_ID), "{path}");
        }
    }

    #[test]
    fn with_no_environment_a_single_standalone_server() {
        let text = zoo_cfg(&|_: &str| None, Path::new("/data"), Path::new("/datalog"));
        assert!(text.contains("server.1=localhost:2888:3888;2181\n"), "{text}");
        assert!(!text.contains("4lw.commands.whitelist"), "{text}");
        let config = crate::config::Config::from_text(&text).unwrap();
        assert!(!config.ensemble.is_distributed());
        assert_eq!(config.client_addr.port(), 2181);
    }
}
