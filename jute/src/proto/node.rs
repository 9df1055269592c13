//! Requests and responses of the operations on one znode: create, delete, exists, getData,
//! setData, getACL, setACL, getChildren, sync, check, and the counting reads.

use crate::proto::data::{Acl, Stat};
use crate::{record, Buffer, JString};

record! {
    /// create (1), create2 (15) and createContainer (19).
    pub struct CreateRequest {
        pub path: JString,
        pub data: Buffer,
        pub acl: Vec<Acl>,
        pub flags: i32,
    }
}

record! {
    /// createTTL (21).
    pub struct CreateTtlRequest {
        pub path: JString,
        pub data: Buffer,
        pub acl: Vec<Acl>,
        pub flags: i32,
        pub ttl: i64,
    }
}

record! {
    pub struct CreateResponse {
        pub path: JString,
    }
}

record! {
    /// The reply of create2, createContainer and createTTL.
    pub struct Create2Response {
        pub path: JString,
        pub stat: Stat,
    }
}

record! {
    pub struct DeleteRequest {
        pub path: JString,
        pub version: i32,
    }
}

record! {
    /// The internal reaper's delete (20); refused from clients.
    pub struct DeleteContainerRequest {
        pub path: JString,
    }
}

record! {
    /// exists, getData, getChildren and getChildren2 share this layout.
    pub struct PathWatchRequest {
        pub path: JString,
        pub watch: bool,
    }
}

record! {
    /// The reply of exists, setData and setACL.
    pub struct StatResponse {
        pub stat: Stat,
    }
}

record! {
    pub struct GetDataResponse {
        pub data: Buffer,
        pub stat: Stat,
    }
}

record! {
    pub struct SetDataRequest {
        pub path: JString,
        pub data: Buffer,
        pub version: i32,
    }
}

record! {
    /// getACL, sync, getEphemerals and getAllChildrenNumber carry only a path.
    pub struct PathRequest {
        pub path: JString,
    }
}

record! {
    pub struct GetAclResponse {
        pub acl: Vec<Acl>,
        pub stat: Stat,
    }
}

record! {
    pub struct SetAclRequest {
        pub path: JString,
        pub acl: Vec<Acl>,
        pub version: i32,
    }
}

record! {
    pub struct GetChildrenResponse {
        pub children: Vec<JString>,
    }
}

record! {
    pub struct GetChildren2Response {
        pub children: Vec<JString>,
        pub stat: Stat,
    }
}

record! {
    /// check (13), valid only inside a multi.
    pub struct CheckVersionRequest {
        pub path: JString,
        pub version: i32,
    }
}

record! {
    /// The reply of sync: the request's path echoed.
    pub struct SyncResponse {
        pub path: JString,
    }
}

record! {
    pub struct GetEphemeralsResponse {
        pub ephemerals: Vec<JString>,
    }
}

record! {
    pub struct GetAllChildrenNumberResponse {
        pub total_number: i32,
    }
}

record! {
    pub struct ReconfigRequest {
        pub joining_servers: JString,
        pub leaving_servers: JString,
        pub new_members: JString,
        pub cur_config_id: i64,
    }
}

record! {
    /// An error as a record: addWatch's success reply, and a multi's error result.
    pub struct ErrorResponse {
        pub err: i32,
    }
}
