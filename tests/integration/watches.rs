//! Watches: one-shot, persistent and recursive; event-before-reply ordering; one notification
//! per trigger; READ filtering; setWatches catch-up; checkWatches and removeWatches.

use crate::common;

use common::*;
use jute::*;

fn kind(event: &WatcherEvent) -> (i32, &str) {
    (event.event_type, event.path.as_str())
}

#[tokio::test]
async fn the_writer_sees_the_event_before_the_reply() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/w", b"", 0).await.unwrap();
    c.get_data("/w", true).await.unwrap();
    c.send(Request::SetData(SetDataRequest {
        path: "/w".into(),
        data: Some(b"x".to_vec()),
        version: -1,
    }))
    .await;
    match c.next().await.unwrap() {
        Incoming::Event(zxid, event) => {
            assert_eq!(kind(&event), (EventType::NodeDataChanged.as_i32(), "/w"));
            match c.next().await.unwrap() {
                Incoming::Reply(header, _) => {
                    assert_eq!(header.zxid, zxid, "3.9: the event carries the txn's zxid")
                }
                other => panic!("{other:?}"),
            }
        }
        other => panic!("the event must come first, got {other:?}"),
    }
}

#[tokio::test]
async fn another_client_sees_the_event_before_any_reply_showing_the_change() {
    let t = start().await;
    let mut writer = Client::connect(t.addr).await;
    let mut reader = Client::connect(t.addr).await;
    writer.create("/o", b"0", 0).await.unwrap();
    reader.get_data("/o", true).await.unwrap();
    for round in 1..=50 {
        writer
            .send(Request::SetData(SetDataRequest {
                path: "/o".into(),
                data: Some(round.to_string().into_bytes()),
                version: -1,
            }))
            .await;
        // Read until the new value shows; the event must have arrived before that reply.
        loop {
            let (data, _) = reader.get_data("/o", false).await.unwrap();
            if data == Some(round.to_string().into_bytes()) {
                let (_, event) =
                    reader.events.pop_front().expect("event before the reply showing the change");
                assert_eq!(kind(&event), (EventType::NodeDataChanged.as_i32(), "/o"));
                break;
            }
        }
        writer.reply().await;
        reader.get_data("/o", true).await.unwrap();
        reader.events.clear();
    }
}

#[tokio::test]
async fn one_shot_watches_fire_once() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    assert_eq!(c.exists("/x", true).await, Err(-101), "exists on a missing node still watches");
    c.create("/x", b"", 0).await.unwrap();
    assert_eq!(kind(&c.event().await), (EventType::NodeCreated.as_i32(), "/x"));
    c.children("/x", true).await.unwrap();
    c.create("/x/1", b"", 0).await.unwrap();
    assert_eq!(kind(&c.event().await), (EventType::NodeChildrenChanged.as_i32(), "/x"));
    c.create("/x/2", b"", 0).await.unwrap();
    c.set_data("/x", b"", -1).await.unwrap();
    assert!(c.events.is_empty(), "both watches were one-shot");
    assert_eq!(c.get_data("/missing", true).await, Err(-101));
    c.create("/missing", b"", 0).await.unwrap();
    assert!(c.events.is_empty(), "a failed getData leaves no watch");
}

#[tokio::test]
async fn delete_fires_data_and_child_watches_once_per_connection() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/d", b"", 0).await.unwrap();
    c.get_data("/d", true).await.unwrap();
    c.children("/d", true).await.unwrap();
    c.children("/", true).await.unwrap();
    c.delete("/d", -1).await;
    let first = c.event().await;
    let second = c.event().await;
    assert_eq!(kind(&first), (EventType::NodeDeleted.as_i32(), "/d"));
    assert_eq!(kind(&second), (EventType::NodeChildrenChanged.as_i32(), "/"));
    assert!(c.events.is_empty());
}

#[tokio::test]
async fn persistent_watches_stay_and_see_every_event_on_their_path() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let reply = c.call(Request::AddWatch(AddWatchRequest { path: "/p".into(), mode: 0 })).await;
    assert_eq!(reply.1, Some(Response::AddWatch(ErrorResponse { err: 0 })));
    c.create("/p", b"", 0).await.unwrap();
    c.create("/p/c", b"", 0).await.unwrap();
    c.set_data("/p", b"1", -1).await.unwrap();
    c.set_data("/p", b"2", -1).await.unwrap();
    c.create("/p/c/deep", b"", 0).await.unwrap();
    let got: Vec<i32> = c.events.drain(..).map(|(_, e)| e.event_type).collect();
    assert_eq!(got, vec![1, 4, 3, 3]);
}

#[tokio::test]
async fn recursive_watches_cover_the_subtree_but_not_child_events() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.call(Request::AddWatch(AddWatchRequest { path: "/r".into(), mode: 1 })).await;
    c.create("/r", b"", 0).await.unwrap();
    c.create("/r/a", b"", 0).await.unwrap();
    c.create("/r/a/b", b"", 0).await.unwrap();
    c.set_data("/r/a/b", b"x", -1).await.unwrap();
    c.delete("/r/a/b", -1).await;
    c.create("/rx", b"", 0).await.unwrap();
    let got: Vec<(i32, String)> =
        c.events.drain(..).map(|(_, e)| (e.event_type, e.path.to_string())).collect();
    let want = [(1, "/r"), (1, "/r/a"), (1, "/r/a/b"), (3, "/r/a/b"), (2, "/r/a/b")];
    assert_eq!(got, want.iter().map(|(t, p)| (*t, p.to_string())).collect::<Vec<_>>());
}

#[tokio::test]
async fn events_are_filtered_by_read_permission() {
    let t = start().await;
    let mut owner = Client::connect(t.addr).await;
    let mut outsider = Client::connect(t.addr).await;
    owner.add_auth("digest", b"alice:pw").await;
    owner.create_acl("/secret", vec![Acl::new(perms::ALL, "auth", "")]).await;
    outsider.call(Request::AddWatch(AddWatchRequest { path: "/secret".into(), mode: 0 })).await;
    owner.set_data("/secret", b"x", -1).await.unwrap();
    owner.create("/public", b"", 0).await.unwrap();
    outsider.call(Request::AddWatch(AddWatchRequest { path: "/public".into(), mode: 0 })).await;
    owner.set_data("/public", b"x", -1).await.unwrap();
    let event = outsider.event().await;
    assert_eq!(
        kind(&event),
        (EventType::NodeDataChanged.as_i32(), "/public"),
        "the /secret event was dropped"
    );
}

#[tokio::test]
async fn set_watches_fires_what_was_missed_before_its_reply() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/changed", b"", 0).await.unwrap();
    c.create("/same", b"", 0).await.unwrap();
    let (h, _) =
        c.call(Request::Exists(PathWatchRequest { path: "/same".into(), watch: false })).await;
    c.set_data("/changed", b"x", -1).await.unwrap();
    let request = SetWatches {
        relative_zxid: h.zxid,
        data_watches: vec!["/changed".into(), "/same".into(), "/deleted".into()],
        exist_watches: vec!["/same".into(), "/later".into()],
        child_watches: vec![],
    };
    c.send_xid(xid::SET_WATCHES, Request::SetWatches(request)).await;
    let mut events = Vec::new();
    loop {
        match c.next().await.unwrap() {
            Incoming::Event(zxid, e) => {
                assert_eq!(zxid, -1, "catch-up events carry zxid -1");
                events.push(kind(&e).0);
            }
            Incoming::Reply(header, _) => {
                assert_eq!((header.xid, header.err), (xid::SET_WATCHES, 0));
                break;
            }
        }
    }
    assert_eq!(events, vec![3, 2, 1]);
    c.set_data("/same", b"y", -1).await.unwrap();
    assert_eq!(kind(&c.events.pop_front().unwrap().1), (3, "/same"));
    c.create("/later", b"", 0).await.unwrap();
    assert_eq!(kind(&c.events.pop_front().unwrap().1), (1, "/later"));
}

#[tokio::test]
async fn check_and_remove_watches() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/cw", b"", 0).await.unwrap();
    let check = |t| Request::CheckWatches(WatchesRequest { path: "/cw".into(), watcher_type: t });
    let remove = |t| Request::RemoveWatches(WatchesRequest { path: "/cw".into(), watcher_type: t });
    assert_eq!(c.err(check(2)).await, -121);
    c.get_data("/cw", true).await.unwrap();
    assert_eq!(c.err(check(2)).await, 0);
    assert_eq!(c.err(check(1)).await, -121);
    assert_eq!(c.err(check(3)).await, 0);
    assert_eq!(c.err(remove(2)).await, 0);
    assert_eq!(c.err(remove(2)).await, -121);
    c.set_data("/cw", b"", -1).await.unwrap();
    assert!(c.events.is_empty());
}

#[tokio::test]
async fn watches_belong_to_the_connection() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/conn", b"", 0).await.unwrap();
    c.get_data("/conn", true).await.unwrap();
    let request = connect_request(c.session_id, c.passwd.clone(), 30_000);
    let mut again = Client::resume(t.addr, request).await.unwrap();
    again.set_data("/conn", b"x", -1).await.unwrap();
    assert!(again.events.is_empty(), "the new connection did not inherit the watch");
    assert!(four_letter(t.addr, "wchs").await.starts_with("0 connections watching 0 paths"));
}
