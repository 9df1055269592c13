//! Where the client port listens: a zoo.cfg without `clientPortAddress` serves every address,
//! as ZooKeeper does; `corral` with no config serves 127.0.0.1 only; `server.N` lines, which
//! standalone corral does not act on, are reported at start-up rather than ignored silently.

use crate::common;

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
fn the_binary_with_a_zoo_cfg_of_one_server_line_serves_other_addresses_standalone() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("zoo.cfg");
    let text = format!(
        "tickTime=2000\ndataDir={}\nclientPort=0\nadmin.enableServer=false\nserver.1=127.0.0.1:2888:3888\n",
        dir.path().join("data").display()
    );
    std::fs::write(&cfg, text).unwrap();
    let (mut child, addr, before) = common::spawn_binary(&cfg);
    let warned = before.iter().any(|line| line.contains("only one server specified"));
    assert!(warned, "one server line runs standalone, as ZooKeeper says");
    assert!(addr.ip().is_unspecified(), "listens on the wildcard, not {addr}");
    // 127.0.0.2 reaches only a wildcard listener, not one bound to 127.0.0.1.
    let other = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), addr.port());
    let answer = srvr(other);
    let _ = child.kill();
    let _ = child.wait();
    assert!(answer.unwrap().contains("Mode: standalone"));
}

/// Runs the binary on `zoo.cfg` text (with `myid` if given) and returns its exit code and
/// stderr; it must exit by itself.
fn refused(text: &str, myid: Option<&str>) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    if let Some(id) = myid {
        std::fs::write(data.join("myid"), id).unwrap();
    }
    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!("dataDir={}\nclientPort=0\n{text}admin.enableServer=false\n", data.display()),
    )
    .unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn an_ensemble_config_that_cannot_work_is_refused_with_its_line_before_binding() {
    let limits = "initLimit=5\nsyncLimit=2\n";
    let cases = [
        // (zoo.cfg lines after dataDir and clientPort, myid, what the error must say)
        (format!("{limits}server.1=a:1:2\nserver.2=b:1:2:voter\n"), Some("1"), "line 6: server.2"),
        (format!("{limits}server.1=a:1:2\nserver.01=b:1:2\n"), Some("1"), "also given on line"),
        (format!("{limits}server.1=a:1:2\nserver.2=a:1:3\n"), Some("1"), "as server.1 does"),
        (format!("{limits}server.1=a:1:2\nserver.2=b:1:2\n"), None, "myid is missing"),
        (format!("{limits}server.1=a:1:2\nserver.2=b:1:2\n"), Some("3"), "myid 3"),
        (format!("{limits}server.1=a:1:2\nserver.2=b:1:2\n"), Some(" x"), "not a server id"),
        ("server.1=a:1:2\nserver.2=b:1:2\n".to_string(), Some("1"), "initLimit is not set"),
        ("server.1=a:1:2\nserver.2=b:1:2:observer\n".to_string(), Some("1"), "observers"),
    ];
    for (text, myid, expected) in cases {
        let (code, stderr) = refused(&text, myid);
        assert_eq!(code, 2, "{text}: {stderr}");
        assert!(stderr.contains(expected), "{text}: expected {expected:?} in {stderr}");
        assert!(!stderr.contains("corral serving"), "{text}: nothing binds");
    }
}
