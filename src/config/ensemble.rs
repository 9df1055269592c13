//! The ensemble a zoo.cfg describes: its `server.N` lines in every form ZooKeeper 3.9 accepts
//! (`host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort]`, IPv6 in
//! brackets, `|`-separated addresses when multiAddress is enabled), checked before anything
//! binds so that a config that cannot work is refused with the line that is wrong.

use std::collections::BTreeMap;
use std::fmt;

use super::{Config, ConfigError};

/// Whether a member votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerType {
    Participant,
    Observer,
}

/// A host and port as the config wrote them; the host is not resolved here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// One `server.N` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    /// Where its peers reach it: the quorum port of its first address.
    pub quorum: HostPort,
    pub election_port: u16,
    /// More addresses of a multi-address line, written back in `/zookeeper/config`.
    pub more_addresses: Vec<(HostPort, u16)>,
    pub peer_type: PeerType,
    /// The `;[host:]port` part, if the line has one (a bare port means every address).
    pub client: Option<HostPort>,
    /// Its line in the file, for errors.
    pub line: usize,
}

impl Member {
    /// ZooKeeper's text form of the line's value, as `/zookeeper/config` and `conf` show it.
    pub fn config_text(&self) -> String {
        let mut addresses: Vec<String> = std::iter::once((&self.quorum, self.election_port))
            .chain(self.more_addresses.iter().map(|(q, e)| (q, *e)))
            .map(|(q, e)| format!("{q}:{e}"))
            .collect();
        addresses.sort();
        let role = match self.peer_type {
            PeerType::Participant => "participant",
            PeerType::Observer => "observer",
        };
        let mut text = format!("{}:{role}", addresses.join("|"));
        if let Some(client) = &self.client {
            text.push_str(&format!(";{client}"));
        }
        text
    }
}

/// Every member of the ensemble, by id, and the keys that decide whether it is one.
#[derive(Debug, Clone, Default)]
pub struct Ensemble {
    pub members: BTreeMap<u64, Member>,
    /// `standaloneEnabled` (default true): one participant then runs standalone.
    pub standalone_enabled: bool,
}

impl Ensemble {
    pub fn voters(&self) -> impl Iterator<Item = &Member> {
        self.members.values().filter(|m| m.peer_type == PeerType::Participant)
    }

    /// The dynamic config text, as `/zookeeper/config` holds it: a `server.N=` line per member
    /// and the config version (0 for a static ensemble), without a final newline.
    pub fn config_text(&self) -> String {
        let lines = self.members.values().map(|m| format!("server.{}={}\n", m.id, m.config_text()));
        lines.collect::<String>() + "version=0"
    }

    /// ZooKeeper's rule: an ensemble when standalone is disabled or two or more participate.
    pub fn is_distributed(&self) -> bool {
        !self.standalone_enabled || self.voters().count() >= 2
    }
}

fn invalid(line: usize, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid { line, message: message.into() }
}

/// Parses every `server.N` key of the file. `multi_address`: whether `|` is allowed.
pub fn parse_members(
    pairs: &BTreeMap<String, (usize, String)>,
    multi_address: bool,
) -> Result<BTreeMap<u64, Member>, ConfigError> {
    let mut members: BTreeMap<u64, Member> = BTreeMap::new();
    for (key, (line, value)) in pairs.iter().filter(|(k, _)| k.starts_with("server.")) {
        let member = parse_member(key, value, *line, multi_address)?;
        if let Some(other) = members.get(&member.id) {
            return Err(invalid(
                *line,
                format!("server id {} is also given on line {}", member.id, other.line),
            ));
        }
        members.insert(member.id, member);
    }
    check_addresses_unique(&members)?;
    Ok(members)
}

fn parse_member(
    key: &str,
    value: &str,
    line: usize,
    multi_address: bool,
) -> Result<Member, ConfigError> {
    let id_text = &key["server.".len()..];
    let id: u64 = id_text
        .parse()
        .map_err(|_| invalid(line, format!("{key}: {id_text:?} is not a server id")))?;
    if id > 255 {
        // It is the top byte of the session ids the server hands out, and myid is one byte.
        return Err(invalid(line, format!("{key}: server ids go from 0 to 255")));
    }
    let (addresses, client) = match value.split_once(';') {
        Some((addresses, client)) => (addresses, Some(client)),
        None => (value, None),
    };
    if client.is_some_and(|c| c.contains(';')) {
        return Err(invalid(line, format!("{key}={value}: more than one ';'")));
    }
    let parts: Vec<&str> = addresses.split('|').collect();
    if parts.len() > 1 && !multi_address {
        return Err(invalid(
            line,
            format!("{key}={value}: several addresses need multiAddress.enabled=true"),
        ));
    }
    let parsed = parts
        .iter()
        .map(|part| parse_address(part.trim()))
        .collect::<Result<Vec<_>, String>>()
        .map_err(|why| invalid(line, format!("{key}={value}: {why}")))?;
    let peer_type = parsed[0].2;
    if parsed.iter().any(|(_, _, t)| *t != peer_type) {
        return Err(invalid(line, format!("{key}={value}: addresses with different roles")));
    }
    let client = client
        .map(|c| parse_client(c.trim()))
        .transpose()
        .map_err(|why| invalid(line, format!("{key}={value}: {why}")))?;
    let mut addresses = parsed.into_iter().map(|(q, e, _)| (q, e));
    let (quorum, election_port) = addresses.next().expect("split yields one part at least");
    Ok(Member {
        id,
        quorum,
        election_port,
        more_addresses: addresses.collect(),
        peer_type,
        client,
        line,
    })
}

/// Splits `host:rest` where the host may be a bracketed IPv6 address.
fn split_host(text: &str) -> Result<(String, &str), String> {
    if let Some(inner) = text.strip_prefix('[') {
        let (host, rest) = inner.split_once(']').ok_or("a '[' without its ']'")?;
        let rest = rest.strip_prefix(':').ok_or("no port after ']'")?;
        return Ok((host.to_owned(), rest));
    }
    let (host, rest) = text.split_once(':').ok_or("no port")?;
    Ok((host.to_owned(), rest))
}

fn parse_port(text: &str) -> Result<u16, String> {
    text.trim().parse().map_err(|_| format!("{text:?} is not a port"))
}

/// `host:quorumPort:electionPort[:participant|:observer]`.
fn parse_address(text: &str) -> Result<(HostPort, u16, PeerType), String> {
    let (host, rest) = split_host(text)?;
    let fields: Vec<&str> = rest.split(':').collect();
    if !(2..=3).contains(&fields.len()) {
        return Err(format!("{text:?} is not host:quorumPort:electionPort[:role]"));
    }
    if host.is_empty() {
        return Err(format!("{text:?} has no host"));
    }
    let quorum = HostPort { host, port: parse_port(fields[0])? };
    let election = parse_port(fields[1])?;
    if quorum.port == election {
        return Err("the quorum and election ports must differ".into());
    }
    let peer_type = match fields.get(2).map(|r| r.to_ascii_lowercase()) {
        None => PeerType::Participant,
        Some(r) if r == "participant" => PeerType::Participant,
        Some(r) if r == "observer" => PeerType::Observer,
        Some(r) => return Err(format!("unrecognised peer type {r:?}")),
    };
    Ok((quorum, election, peer_type))
}

/// `port` or `host:port` after the `;`; a bare port listens on every address.
fn parse_client(text: &str) -> Result<HostPort, String> {
    if !text.contains(':') {
        return Ok(HostPort { host: "0.0.0.0".into(), port: parse_port(text)? });
    }
    let (host, port) = split_host(text)?;
    Ok(HostPort { host, port: parse_port(port)? })
}

/// Two members at one quorum or election address would take each other's traffic.
fn check_addresses_unique(members: &BTreeMap<u64, Member>) -> Result<(), ConfigError> {
    let mut seen: BTreeMap<HostPort, u64> = BTreeMap::new();
    for member in members.values() {
        let election = HostPort { host: member.quorum.host.clone(), port: member.election_port };
        for address in [member.quorum.clone(), election] {
            if let Some(other) = seen.insert(address.clone(), member.id) {
                if other != member.id {
                    return Err(invalid(
                        member.line,
                        format!("server.{} uses {address}, as server.{other} does", member.id),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Whether the lines make a config ZooKeeper would run (QuorumPeerConfig's checks).
pub fn check_shape(
    config: &Config,
    pairs: &BTreeMap<String, (usize, String)>,
) -> Result<(), ConfigError> {
    let ensemble = &config.ensemble;
    let observers = ensemble.members.values().any(|m| m.peer_type == PeerType::Observer);
    let voters = ensemble.voters().count();
    if voters == 0 && (observers || !ensemble.standalone_enabled) {
        return Err(ConfigError::Ensemble("no participant among the server.N lines".into()));
    }
    if voters == 1 && observers && ensemble.standalone_enabled {
        return Err(ConfigError::Ensemble(
            "observers without a quorum: one participant runs standalone \
             (set standaloneEnabled=false to run a one-member ensemble)"
                .into(),
        ));
    }
    if ensemble.is_distributed() {
        for (key, value) in [("initLimit", config.init_limit), ("syncLimit", config.sync_limit)] {
            if value == 0 {
                let line = pairs.get(key).map(|(line, _)| *line);
                let message = format!("{key} is not set; an ensemble needs it");
                return Err(match line {
                    Some(line) => invalid(line, message),
                    None => ConfigError::Ensemble(message),
                });
            }
        }
    }
    Ok(())
}

/// This server's id in an ensemble: its myid, which must name one of the lines.
pub fn check_member(config: &Config, myid: Option<u8>) -> Result<u8, ConfigError> {
    let path = config.data_dir.join("myid");
    let Some(id) = myid else {
        return Err(ConfigError::Ensemble(format!(
            "{} is missing; each member of an ensemble needs its id there",
            path.display()
        )));
    };
    if !config.ensemble.members.contains_key(&u64::from(id)) {
        return Err(ConfigError::Ensemble(format!(
            "myid {id} ({}) is not among the server.N lines",
            path.display()
        )));
    }
    Ok(id)
}

/// A `;clientAddress` on this server's line is where it serves clients; `clientPort`, if
/// also set, must agree with it.
pub fn take_client_address(
    config: &mut Config,
    pairs: &BTreeMap<String, (usize, String)>,
) -> Result<(), ConfigError> {
    let member = &config.ensemble.members[&u64::from(config.server_id)];
    let Some(client) = &member.client else {
        return Ok(());
    };
    if let Some((line, _)) = pairs.get("clientPort") {
        if config.client_addr.port() != client.port {
            return Err(invalid(
                *line,
                format!(
                    "clientPort {} differs from server.{}'s client port {}",
                    config.client_addr.port(),
                    member.id,
                    client.port
                ),
            ));
        }
    }
    let line = member.line;
    let ip = client
        .host
        .parse()
        .or_else(|_| resolve(&client.host))
        .map_err(|why| invalid(line, format!("client address {client}: {why}")))?;
    config.client_addr = std::net::SocketAddr::new(ip, client.port);
    Ok(())
}

fn resolve(host: &str) -> Result<std::net::IpAddr, String> {
    use std::net::ToSocketAddrs;
    let mut found = (host, 0).to_socket_addrs().map_err(|e| e.to_string())?;
    found.next().map(|a| a.ip()).ok_or_else(|| format!("{host} has no address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(lines: &[(&str, &str)]) -> BTreeMap<String, (usize, String)> {
        let entries = lines.iter().enumerate();
        entries.map(|(i, (k, v))| (k.to_string(), (i + 1, v.to_string()))).collect()
    }

    fn one(value: &str) -> Result<Member, ConfigError> {
        parse_member("server.3", value, 7, true)
    }

    #[test]
    fn every_form_zookeeper_accepts_parses() {
        let m = one("zk3:2888:3888").unwrap();
        assert_eq!((m.id, m.quorum.to_string(), m.election_port), (3, "zk3:2888".into(), 3888));
        assert_eq!((m.peer_type, m.client.clone()), (PeerType::Participant, None));
        assert_eq!(m.config_text(), "zk3:2888:3888:participant");
        let m = one("zk3:2888:3888:OBSERVER;2181").unwrap();
        assert_eq!(m.peer_type, PeerType::Observer);
        assert_eq!(m.config_text(), "zk3:2888:3888:observer;0.0.0.0:2181");
        let m = one("[2001:db8::1]:2888:3888;[2001:db8::1]:2181").unwrap();
        assert_eq!(m.quorum.host, "2001:db8::1");
        assert_eq!(m.config_text(), "[2001:db8::1]:2888:3888:participant;[2001:db8::1]:2181");
        let m = one("b:2889:3889|a:2888:3888;10.0.0.1:2181").unwrap();
        assert_eq!(m.quorum.to_string(), "b:2889", "peers use the first address");
        assert_eq!(m.config_text(), "a:2888:3888|b:2889:3889:participant;10.0.0.1:2181");
    }

    #[test]
    fn a_bad_line_is_refused_with_its_line_number() {
        for bad in [
            "zk3:2888",
            "zk3:2888:2888",
            "zk3:2888:3888:voter",
            "[::1:2888:3888",
            "[::1]2888:3888",
            "zk3:x:3888",
            "zk3:2888:3888;2181;2281",
            ":2888:3888",
            "zk3:2888:3888;host:",
        ] {
            let error = one(bad).expect_err(bad).to_string();
            assert!(error.starts_with("line 7: server.3="), "{bad}: {error}");
        }
        assert!(parse_member("server.x", "a:1:2", 2, false).is_err());
        assert!(parse_member("server.256", "a:1:2", 2, false).is_err());
        let multi = parse_member("server.1", "a:1:2|b:1:2", 2, false).unwrap_err();
        assert!(multi.to_string().contains("multiAddress.enabled"), "{multi}");
    }

    #[test]
    fn duplicate_ids_and_addresses_are_refused() {
        let same_id = pairs(&[("server.1", "a:1:2"), ("server.01", "b:1:2")]);
        let error = parse_members(&same_id, false).unwrap_err().to_string();
        assert!(error.contains("server id 1 is also given on line"), "{error}");
        let same_address = pairs(&[("server.1", "a:1:2"), ("server.2", "a:3:1")]);
        let error = parse_members(&same_address, false).unwrap_err().to_string();
        assert!(error.contains("server.2 uses a:1, as server.1 does"), "{error}");
        let fine = pairs(&[("server.1", "a:1:2"), ("server.2", "b:1:2")]);
        assert_eq!(parse_members(&fine, false).unwrap().len(), 2);
    }
}
