//! `admin.*`: whether and where the AdminServer serves its commands.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

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
}

pub(super) fn admin(r: &mut Reader, default_host: IpAddr) -> Result<AdminConfig, ConfigError> {
    let enabled = r.flag("admin.enableServer", true)?;
    let host: IpAddr = r.parse("admin.serverAddress", default_host)?;
    let port: u16 = r.parse("admin.serverPort", 8080)?;
    let url = r.get("admin.commandURL").map_or("/commands", |(_, v)| v);
    // Jetty's options that corral's HTTP server has no counterpart for: read, so they are
    // not reported as unknown.
    for key in ["admin.idleTimeout", "admin.httpVersion", "admin.portUnification"] {
        let _ = r.get(key);
    }
    let command_url = format!("/{}", url.trim_matches('/'));
    Ok(AdminConfig { enabled, addr: SocketAddr::new(host, port), command_url })
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
        let text = "admin.enableServer=false\nadmin.serverAddress=127.0.0.1\n\
                    admin.serverPort=9090\nadmin.commandURL=/cmds/\n";
        let admin = Config::from_text(text).unwrap().admin;
        assert!(!admin.enabled);
        assert_eq!(admin.addr.to_string(), "127.0.0.1:9090");
        assert_eq!(admin.command_url, "/cmds");
        assert!(Config::from_text("admin.serverPort=http\n").is_err());
    }
}
