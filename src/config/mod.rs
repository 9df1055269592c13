//! Settings: ZooKeeper's zoo.cfg read as-is (bare keys or `zookeeper.`-prefixed), with
//! ZooKeeper's defaults; keys corral does not use are reported once at start-up. The
//! ensemble's `server.N` lines and `myid` are read and checked in `ensemble`.

mod admin;
pub mod docker;
mod ensemble;
pub mod jvm;
pub mod providers;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use thiserror::Error;

use crate::node::conn::QueueLimits;
use crate::sasl::SaslUsers;
pub use admin::AdminConfig;
pub use ensemble::{Ensemble, HostPort, Member, PeerType};

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    /// `line` 0: a `-D` property of the JVM flags, not a line of the file.
    #[error("{at}: {message}", at = place(*line))]
    Invalid { line: usize, message: String },
    /// An ensemble that cannot form: no myid, this id missing from the lines, ...
    #[error("{0}")]
    Ensemble(String),
}

fn place(line: usize) -> String {
    match line {
        0 => "a -D property in SERVER_JVMFLAGS or JVMFLAGS".to_string(),
        line => format!("line {line}"),
    }
}

/// The server's settings, in ZooKeeper's terms.
#[derive(Debug, Clone)]
pub struct Config {
    pub tick_time_ms: u64,
    pub data_dir: PathBuf,
    pub data_log_dir: PathBuf,
    /// Without `clientPortAddress`: every address (as ZooKeeper binds) when read from a
    /// zoo.cfg, 127.0.0.1 for `corral` with no config.
    pub client_addr: SocketAddr,
    /// Per client IP; 0 is unlimited.
    pub max_client_cnxns: usize,
    /// All connections; 0 is unlimited.
    pub max_cnxns: usize,
    pub min_session_timeout_ms: i32,
    pub max_session_timeout_ms: i32,
    /// Four-letter words allowed on the client port (`*` expands to all).
    pub four_letter_whitelist: Vec<String>,
    pub extended_types_enabled: bool,
    /// `enforceQuota`: hard quota limits refuse writes.
    pub enforce_quota: bool,
    pub skip_acl: bool,
    /// `super:<base64 sha1>`: a digest auth matching it is the super user.
    pub super_digest: Option<String>,
    pub max_frame_bytes: usize,
    /// Requests a connection may have in flight before its socket stops being read.
    pub max_outstanding_per_connection: usize,
    /// `corral.clientQueueBytes`: what a connection may owe its client (replies and events
    /// not yet taken by its socket, plus the requests of its writes in flight) before its
    /// socket stops being read.
    pub client_queue_bytes: usize,
    /// `corral.clientQueueMaxBytes`: unsent replies and events past which a connection is
    /// closed (apply queues events and write replies without waiting for anyone).
    pub client_queue_max_bytes: usize,
    pub reconfig_enabled: bool,
    /// `digest.enabled`: whether `hash` reports the tree digest (ZooKeeper's default: true).
    pub digest_enabled: bool,
    /// SASL is enabled by `authProvider.N=...SASLAuthenticationProvider`.
    pub sasl_enabled: bool,
    pub container_check_interval: Duration,
    /// DIGEST-MD5 users from the JAAS file (`--jaas`); SASL fails without them.
    pub sasl_users: SaslUsers,
    /// `zookeeper.superUser`: a SASL user who is also the super user.
    pub super_user: Option<String>,
    pub server_id: u8,
    /// The most bytes the LMDB log may occupy (its map size); corral's own key,
    /// `corral.logMapSizeMB`. When it is full, a write fails as on a full disk.
    pub log_map_size: usize,
    /// Txns between snapshots (ZooKeeper's snapCount).
    pub snap_count: u64,
    /// Snapshots kept, with the log since the oldest of them (at least 3, as in ZooKeeper).
    pub snap_retain_count: usize,
    /// The `server.N` lines and whether they make an ensemble.
    pub ensemble: Ensemble,
    /// Ticks a member may take to connect to the leader and catch up (`initLimit`).
    pub init_limit: u32,
    /// Ticks a member may fall silent before the leader drops it (`syncLimit`).
    pub sync_limit: u32,
    /// `quorumListenOnAllIPs`: the quorum port listens on every address, not its line's host.
    pub quorum_listen_on_all_ips: bool,
    /// Where Prometheus's `/metrics` is served (ZooKeeper's Prometheus metrics provider).
    pub metrics_addr: Option<SocketAddr>,
    /// The AdminServer (`admin.*`).
    pub admin: AdminConfig,
    /// The config file's text as read at start (the AdminServer's `initial_configuration`).
    pub initial_text: String,
    /// The system properties ZooKeeper would have: zoo.cfg's keys it sets as `zookeeper.*`
    /// properties, and the `-D` ones (the AdminServer's `system_properties`).
    pub jvm_properties: BTreeMap<String, String>,
    /// Keys seen but not used by corral, for the start-up report.
    pub ignored_keys: Vec<String>,
    /// Keys that came from `-Dzookeeper.<key>` properties rather than the file.
    pub jvm_keys: Vec<String>,
}

/// `corral` with no config serves this machine only.
const NO_CONFIG_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// A zoo.cfg without `clientPortAddress` serves every address, as ZooKeeper does; the IPv6
/// wildcard also takes IPv4 clients (see `server::bind_client_port`).
const ZOO_CFG_ADDRESS: IpAddr = IpAddr::V6(Ipv6Addr::UNSPECIFIED);

impl Default for Config {
    fn default() -> Self {
        Config::from_pairs(&BTreeMap::new(), NO_CONFIG_ADDRESS).expect("defaults are valid")
    }
}

/// `corral` with no config keeps its AdminServer on this machine too.
fn admin_host(default_address: IpAddr) -> IpAddr {
    match default_address {
        NO_CONFIG_ADDRESS => NO_CONFIG_ADDRESS,
        _ => admin::DEFAULT_HOST,
    }
}

/// Keys that ZooKeeper knows and corral accepts without acting on them.
const ACCEPTED_KEYS: &[&str] = &[
    "electionAlg",
    "clientPortListenBacklog",
    "preAllocSize",
    "forceSync",
    "autopurge.purgeInterval",
    "globalOutstandingLimit",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "dynamicConfigFile",
    "audit.enable",
    "syncEnabled",
    "peerType",
    "znode.container.maxPerMinute",
    "znode.container.maxNeverUsedIntervalMs",
];

fn parse_lines(text: &str) -> Result<BTreeMap<String, (usize, String)>, ConfigError> {
    let mut pairs = BTreeMap::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(ConfigError::Invalid {
                line: index + 1,
                message: format!("no '=' in {line:?}"),
            });
        };
        let key = key.trim();
        let key = key.strip_prefix("zookeeper.").unwrap_or(key);
        pairs.insert(key.to_owned(), (index + 1, value.trim().to_owned()));
    }
    Ok(pairs)
}

struct Reader<'a> {
    pairs: &'a BTreeMap<String, (usize, String)>,
    used: Vec<&'a str>,
}

impl<'a> Reader<'a> {
    fn get(&mut self, key: &str) -> Option<(usize, &'a str)> {
        let (k, (line, value)) = self.pairs.get_key_value(key)?;
        self.used.push(k.as_str());
        Some((*line, value.as_str()))
    }

    fn parse<T: std::str::FromStr>(&mut self, key: &str, default: T) -> Result<T, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some((line, value)) => value.parse().map_err(|_| ConfigError::Invalid {
                line,
                message: format!("{key}={value} is not a valid value"),
            }),
        }
    }

    fn flag(&mut self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some((_, v)) => Ok(matches!(v.to_ascii_lowercase().as_str(), "true" | "yes")),
        }
    }
}

impl Config {
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        Config::from_file_with(path, &jvm::JvmFlags::default())
    }

    /// zoo.cfg with the `-D` properties of ZooKeeper's JVM flags (see `jvm`).
    pub fn from_file_with(path: &Path, flags: &jvm::JvmFlags) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let mut pairs = parse_lines(&text)?;
        if !pairs.contains_key("dataDir") {
            // ZooKeeper refuses a zoo.cfg without one, rather than guess where data goes.
            return Err(ConfigError::Invalid { line: 1, message: "dataDir is not set".into() });
        }
        let from_flags: Vec<(String, String)> = flags
            .config_keys(|key| pairs.contains_key(key))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let jvm_keys = from_flags.iter().map(|(k, _)| k.clone()).collect();
        pairs.extend(from_flags.into_iter().map(|(k, v)| (k, (0, v))));
        let mut config = Config::from_pairs(&pairs, ZOO_CFG_ADDRESS)?;
        config.jvm_keys = jvm_keys;
        config.initial_text = text;
        config.jvm_properties.extend(flags.properties.clone());
        let myid = read_myid(&config.data_dir);
        if config.ensemble.is_distributed() {
            config.server_id = ensemble::check_member(&config, myid?)?;
            ensemble::take_client_address(&mut config, &pairs)?;
        } else if let Ok(Some(id)) = myid {
            // Standalone, a myid names the server (session ids) and, as in ZooKeeper, picks
            // the `server.N` line whose `;` part gives the client port.
            config.server_id = id;
            if config.ensemble.members.contains_key(&u64::from(id)) {
                ensemble::take_client_address(&mut config, &pairs)?;
            }
        }
        Ok(config)
    }

    /// zoo.cfg text, read as `--config` reads a file.
    pub fn from_text(text: &str) -> Result<Config, ConfigError> {
        let mut config = Config::from_pairs(&parse_lines(text)?, ZOO_CFG_ADDRESS)?;
        config.initial_text = text.to_owned();
        Ok(config)
    }

    fn from_pairs(
        pairs: &BTreeMap<String, (usize, String)>,
        default_address: IpAddr,
    ) -> Result<Config, ConfigError> {
        let mut r = Reader { pairs, used: Vec::new() };
        let tick_time_ms: u64 = r.parse("tickTime", 3000)?;
        if tick_time_ms == 0 {
            let line = r.get("tickTime").map_or(0, |(line, _)| line);
            return Err(ConfigError::Invalid { line, message: "tickTime is not set".into() });
        }
        let data_dir: PathBuf = r.parse("dataDir", PathBuf::from("data"))?;
        let data_log_dir = r.parse("dataLogDir", data_dir.clone())?;
        let port: u16 = r.parse("clientPort", 2181)?;
        let ip: IpAddr = r.parse("clientPortAddress", default_address)?;
        let tick = tick_time_ms as i32;
        let min_session_timeout_ms = r.parse("minSessionTimeout", tick.saturating_mul(2))?;
        let max_session_timeout_ms = r.parse("maxSessionTimeout", tick.saturating_mul(20))?;
        let whitelist = r.get("4lw.commands.whitelist").map_or("srvr", |(_, v)| v);
        let sasl_enabled = pairs
            .iter()
            .filter(|(k, _)| k.starts_with("authProvider."))
            .any(|(_, (_, v))| v.contains("SASLAuthenticationProvider"));
        let mut config = Config {
            tick_time_ms,
            data_dir,
            data_log_dir,
            client_addr: SocketAddr::new(ip, port),
            max_client_cnxns: r.parse("maxClientCnxns", 60)?,
            max_cnxns: r.parse("maxCnxns", 0)?,
            min_session_timeout_ms,
            max_session_timeout_ms,
            four_letter_whitelist: whitelist.split(',').map(|s| s.trim().to_owned()).collect(),
            extended_types_enabled: r.flag("extendedTypesEnabled", false)?,
            enforce_quota: r.flag("enforceQuota", false)?,
            skip_acl: r.flag("skipACL", false)?,
            super_digest: r
                .get("DigestAuthenticationProvider.superDigest")
                .map(|(_, v)| v.to_owned()),
            max_frame_bytes: r.parse("jute.maxbuffer", jute::DEFAULT_MAX_FRAME_BYTES)?,
            max_outstanding_per_connection: r.parse("globalOutstandingLimit", 1000)?,
            client_queue_bytes: r.parse("corral.clientQueueBytes", 1 << 20)?,
            client_queue_max_bytes: 0,
            reconfig_enabled: r.flag("reconfigEnabled", false)?,
            digest_enabled: r.flag("digest.enabled", true)?,
            sasl_enabled,
            container_check_interval: Duration::from_millis(
                r.parse("znode.container.checkIntervalMs", 60_000)?,
            ),
            sasl_users: SaslUsers::default(),
            super_user: r.get("superUser").map(|(_, v)| v.to_owned()),
            server_id: 1,
            log_map_size: r.parse::<usize>("corral.logMapSizeMB", 64 << 10)?.max(1) << 20,
            snap_count: r.parse("snapCount", 100_000)?,
            snap_retain_count: r.parse::<usize>("autopurge.snapRetainCount", 3)?.max(3),
            ensemble: Ensemble {
                members: ensemble::parse_members(pairs, r.flag("multiAddress.enabled", false)?)?,
                standalone_enabled: r.flag("standaloneEnabled", true)?,
            },
            init_limit: r.parse("initLimit", 0)?,
            sync_limit: r.parse("syncLimit", 0)?,
            quorum_listen_on_all_ips: r.flag("quorumListenOnAllIPs", false)?,
            metrics_addr: providers::metrics_address(&mut r)?,
            admin: admin::admin(&mut r, admin_host(default_address))?,
            initial_text: String::new(),
            jvm_properties: jvm::file_keys_as_properties(pairs),
            ignored_keys: Vec::new(),
            jvm_keys: Vec::new(),
        };
        config.client_queue_max_bytes = client_queue_max_bytes(&mut r, &config)?;
        ensemble::check_shape(&config, pairs)?;
        let used = r.used;
        config.ignored_keys = pairs
            .keys()
            .filter(|k| !used.contains(&k.as_str()))
            .filter(|k| !k.starts_with("authProvider.") && !k.starts_with("server."))
            .cloned()
            .collect();
        Ok(config)
    }

    /// Keys in the file that ZooKeeper does not define (as far as corral knows).
    pub fn unknown_keys(&self) -> Vec<&str> {
        self.unknown(false)
    }

    /// `-Dzookeeper.<key>` properties whose key corral does not know.
    pub fn unknown_jvm_keys(&self) -> Vec<&str> {
        self.unknown(true)
    }

    fn unknown(&self, from_flags: bool) -> Vec<&str> {
        self.ignored_keys
            .iter()
            .map(String::as_str)
            .filter(|k| !ACCEPTED_KEYS.contains(k) && !k.starts_with("admin."))
            .filter(|k| self.jvm_keys.iter().any(|j| j == k) == from_flags)
            .collect()
    }

    pub fn tick(&self) -> Duration {
        Duration::from_millis(self.tick_time_ms)
    }

    /// ZooKeeper's negotiation: the requested timeout clamped to [min, max].
    pub fn negotiate_timeout(&self, requested_ms: i32) -> i32 {
        requested_ms.max(self.min_session_timeout_ms).min(self.max_session_timeout_ms)
    }

    pub fn client_queue_limits(&self) -> QueueLimits {
        QueueLimits { soft: self.client_queue_bytes, hard: self.client_queue_max_bytes }
    }

    /// `srvr` is always allowed, as in ZooKeeper (its scripts depend on it).
    pub fn four_letter_allowed(&self, command: &str) -> bool {
        command == "srvr" || self.four_letter_whitelist.iter().any(|w| w == "*" || w == command)
    }
}

/// The hard bound must leave room for the soft bound plus one largest reply (a frame's worth),
/// or a client reading normally could be closed for one large getData. Unset, it is 16 MiB or
/// that, whichever is more.
fn client_queue_max_bytes(r: &mut Reader<'_>, config: &Config) -> Result<usize, ConfigError> {
    let needed = config.client_queue_bytes.saturating_add(config.max_frame_bytes);
    let Some((line, _)) = r.get("corral.clientQueueMaxBytes") else {
        return Ok(needed.max(16 << 20));
    };
    let max = r.parse("corral.clientQueueMaxBytes", 0usize)?;
    if max >= needed {
        return Ok(max);
    }
    Err(ConfigError::Invalid {
        line,
        message: format!(
            "corral.clientQueueMaxBytes={max} must be at least corral.clientQueueBytes plus \
             jute.maxbuffer ({needed})"
        ),
    })
}

/// `<dataDir>/myid`: absent is `None`; present, it must hold an id that fits a session id's
/// top byte, as ZooKeeper's session ids need.
fn read_myid(data_dir: &Path) -> Result<Option<u8>, ConfigError> {
    let path = data_dir.join("myid");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Read { path, source }),
    };
    let first = text.lines().next().unwrap_or("").trim();
    first.parse().map(Some).map_err(|_| {
        ConfigError::Ensemble(format!(
            "{}: {first:?} is not a server id from 0 to 255",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests;
