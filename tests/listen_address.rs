//! Where the client port listens: a zoo.cfg without `clientPortAddress` serves every address,
//! as ZooKeeper does; `corral` with no config serves 127.0.0.1 only; `server.N` lines, which
//! standalone corral does not act on, are reported at start-up rather than ignored silently.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};

use corral::config::Config;

#[test]
fn a_zoo_cfg_without_an_address_listens_everywhere_and_no_config_on_loopback() {
    let bare = Config::default();
    assert_eq!(bare.client_addr, "127.0.0.1:2181".parse::<SocketAddr>().unwrap());
    let from_file = Config::from_text("clientPort=2182\n").unwrap();
    assert!(from_file.client_addr.ip().is_unspecified(), "{}", from_file.client_addr);
    assert_eq!(from_file.client_addr.port(), 2182);
    let pinned = Config::from_text("clientPort=2182\nclientPortAddress=127.0.0.1\n").unwrap();
    assert_eq!(pinned.client_addr, "127.0.0.1:2182".parse::<SocketAddr>().unwrap());
}

fn srvr(addr: SocketAddr) -> std::io::Result<String> {
    let mut socket = TcpStream::connect(addr)?;
    socket.write_all(b"srvr")?;
    let mut text = String::new();
    socket.read_to_string(&mut text)?;
    Ok(text)
}

#[test]
fn the_binary_with_a_zoo_cfg_serves_other_addresses_and_names_its_server_lines() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("zoo.cfg");
    let text = format!(
        "tickTime=2000\ndataDir={}\nclientPort=0\nserver.1=127.0.0.1:2888:3888\n\
         server.2=127.0.0.2:2888:3888\n",
        dir.path().join("data").display()
    );
    std::fs::write(&cfg, text).unwrap();
    let (mut child, addr, before) = common::spawn_binary(&cfg);
    let warned = before
        .iter()
        .any(|line| line.contains("server.N lines are ignored") && line.contains("server.2"));
    assert!(warned, "the server.N lines are reported before serving");
    assert!(addr.ip().is_unspecified(), "listens on the wildcard, not {addr}");
    // 127.0.0.2 reaches only a wildcard listener, not one bound to 127.0.0.1.
    let other = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), addr.port());
    let answer = srvr(other);
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.unwrap().contains("Mode: standalone"));
}
