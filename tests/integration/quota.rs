//! Quotas: the server keeps `zookeeper_stats` in step with the subtree (data only), and with
//! enforceQuota refuses writes past a hard limit with QUOTAEXCEEDED.

use crate::common;

use common::*;

async fn set_quota(c: &mut Client, path: &str, limits: &str) {
    let mut at = String::from("/zookeeper/quota");
    for part in path.trim_start_matches('/').split('/') {
        at = format!("{at}/{part}");
        let _ = c.create(&at, b"", 0).await;
    }
    c.create(&format!("{at}/zookeeper_limits"), limits.as_bytes(), 0).await.unwrap();
    c.create(&format!("{at}/zookeeper_stats"), b"count=0,bytes=0", 0).await.unwrap();
}

async fn usage(c: &mut Client, path: &str) -> String {
    let (data, _) =
        c.get_data(&format!("/zookeeper/quota{path}/zookeeper_stats"), false).await.unwrap();
    String::from_utf8(data.unwrap()).unwrap()
}

#[tokio::test]
async fn stats_follow_the_subtree() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/app", b"12345", 0).await.unwrap();
    c.create("/app/a", b"xy", 0).await.unwrap();
    set_quota(&mut c, "/app", "count=10,bytes=-1").await;
    assert_eq!(usage(&mut c, "/app").await, "count=2,bytes=7");
    let before = c.exists("/zookeeper/quota/app/zookeeper_stats", false).await.unwrap();
    c.create("/app/b", b"abc", 0).await.unwrap();
    c.set_data("/app/a", b"", -1).await.unwrap();
    assert_eq!(usage(&mut c, "/app").await, "count=3,bytes=8");
    c.delete("/app/b", -1).await;
    assert_eq!(usage(&mut c, "/app").await, "count=2,bytes=5");
    let after = c.exists("/zookeeper/quota/app/zookeeper_stats", false).await.unwrap();
    assert_eq!(
        (after.version, after.mzxid),
        (before.version, before.mzxid),
        "the Stat does not change"
    );
}

#[tokio::test]
async fn hard_limits_are_enforced_only_when_asked() {
    let limits = "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=3";
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/soft", b"", 0).await.unwrap();
    set_quota(&mut c, "/soft", limits).await;
    for i in 0..5 {
        c.create(&format!("/soft/{i}"), b"", 0).await.unwrap();
    }

    let t = start_with("enforceQuota=true\n").await;
    let mut c = Client::connect(t.addr).await;
    c.create("/hard", b"", 0).await.unwrap();
    set_quota(&mut c, "/hard", limits).await;
    c.create("/hard/1", b"", 0).await.unwrap();
    c.create("/hard/2", b"", 0).await.unwrap();
    assert_eq!(c.create("/hard/3", b"", 0).await, Err(-125));
    assert_eq!(usage(&mut c, "/hard").await, "count=3,bytes=0");
}
