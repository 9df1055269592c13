//! proptest strategies for every record, shared by the round-trip and fuzz tests.
#![allow(dead_code)]

use jute::*;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

pub fn jstring() -> impl Strategy<Value = JString> {
    prop_oneof![
        1 => Just(JString::null()),
        1 => Just(JString::from("")),
        8 => ".{0,24}".prop_map(JString::from),
    ]
}

pub fn path() -> impl Strategy<Value = JString> {
    prop_oneof![
        1 => Just(JString::from("/")),
        6 => "(/[a-z0-9._-]{1,8}){1,4}".prop_map(JString::from),
        1 => jstring(),
    ]
}

pub fn buffer() -> impl Strategy<Value = Buffer> {
    option::of(vec(any::<u8>(), 0..64))
}

pub fn strings() -> impl Strategy<Value = Vec<JString>> {
    vec(path(), 0..5)
}

pub fn id() -> impl Strategy<Value = Id> {
    (jstring(), jstring()).prop_map(|(scheme, id)| Id { scheme, id })
}

pub fn acl() -> impl Strategy<Value = Acl> {
    (any::<i32>(), id()).prop_map(|(perms, id)| Acl { perms, id })
}

pub fn acls() -> impl Strategy<Value = Vec<Acl>> {
    vec(acl(), 0..4)
}

prop_compose! {
    pub fn stat()(
        zxids in any::<(i64, i64, i64)>(),
        times in any::<(i64, i64)>(),
        versions in any::<(i32, i32, i32)>(),
        owner in any::<i64>(),
        sizes in any::<(i32, i32)>(),
    ) -> Stat {
        Stat {
            czxid: zxids.0, mzxid: zxids.1, ctime: times.0, mtime: times.1,
            version: versions.0, cversion: versions.1, aversion: versions.2,
            ephemeral_owner: owner, data_length: sizes.0, num_children: sizes.1, pzxid: zxids.2,
        }
    }
}

pub fn connect_request() -> impl Strategy<Value = ConnectRequest> {
    (any::<(i32, i64, i32, i64)>(), buffer(), option::of(any::<bool>())).prop_map(
        |((protocol_version, last_zxid_seen, timeout_ms, session_id), passwd, read_only)| {
            ConnectRequest {
                protocol_version,
                last_zxid_seen,
                timeout_ms,
                session_id,
                passwd,
                read_only,
            }
        },
    )
}

pub fn connect_response() -> impl Strategy<Value = ConnectResponse> {
    (any::<(i32, i32, i64)>(), buffer(), option::of(any::<bool>())).prop_map(
        |((protocol_version, timeout_ms, session_id), passwd, read_only)| ConnectResponse {
            protocol_version,
            timeout_ms,
            session_id,
            passwd,
            read_only,
        },
    )
}

pub fn create() -> impl Strategy<Value = CreateRequest> {
    (path(), buffer(), acls(), any::<i32>()).prop_map(|(path, data, acl, flags)| CreateRequest {
        path,
        data,
        acl,
        flags,
    })
}

pub fn create_ttl() -> impl Strategy<Value = CreateTtlRequest> {
    (create(), any::<i64>()).prop_map(|(c, ttl)| CreateTtlRequest {
        path: c.path,
        data: c.data,
        acl: c.acl,
        flags: c.flags,
        ttl,
    })
}

pub fn path_watch() -> impl Strategy<Value = PathWatchRequest> {
    (path(), any::<bool>()).prop_map(|(path, watch)| PathWatchRequest { path, watch })
}

pub fn path_request() -> impl Strategy<Value = PathRequest> {
    path().prop_map(|path| PathRequest { path })
}

pub fn delete() -> impl Strategy<Value = DeleteRequest> {
    (path(), any::<i32>()).prop_map(|(path, version)| DeleteRequest { path, version })
}

pub fn set_data() -> impl Strategy<Value = SetDataRequest> {
    (path(), buffer(), any::<i32>()).prop_map(|(path, data, version)| SetDataRequest {
        path,
        data,
        version,
    })
}

pub fn check() -> impl Strategy<Value = CheckVersionRequest> {
    (path(), any::<i32>()).prop_map(|(path, version)| CheckVersionRequest { path, version })
}

pub fn multi_op() -> impl Strategy<Value = MultiOp> {
    let create_op =
        prop_oneof![Just(OpCode::Create), Just(OpCode::Create2), Just(OpCode::CreateContainer)];
    prop_oneof![
        (create_op, create()).prop_map(|(op, r)| MultiOp::Create(op, r)),
        create_ttl().prop_map(MultiOp::CreateTtl),
        delete().prop_map(MultiOp::Delete),
        set_data().prop_map(MultiOp::SetData),
        check().prop_map(MultiOp::Check),
        path_watch().prop_map(MultiOp::GetData),
        path_watch().prop_map(MultiOp::GetChildren),
    ]
}

pub fn multi_request() -> impl Strategy<Value = MultiRequest> {
    vec(multi_op(), 0..6).prop_map(|ops| MultiRequest { ops })
}

pub fn set_watches() -> impl Strategy<Value = SetWatches> {
    (any::<i64>(), strings(), strings(), strings()).prop_map(|(z, d, e, c)| SetWatches {
        relative_zxid: z,
        data_watches: d,
        exist_watches: e,
        child_watches: c,
    })
}

pub fn set_watches2() -> impl Strategy<Value = SetWatches2> {
    (set_watches(), strings(), strings()).prop_map(|(w, p, r)| SetWatches2 {
        relative_zxid: w.relative_zxid,
        data_watches: w.data_watches,
        exist_watches: w.exist_watches,
        child_watches: w.child_watches,
        persistent_watches: p,
        persistent_recursive_watches: r,
    })
}

pub fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        create().prop_map(Request::Create),
        create().prop_map(Request::Create2),
        create().prop_map(Request::CreateContainer),
        create_ttl().prop_map(Request::CreateTtl),
        delete().prop_map(Request::Delete),
        path().prop_map(|path| Request::DeleteContainer(DeleteContainerRequest { path })),
        path_watch().prop_map(Request::Exists),
        path_watch().prop_map(Request::GetData),
        set_data().prop_map(Request::SetData),
        path_request().prop_map(Request::GetAcl),
        (path(), acls(), any::<i32>())
            .prop_map(|(path, acl, version)| Request::SetAcl(SetAclRequest { path, acl, version })),
        path_watch().prop_map(Request::GetChildren),
        path_watch().prop_map(Request::GetChildren2),
        path_request().prop_map(Request::Sync),
        Just(Request::Ping),
        check().prop_map(Request::Check),
        multi_request().prop_map(Request::Multi),
        multi_request().prop_map(Request::MultiRead),
        (jstring(), jstring(), jstring(), any::<i64>()).prop_map(|(j, l, n, c)| {
            Request::Reconfig(ReconfigRequest {
                joining_servers: j,
                leaving_servers: l,
                new_members: n,
                cur_config_id: c,
            })
        }),
        (path(), any::<i32>())
            .prop_map(|(path, t)| Request::CheckWatches(WatchesRequest { path, watcher_type: t })),
        (path(), any::<i32>())
            .prop_map(|(path, t)| Request::RemoveWatches(WatchesRequest { path, watcher_type: t })),
        (any::<i32>(), jstring(), buffer())
            .prop_map(|(t, scheme, auth)| Request::Auth(AuthPacket { auth_type: t, scheme, auth })),
        set_watches().prop_map(Request::SetWatches),
        set_watches2().prop_map(Request::SetWatches2),
        buffer().prop_map(|token| Request::Sasl(SaslToken { token })),
        path_request().prop_map(Request::GetEphemerals),
        path_request().prop_map(Request::GetAllChildrenNumber),
        (path(), any::<i32>())
            .prop_map(|(path, mode)| Request::AddWatch(AddWatchRequest { path, mode })),
        Just(Request::WhoAmI),
        Just(Request::CloseSession),
    ]
}

pub fn multi_result() -> impl Strategy<Value = MultiResult> {
    prop_oneof![
        path().prop_map(|path| MultiResult::Create(CreateResponse { path })),
        (path(), stat())
            .prop_map(|(path, stat)| MultiResult::Create2(Create2Response { path, stat })),
        Just(MultiResult::Delete),
        stat().prop_map(MultiResult::SetData),
        Just(MultiResult::Check),
        (buffer(), stat())
            .prop_map(|(data, stat)| MultiResult::GetData(GetDataResponse { data, stat })),
        strings().prop_map(|children| MultiResult::GetChildren(GetChildrenResponse { children })),
        any::<i32>().prop_map(MultiResult::Error),
    ]
}

/// A response paired with an opcode whose reply it can be.
pub fn response() -> impl Strategy<Value = (OpCode, Response)> {
    prop_oneof![
        Just((OpCode::Delete, Response::Empty)),
        path().prop_map(|path| (OpCode::Create, Response::Create(CreateResponse { path }))),
        (path(), stat()).prop_map(|(path, stat)| {
            (OpCode::Create2, Response::Create2(Create2Response { path, stat }))
        }),
        stat().prop_map(|stat| (OpCode::Exists, Response::Stat(StatResponse { stat }))),
        (buffer(), stat()).prop_map(|(data, stat)| {
            (OpCode::GetData, Response::GetData(GetDataResponse { data, stat }))
        }),
        (acls(), stat()).prop_map(|(acl, stat)| {
            (OpCode::GetAcl, Response::GetAcl(GetAclResponse { acl, stat }))
        }),
        strings().prop_map(|children| {
            (OpCode::GetChildren, Response::GetChildren(GetChildrenResponse { children }))
        }),
        (strings(), stat()).prop_map(|(children, stat)| {
            (OpCode::GetChildren2, Response::GetChildren2(GetChildren2Response { children, stat }))
        }),
        path().prop_map(|path| (OpCode::Sync, Response::Sync(SyncResponse { path }))),
        vec(multi_result(), 0..6)
            .prop_map(|results| (OpCode::Multi, Response::Multi(MultiResponse { results }))),
        buffer().prop_map(|token| (OpCode::Sasl, Response::Sasl(SaslToken { token }))),
        strings().prop_map(|ephemerals| {
            (OpCode::GetEphemerals, Response::GetEphemerals(GetEphemeralsResponse { ephemerals }))
        }),
        any::<i32>().prop_map(|total_number| {
            (
                OpCode::GetAllChildrenNumber,
                Response::GetAllChildrenNumber(GetAllChildrenNumberResponse { total_number }),
            )
        }),
        vec((jstring(), jstring()), 0..3).prop_map(|infos| {
            let client_info = infos
                .into_iter()
                .map(|(auth_scheme, user)| ClientInfo { auth_scheme, user })
                .collect();
            (OpCode::WhoAmI, Response::WhoAmI(WhoAmIResponse { client_info }))
        }),
        any::<i32>().prop_map(|err| (OpCode::AddWatch, Response::AddWatch(ErrorResponse { err }))),
    ]
}

pub fn watcher_event() -> impl Strategy<Value = WatcherEvent> {
    (any::<i32>(), any::<i32>(), path()).prop_map(|(event_type, state, path)| WatcherEvent {
        event_type,
        state,
        path,
    })
}
