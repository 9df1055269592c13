//! Records that describe znodes and identities: Stat, Id, ACL, ClientInfo.

use crate::{record, JString};

record! {
    /// An identity: a scheme (world, auth, digest, ip, ...) and an id in that scheme.
    pub struct Id {
        pub scheme: JString,
        pub id: JString,
    }
}

record! {
    /// One ACL entry: permission bits granted to an identity.
    pub struct Acl {
        pub perms: i32,
        pub id: Id,
    }
}

record! {
    /// A znode's metadata as clients see it: 68 bytes in this order.
    pub struct Stat {
        pub czxid: i64,
        pub mzxid: i64,
        pub ctime: i64,
        pub mtime: i64,
        pub version: i32,
        pub cversion: i32,
        pub aversion: i32,
        pub ephemeral_owner: i64,
        pub data_length: i32,
        pub num_children: i32,
        pub pzxid: i64,
    }
}

record! {
    /// One authenticated identity of a connection, as whoAmI reports it.
    pub struct ClientInfo {
        pub auth_scheme: JString,
        pub user: JString,
    }
}

impl Id {
    pub fn new(scheme: &str, id: &str) -> Self {
        Id { scheme: scheme.into(), id: id.into() }
    }
}

impl Acl {
    pub fn new(perms: i32, scheme: &str, id: &str) -> Self {
        Acl { perms, id: Id::new(scheme, id) }
    }
}
