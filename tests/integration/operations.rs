//! Every client operation against a real server: results, Stat fields and error codes as
//! ZooKeeper gives them.

use crate::common;

use common::*;
use jute::*;

#[tokio::test]
async fn a_fresh_tree_has_zookeepers_system_nodes() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    assert_eq!(c.children("/", false).await.unwrap(), vec!["zookeeper"]);
    assert_eq!(c.children("/zookeeper", false).await.unwrap(), vec!["config", "quota"]);
    let (data, stat) = c.get_data("/zookeeper/config", false).await.unwrap();
    assert_eq!(data, Some(vec![]));
    assert_eq!((stat.czxid, stat.version, stat.aversion, stat.num_children), (0, 0, -1, 0));
    let root = c.exists("/", false).await.unwrap();
    assert_eq!((root.cversion, root.num_children), (-1, 1), "2 x creations - children");
    assert_eq!(c.set_data("/zookeeper/config", b"x", -1).await, Err(-102));
    for path in ["/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"] {
        assert_eq!(c.delete(path, -1).await, -8, "{path}");
    }
    assert!(four_letter(t.addr, "srvr").await.contains("Node count: 5\n"));
}

#[tokio::test]
async fn create_get_set_delete_with_stat_rules() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let created = c
        .call(Request::Create2(CreateRequest {
            path: "/n".into(),
            data: Some(b"v1".to_vec()),
            acl: open_acl(),
            flags: 0,
        }))
        .await;
    let Some(Response::Create2(created)) = created.1 else { panic!("{created:?}") };
    let s = created.stat;
    assert_eq!(
        (s.czxid, s.mzxid, s.pzxid, s.version, s.data_length),
        (s.czxid, s.czxid, s.czxid, 0, 2)
    );
    assert_eq!(s.ctime, s.mtime);
    let set = c.set_data("/n", b"v22", 0).await.unwrap();
    assert_eq!((set.version, set.czxid, set.data_length), (1, s.czxid, 3));
    assert!(set.mzxid > s.mzxid);
    assert_eq!(c.set_data("/n", b"x", 0).await, Err(-103));
    let acl = c
        .call(Request::SetAcl(SetAclRequest { path: "/n".into(), acl: open_acl(), version: 0 }))
        .await;
    let Some(Response::Stat(acl)) = acl.1 else { panic!() };
    assert_eq!((acl.stat.aversion, acl.stat.mzxid), (1, set.mzxid), "setACL leaves mzxid alone");
    c.create("/n/child", b"", 0).await.unwrap();
    assert_eq!(c.delete("/n", 5).await, -103, "BADVERSION before NOTEMPTY");
    assert_eq!(c.delete("/n", -1).await, -111);
    assert_eq!(c.delete("/n/child", -1).await, 0);
    let parent = c.exists("/n", false).await.unwrap();
    assert_eq!((parent.cversion, parent.num_children), (2, 0));
    assert_eq!(c.delete("/n", 1).await, 0);
    assert_eq!(c.get_data("/n", false).await, Err(-101));
}

#[tokio::test]
async fn null_data_stays_null() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let request = CreateRequest { path: "/null".into(), data: None, acl: open_acl(), flags: 0 };
    assert_eq!(c.err(Request::Create(request)).await, 0);
    let (data, stat) = c.get_data("/null", false).await.unwrap();
    assert_eq!((data, stat.data_length), (None, 0));
}

#[tokio::test]
async fn sequential_names_count_creations_under_the_parent() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/p", b"", 0).await.unwrap();
    c.create("/p/a", b"", 0).await.unwrap();
    assert_eq!(c.create("/p/q-", b"", 2).await.unwrap(), "/p/q-0000000001");
    assert_eq!(c.create("/p/", b"", 3).await.unwrap(), "/p/0000000002");
    assert_eq!(c.create("/p/bad/", b"", 0).await, Err(-101), "parent lookup before validation");
    assert_eq!(c.create("/p/a/", b"", 0).await, Err(-8));
    assert_eq!(c.create("/p", b"", 0).await, Err(-110));
    assert_eq!(c.create("/p", b"", 7).await, Err(-8));
    assert_eq!(c.create("nope", b"", 0).await, Err(-8));
    assert_eq!(c.create("/p/x\u{1}", b"", 0).await, Err(-8));
}

#[tokio::test]
async fn ephemerals_cannot_have_children_and_are_listed_per_session() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/e1", b"", 1).await.unwrap();
    c.create("/dir", b"", 0).await.unwrap();
    c.create("/dir/e2", b"", 1).await.unwrap();
    assert_eq!(c.create("/e1/x", b"", 0).await, Err(-108));
    assert_eq!(c.create("/e1", b"", 0).await, Err(-110), "NODEEXISTS is checked first");
    let (_, body) = c.call(Request::GetEphemerals(PathRequest { path: "/dir".into() })).await;
    let Some(Response::GetEphemerals(r)) = body else { panic!() };
    assert_eq!(r.ephemerals, vec![JString::from("/dir/e2")]);
    let (_, body) = c.call(Request::GetEphemerals(PathRequest { path: "/".into() })).await;
    let Some(Response::GetEphemerals(r)) = body else { panic!() };
    assert_eq!(r.ephemerals.len(), 2);
    let mut other = Client::connect(t.addr).await;
    let (_, body) = other.call(Request::GetEphemerals(PathRequest { path: "/".into() })).await;
    assert_eq!(body, Some(Response::GetEphemerals(GetEphemeralsResponse { ephemerals: vec![] })));
}

#[tokio::test]
async fn get_children2_and_all_children_number() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    for p in ["/a", "/a/b", "/a/b/c", "/a/d"] {
        c.create(p, b"", 0).await.unwrap();
    }
    let (_, body) =
        c.call(Request::GetChildren2(PathWatchRequest { path: "/a".into(), watch: false })).await;
    let Some(Response::GetChildren2(r)) = body else { panic!() };
    assert_eq!(r.children, vec![JString::from("b"), JString::from("d")]);
    assert_eq!(r.stat.num_children, 2);
    let count = |path: &str| Request::GetAllChildrenNumber(PathRequest { path: path.into() });
    let (_, body) = c.call(count("/a")).await;
    assert_eq!(
        body,
        Some(Response::GetAllChildrenNumber(GetAllChildrenNumberResponse { total_number: 3 }))
    );
    let (_, body) = c.call(count("/")).await;
    assert_eq!(
        body,
        Some(Response::GetAllChildrenNumber(GetAllChildrenNumberResponse { total_number: 7 }))
    );
    assert_eq!(c.call(count("/missing")).await.0.err, -101);
}

fn create_op(path: &str) -> MultiOp {
    MultiOp::Create(
        OpCode::Create,
        CreateRequest { path: path.into(), data: None, acl: open_acl(), flags: 0 },
    )
}

#[tokio::test]
async fn multi_is_all_or_nothing_and_one_zxid() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let ops = vec![
        create_op("/m"),
        create_op("/m/1"),
        MultiOp::SetData(SetDataRequest {
            path: "/m".into(),
            data: Some(b"x".to_vec()),
            version: 0,
        }),
    ];
    let (header, body) = c.call(Request::Multi(MultiRequest { ops })).await;
    assert_eq!(header.err, 0);
    let Some(Response::Multi(r)) = body else { panic!() };
    let MultiResult::SetData(stat) = &r.results[2] else { panic!("{r:?}") };
    assert_eq!((stat.czxid, stat.mzxid, header.zxid), (header.zxid, header.zxid, header.zxid));

    let ops = vec![
        create_op("/n"),
        MultiOp::Check(CheckVersionRequest { path: "/m".into(), version: 9 }),
        MultiOp::Delete(DeleteRequest { path: "/m/1".into(), version: -1 }),
    ];
    let (header, body) = c.call(Request::Multi(MultiRequest { ops })).await;
    assert_eq!(header.err, 0, "a failed multi still has err 0 in its header");
    let Some(Response::Multi(r)) = body else { panic!() };
    assert_eq!(
        r.results,
        vec![MultiResult::Error(0), MultiResult::Error(-103), MultiResult::Error(-2)]
    );
    assert_eq!(c.exists("/n", false).await, Err(-101));
    assert!(c.exists("/m/1", false).await.is_ok());

    // An empty multi succeeds and still takes a zxid.
    let (first, _) = c.call(Request::Multi(MultiRequest::default())).await;
    let (second, body) = c.call(Request::Multi(MultiRequest::default())).await;
    assert_eq!(body, Some(Response::Multi(MultiResponse::default())));
    assert_eq!(second.zxid, first.zxid + 1);
}

#[tokio::test]
async fn a_malformed_multi_is_a_marshalling_error() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let mixed = vec![
        create_op("/x"),
        MultiOp::GetData(PathWatchRequest { path: "/".into(), watch: false }),
    ];
    assert_eq!(c.err(Request::Multi(MultiRequest { ops: mixed })).await, -5);
    let bad_flag = vec![MultiOp::Create(
        OpCode::Create,
        CreateRequest { path: "/x".into(), data: None, acl: open_acl(), flags: 42 },
    )];
    assert_eq!(c.err(Request::Multi(MultiRequest { ops: bad_flag })).await, -5);
    let writes_in_read = vec![create_op("/x")];
    assert_eq!(c.err(Request::MultiRead(MultiRequest { ops: writes_in_read })).await, -5);
}

#[tokio::test]
async fn multi_read_runs_each_op_on_its_own() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/r", b"data", 0).await.unwrap();
    let ops = vec![
        MultiOp::GetData(PathWatchRequest { path: "/r".into(), watch: true }),
        MultiOp::GetChildren(PathWatchRequest { path: "/missing".into(), watch: false }),
        MultiOp::GetChildren(PathWatchRequest { path: "/".into(), watch: false }),
    ];
    let (header, body) = c.call(Request::MultiRead(MultiRequest { ops })).await;
    assert_eq!(header.err, 0);
    let Some(Response::Multi(r)) = body else { panic!() };
    assert!(
        matches!(&r.results[0], MultiResult::GetData(d) if d.data.as_deref() == Some(&b"data"[..]))
    );
    assert_eq!(r.results[1], MultiResult::Error(-101));
    assert!(matches!(&r.results[2], MultiResult::GetChildren(_)));
    // multiRead sets no watches.
    c.set_data("/r", b"new", -1).await.unwrap();
    assert!(c.events.is_empty());
}

#[tokio::test]
async fn containers_are_reaped_once_emptied() {
    let t = start_with("tickTime=2000\nznode.container.checkIntervalMs=50\n").await;
    let mut c = Client::connect(t.addr).await;
    let request = CreateRequest { path: "/c".into(), data: None, acl: open_acl(), flags: 4 };
    assert_eq!(c.err(Request::CreateContainer(request)).await, 0);
    assert_eq!(c.exists("/c", false).await.unwrap().ephemeral_owner, 0);
    c.create("/c/child", b"", 0).await.unwrap();
    assert_eq!(c.delete("/c/child", -1).await, 0);
    c.exists("/c", true).await.unwrap();
    let event = c.event().await;
    assert_eq!((event.event_type, event.path.as_str()), (EventType::NodeDeleted.as_i32(), "/c"));
    // A plain create with the container flag is an ordinary node, never reaped.
    c.create("/plain", b"", 4).await.unwrap();
    c.create("/plain/x", b"", 0).await.unwrap();
    c.delete("/plain/x", -1).await;
    assert!(c.exists("/plain", false).await.is_ok());
}

#[tokio::test]
async fn ttl_nodes_need_extended_types_and_expire() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let ttl = |path: &str, flags, ttl| {
        Request::CreateTtl(CreateTtlRequest {
            path: path.into(),
            data: None,
            acl: open_acl(),
            flags,
            ttl,
        })
    };
    assert_eq!(c.err(ttl("/t", 5, 100)).await, -6);

    let t = start_with(
        "tickTime=2000\nextendedTypesEnabled=true\nznode.container.checkIntervalMs=50\n",
    )
    .await;
    let mut c = Client::connect(t.addr).await;
    assert_eq!(c.err(ttl("/t", 0, 100)).await, -8, "TTL opcode with a non-TTL mode");
    assert_eq!(c.err(ttl("/t", 5, 0)).await, -8);
    assert_eq!(c.create("/t", b"", 5).await, Err(-8), "TTL mode through plain create");
    let (header, body) = c.call(ttl("/t", 6, 200)).await;
    assert_eq!(header.err, 0);
    let Some(Response::Create2(r)) = body else { panic!() };
    assert_eq!(r.path, "/t0000000000");
    assert_eq!(r.stat.ephemeral_owner, 0);
    c.exists("/t0000000000", true).await.unwrap();
    let event = c.event().await;
    assert_eq!(event.event_type, EventType::NodeDeleted.as_i32());
}

#[tokio::test]
async fn sync_echoes_its_path_without_taking_a_zxid() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    c.create("/s", b"", 0).await.unwrap();
    let (before, _) =
        c.call(Request::Exists(PathWatchRequest { path: "/s".into(), watch: false })).await;
    let (header, body) = c.call(Request::Sync(PathRequest { path: "/s".into() })).await;
    assert_eq!(body, Some(Response::Sync(SyncResponse { path: "/s".into() })));
    assert_eq!(header.zxid, before.zxid);
}

#[tokio::test]
async fn failed_writes_take_a_zxid() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let (a, _) =
        c.call(Request::Delete(DeleteRequest { path: "/missing".into(), version: -1 })).await;
    let (b, _) =
        c.call(Request::Delete(DeleteRequest { path: "/missing".into(), version: -1 })).await;
    assert_eq!((a.err, b.err), (-101, -101));
    assert_eq!(b.zxid, a.zxid + 1);
}

#[tokio::test]
async fn reconfig_gets_zookeepers_standalone_answers() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    let reconfig =
        || Request::Reconfig(ReconfigRequest { cur_config_id: -1, ..Default::default() });
    assert_eq!(c.err(reconfig()).await, -123, "reconfigEnabled defaults to false");
    let t = start_with("reconfigEnabled=true\n").await;
    let mut c = Client::connect(t.addr).await;
    assert_eq!(c.err(reconfig()).await, -6);
}

#[tokio::test]
async fn invalid_opcodes_get_unimplemented_then_a_close() {
    let t = start().await;
    for op in [10, 0, 13, 20] {
        let mut c = Client::connect(t.addr).await;
        let mut frame = RequestHeader { xid: 5, op }.to_bytes();
        frame.extend(JString::from("/x").to_bytes());
        frame.extend(0i32.to_be_bytes());
        c.send_raw(&frame).await;
        let reply = c.next_raw().await.expect("a reply");
        let header = ReplyHeader::decode(&reply).unwrap().1;
        assert_eq!((header.xid, header.err), (5, -6), "op {op}");
        assert!(c.closed().await, "op {op}");
    }
}

#[tokio::test]
async fn who_am_i_lists_ip_first() {
    let t = start().await;
    let mut c = Client::connect(t.addr).await;
    assert_eq!(c.add_auth("digest", b"bob:pw").await, 0);
    let (_, body) = c.call(Request::WhoAmI).await;
    let Some(Response::WhoAmI(r)) = body else { panic!() };
    assert_eq!(r.client_info[0], ClientInfo { auth_scheme: "ip".into(), user: "127.0.0.1".into() });
    assert_eq!(r.client_info[1], ClientInfo { auth_scheme: "digest".into(), user: "bob".into() });
}
