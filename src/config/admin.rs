//! `admin.*`: whether and where the AdminServer serves its commands.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use super::{ConfigError, Reader};

/// The AdminServer's settings, with ZooKeeper's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminConfig {
    /// `admin.enableServer` (true): when false only the four-letter words answer.
    pub enabled: bool,
    /// `admin.serverAddress`:`admin.serverPort` (0.0.0.0:8080).
    pub addr: SocketAddr,
    /// `admin.commandURL` (`/commands`): where the commands are, without a trailing slash.
    pub command_url: String,
    /// `admin.idleTimeout` (30000 ms): a connection that moves nothing for this long closes.
    pub idle_timeout: Duration,
    /// `admin.snapshot.enabled` and `admin.restore.enabled` (true): false answers 503.
    pub snapshot_enabled: bool,
    pub restore_enabled: bool,
    /// `admin.rateLimiterIntervalInMS` (300000): one snapshot or restore per interval.
    pub rate_limiter_interval_ms: u64,
}

pub(super) fn admin(r: &mut Reader, default_host: IpAddr) -> Result<AdminConfig, ConfigError> {
    let enabled = r.flag("admin.enableServer", true)?;
    let host: IpAddr = r.parse("admin.serverAddress", default_host)?;
    let port: u16 = r.parse("admin.serverPort", 8080)?;
    let url = r.get("admin.commandURL").map_or("/commands", |(_, v)| v);
    let command_url = format!("/{}", url.trim_matches('/'));
    let idle_ms: u64 = r.parse("admin.idleTimeout", 30_000)?;
    // Jetty's options that corral's HTTP server has no counterpart for: read, so they are
    // not reported as unknown.
    for key in ["admin.httpVersion", "admin.portUnification"] {
        let _ = r.get(key);
    }
    Ok(AdminConfig {
        enabled,
        addr: SocketAddr::new(host, port),
        command_url,
        idle_timeout: Duration::from_millis(idle_ms.max(1)),
        snapshot_enabled: r.flag("admin.snapshot.enabled", true)?,
        restore_enabled: r.flag("admin.restore.enabled", true)?,
        rate_limiter_interval_ms: r.parse("admin.rateLimiterIntervalInMS", 300_000)?,
    })
}

/// Every address, as ZooKeeper binds the AdminServer, unless the config says otherwise.
pub(super) const DEFAULT_HOST: IpAddr = IpAddr::V4(Ipv4Addr::UNSPECIFIED);

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn defaults_and_settings_follow_zookeeper() {
        let admin = Config::from_text("tickTime=2000\n").unwrap().admin;
        assert!(admin.enabled);
        assert_eq!(admin.addr.to_string(), "0.0.0.0:8080");
        assert_eq!(admin.command_url, "/commands");
        assert_eq!(admin.idle_timeout, std::time::Duration::from_secs(30));
        assert!(admin.snapshot_enabled && admin.restore_enabled);
        assert_eq!(admin.rate_limiter_interval_ms, 300_000);
        let text = "admin.enableServer=false\nadmin.serverAddress=127.0.0.1\n\
                    admin.serverPort=9090\nadmin.commandURL=/cmds/\nadmin.idleTimeout=5000\n\
                    zookeeper.admin.restore.enabled=false\nadmin.rateLimiterIntervalInMS=10\n";
        let admin = Config::from_text(text).unwrap().admin;
        assert!(!admin.enabled);
        assert_eq!(admin.addr.to_string(), "127.0.0.1:9090");
        assert_eq!(admin.command_url, "/cmds");
        assert_eq!(admin.idle_timeout, std::time::Duration::from_secs(5));
        assert!(admin.snapshot_enabled && !admin.restore_enabled);
        assert_eq!(admin.rate_limiter_interval_ms, 10);
        assert!(Config::from_text("admin.serverPort=http\n").is_err());
    }
}
