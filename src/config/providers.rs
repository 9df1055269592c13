//! `metricsProvider.*`: which metrics provider ZooKeeper would load, and so whether corral
//! serves Prometheus's `/metrics`, and where.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use super::{ConfigError, Reader};

/// ZooKeeper's Prometheus provider: `/metrics` on httpHost:httpPort.
pub const PROMETHEUS: &str = "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";
/// ZooKeeper's default: metrics for mntr and the AdminServer only.
pub const DEFAULT: &str = "org.apache.zookeeper.metrics.impl.DefaultMetricsProvider";

/// Where to serve `/metrics`, if anywhere. Another provider class is refused, as ZooKeeper
/// fails to start on a class it cannot load.
pub(super) fn metrics_address(r: &mut Reader) -> Result<Option<SocketAddr>, ConfigError> {
    let host: IpAddr = r.parse("metricsProvider.httpHost", IpAddr::V4(Ipv4Addr::UNSPECIFIED))?;
    let port: u16 = r.parse("metricsProvider.httpPort", 7000)?;
    // Read either way, so that these keys are never reported as unknown.
    let _export_jvm_info = r.flag("metricsProvider.exportJvmInfo", true)?;
    match r.get("metricsProvider.className") {
        None => Ok(None),
        Some((_, DEFAULT)) => Ok(None),
        Some((_, PROMETHEUS)) => Ok(Some(SocketAddr::new(host, port))),
        Some((line, other)) => Err(ConfigError::Invalid {
            line,
            message: format!(
                "metricsProvider.className={other} is not a provider corral has \
                 (it has {PROMETHEUS} and {DEFAULT})"
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn prometheus_is_served_only_when_its_provider_is_named() {
        assert_eq!(Config::from_text("tickTime=2000\n").unwrap().metrics_addr, None);
        let text = format!("metricsProvider.className={}\n", super::PROMETHEUS);
        let addr = Config::from_text(&text).unwrap().metrics_addr.unwrap();
        assert_eq!(addr.to_string(), "0.0.0.0:7000");
        let text = format!(
            "metricsProvider.className={}\nmetricsProvider.httpHost=127.0.0.1\n\
             metricsProvider.httpPort=7070\n",
            super::PROMETHEUS
        );
        let config = Config::from_text(&text).unwrap();
        assert_eq!(config.metrics_addr.unwrap().to_string(), "127.0.0.1:7070");
        assert!(config.unknown_keys().is_empty());
    }

    #[test]
    fn an_unknown_provider_is_refused_with_its_line() {
        let err = Config::from_text("tickTime=2000\nmetricsProvider.className=com.acme.Metrics\n")
            .unwrap_err();
        assert!(err.to_string().starts_with("line 2: metricsProvider.className=com.acme.Metrics"));
    }
}
