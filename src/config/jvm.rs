//! ZooKeeper's JVM settings: the `-D` system properties operators keep in `SERVER_JVMFLAGS`
//! and `JVMFLAGS` (in the environment, or set by `java.env` beside zoo.cfg, which ZooKeeper's
//! scripts source). The scripts pass `$SERVER_JVMFLAGS $JVMFLAGS`, and the last `-D` of a
//! name wins, as in Java. A `zookeeper.<key>` property counts as zoo.cfg's `<key>` unless
//! zoo.cfg sets that key itself (ZooKeeper copies zoo.cfg's keys over the properties), and
//! never for the keys ZooKeeper parses from zoo.cfg alone (tickTime, dataDir, ...).

use std::collections::BTreeMap;
use std::path::Path;

/// zoo.cfg keys ZooKeeper reads from the file only: a `-Dzookeeper.` property of the same
/// name has no effect there, nor here.
const FILE_ONLY: &[&str] = &[
    "dataDir",
    "dataLogDir",
    "clientPort",
    "clientPortAddress",
    "secureClientPort",
    "secureClientPortAddress",
    "observerMasterPort",
    "clientPortListenBacklog",
    "tickTime",
    "maxClientCnxns",
    "minSessionTimeout",
    "maxSessionTimeout",
    "initLimit",
    "syncLimit",
    "connectToLearnerMasterLimit",
    "electionAlg",
    "quorumListenOnAllIPs",
    "peerType",
    "syncEnabled",
    "dynamicConfigFile",
    "standaloneEnabled",
    "reconfigEnabled",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
];

/// zoo.cfg keys ZooKeeper consumes besides `FILE_ONLY`. Every other key of the file it also
/// sets as the system property `zookeeper.<key>` (the AdminServer's `system_properties`
/// lists them).
const CONSUMED: &[&str] = &[
    "sslQuorum",
    "portUnification",
    "sslQuorumReloadCertFiles",
    "multiAddress.enabled",
    "multiAddress.reachabilityCheckEnabled",
    "multiAddress.reachabilityCheckTimeoutMs",
    "oraclePath",
    "quorum.cnxn.threads.size",
    "quorum.auth.enableSasl",
    "quorum.auth.serverRequireSasl",
    "quorum.auth.learnerRequireSasl",
    "quorum.auth.learner.saslLoginContext",
    "quorum.auth.server.saslLoginContext",
    "quorum.auth.kerberos.servicePrincipal",
];

/// The system properties ZooKeeper sets from zoo.cfg's lines (`line` > 0; 0 marks a key
/// that came from a `-D` property, which is a property already).
pub(super) fn file_keys_as_properties(
    pairs: &BTreeMap<String, (usize, String)>,
) -> BTreeMap<String, String> {
    pairs
        .iter()
        .filter(|(key, (line, _))| *line > 0 && !consumed(key))
        .map(|(key, (_, value))| (format!("zookeeper.{key}"), value.clone()))
        .collect()
}

fn consumed(key: &str) -> bool {
    FILE_ONLY.contains(&key) || CONSUMED.contains(&key) || key.starts_with("metricsProvider.")
}

/// Properties without the `zookeeper.` prefix that ZooKeeper reads, and corral with it.
const PLAIN: &[&str] = &[
    "jute.maxbuffer",
    "znode.container.checkIntervalMs",
    "znode.container.maxPerMinute",
    "znode.container.maxNeverUsedIntervalMs",
];

/// The JAAS file property; corral reads its `Server` section as `--jaas` does.
pub const JAAS_PROPERTY: &str = "java.security.auth.login.config";

/// What the JVM flags hold for corral.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JvmFlags {
    /// Every `-Dname=value`, the last of each name.
    pub properties: BTreeMap<String, String>,
    /// Everything else (`-Xmx2g`, `-XX:...`): JVM tuning, meaningless to corral.
    pub options: Vec<String>,
}

impl JvmFlags {
    /// From the process environment, then `java.env` in `conf_dir` if there is one.
    pub fn from_environment(conf_dir: Option<&Path>) -> JvmFlags {
        let mut vars: BTreeMap<String, String> = ["SERVER_JVMFLAGS", "JVMFLAGS"]
            .iter()
            .filter_map(|name| Some((name.to_string(), std::env::var(name).ok()?)))
            .collect();
        if let Some(text) = conf_dir.and_then(|d| std::fs::read_to_string(d.join("java.env")).ok())
        {
            source_java_env(&text, &mut vars);
        }
        let server = vars.get("SERVER_JVMFLAGS").map_or("", String::as_str);
        let client = vars.get("JVMFLAGS").map_or("", String::as_str);
        JvmFlags::parse(&format!("{server} {client}"))
    }

    /// Splits on whitespace, as the scripts' unquoted `$JVMFLAGS` is split.
    pub fn parse(flags: &str) -> JvmFlags {
        let mut parsed = JvmFlags::default();
        for flag in flags.split_whitespace() {
            match flag.strip_prefix("-D") {
                Some(property) => {
                    let (name, value) = property.split_once('=').unwrap_or((property, ""));
                    parsed.properties.insert(name.to_string(), value.to_string());
                }
                None => parsed.options.push(flag.to_string()),
            }
        }
        parsed
    }

    /// The zoo.cfg keys these properties set, for keys zoo.cfg does not set itself.
    pub fn config_keys<'a>(
        &'a self,
        file_has: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.properties.iter().filter_map(move |(name, value)| {
            config_key(name).filter(|key| !file_has(key)).map(|key| (key, value.as_str()))
        })
    }

    /// Properties corral does not take: not ZooKeeper's (as far as corral knows), or read
    /// by ZooKeeper from zoo.cfg only. Reported once at start. (`zookeeper.<key>` properties
    /// it does take but does not use are reported with zoo.cfg's unknown keys.)
    pub fn unused_properties(&self) -> impl Iterator<Item = &str> {
        let taken = |name: &str| name == JAAS_PROPERTY || config_key(name).is_some();
        self.properties.keys().map(String::as_str).filter(move |name| !taken(name))
    }
}

/// The zoo.cfg key a property stands for, if ZooKeeper reads it as one.
fn config_key(name: &str) -> Option<&str> {
    match name.strip_prefix("zookeeper.") {
        Some(key) => (!FILE_ONLY.contains(&key)).then_some(key),
        None => PLAIN.contains(&name).then_some(name),
    }
}

/// The assignments of `SERVER_JVMFLAGS` and `JVMFLAGS` in a `java.env` (a shell fragment),
/// with `$NAME` and `${NAME}` expanded from what is set so far. Anything else is skipped.
fn source_java_env(text: &str, vars: &mut BTreeMap<String, String>) {
    for line in text.lines() {
        let line = line.trim();
        let line = line.strip_prefix("export ").unwrap_or(line).trim();
        let Some((name, value)) = line.split_once('=') else { continue };
        if name != "SERVER_JVMFLAGS" && name != "JVMFLAGS" {
            continue;
        }
        let value = unquote(value.trim());
        let expanded = expand(&value, vars);
        vars.insert(name.to_string(), expanded);
    }
}

fn unquote(value: &str) -> String {
    let quoted = |q: char| value.len() >= 2 && value.starts_with(q) && value.ends_with(q);
    if quoted('"') || quoted('\'') {
        value[1..value.len() - 1].to_string()
    } else {
        value.to_string()
    }
}

fn expand(value: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = value.to_string();
    for (name, set) in vars {
        out = out.replace(&format!("${{{name}}}"), set).replace(&format!("${name}"), set);
    }
    // A variable set nowhere expands to nothing, as in the shell.
    for name in ["SERVER_JVMFLAGS", "JVMFLAGS"] {
        out = out.replace(&format!("${{{name}}}"), "").replace(&format!("${name}"), "");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_property_of_a_name_wins_and_options_are_kept_apart() {
        let flags = JvmFlags::parse("-Xmx2g -Dzookeeper.skipACL=no -Dzookeeper.skipACL=yes -Dx");
        assert_eq!(flags.properties["zookeeper.skipACL"], "yes");
        assert_eq!(flags.properties["x"], "");
        assert_eq!(flags.options, vec!["-Xmx2g"]);
    }

    #[test]
    fn zoo_cfg_wins_and_file_only_keys_are_not_taken() {
        let flags = JvmFlags::parse(
            "-Dzookeeper.skipACL=yes -Dzookeeper.enforceQuota=true -Dzookeeper.tickTime=1 \
             -Djute.maxbuffer=1000 -Dreadonlymode.enabled=true",
        );
        let keys: Vec<_> = flags.config_keys(|k| k == "enforceQuota").collect();
        assert_eq!(keys, vec![("jute.maxbuffer", "1000"), ("skipACL", "yes")]);
        let unused: Vec<_> = flags.unused_properties().collect();
        assert_eq!(unused, vec!["readonlymode.enabled", "zookeeper.tickTime"]);
    }

    #[test]
    fn the_super_digest_is_taken_from_its_system_property() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("zoo.cfg");
        let text = format!("tickTime=2000\nenforceQuota=false\ndataDir={}\n", dir.path().display());
        std::fs::write(&cfg, text).unwrap();
        let flags = JvmFlags::parse(
            "-Dzookeeper.DigestAuthenticationProvider.superDigest=super:abc= \
             -Dzookeeper.enforceQuota=true -Djute.maxbuffer=4096",
        );
        let config = crate::config::Config::from_file_with(&cfg, &flags).unwrap();
        assert_eq!(config.super_digest.as_deref(), Some("super:abc="));
        assert!(!config.enforce_quota, "zoo.cfg's own key wins");
        assert_eq!(config.max_frame_bytes, 4096);
        assert!(config.unknown_jvm_keys().is_empty() && config.unknown_keys().is_empty());
    }

    #[test]
    fn java_env_assignments_build_on_each_other() {
        let mut vars = BTreeMap::from([("JVMFLAGS".to_string(), "-Da=1".to_string())]);
        source_java_env(
            "# comment\nexport SERVER_JVMFLAGS=\"-Xmx1g -Dzookeeper.superUser=admin\"\n\
             JVMFLAGS=\"$JVMFLAGS -Db=2\"\nOTHER=x\n",
            &mut vars,
        );
        assert_eq!(vars["SERVER_JVMFLAGS"], "-Xmx1g -Dzookeeper.superUser=admin");
        assert_eq!(vars["JVMFLAGS"], "-Da=1 -Db=2");
        assert!(!vars.contains_key("OTHER"));
    }
}
