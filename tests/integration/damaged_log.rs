//! A log file cut short (an interrupted copy, a damaged disk): the binary refuses to run with a
//! message that says so, instead of serving from part of the log or dying without a word.

use crate::common;

use std::process::{Command, Stdio};

use common::*;

#[tokio::test]
async fn a_truncated_log_file_is_reported_and_the_server_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = start_in(&data, "").await;
    let mut c = Client::connect(server.addr).await;
    for i in 0..3000 {
        c.create(&format!("/n{i}"), &[9; 1000], 0).await.unwrap();
    }
    drop(c);
    server.stop().await;

    let file = data.join("corral/log/data.mdb");
    let len = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(len / 3).unwrap();

    let cfg = dir.path().join("zoo.cfg");
    std::fs::write(
        &cfg,
        format!("dataDir={}\nclientPort=0\nadmin.enableServer=false\n", data.display()),
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_corral"))
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(74), "it must not run: {stderr}");
    assert!(!stderr.contains("corral serving"), "{stderr}");
    assert!(stderr.contains("truncated or damaged"), "{stderr}");
}
