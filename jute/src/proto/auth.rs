//! Authentication records: auth packets, SASL tokens and whoAmI.

use crate::proto::data::ClientInfo;
use crate::{record, Buffer, JString};

record! {
    /// auth (100). Every client sends `auth_type` 0 and the server ignores it.
    pub struct AuthPacket {
        pub auth_type: i32,
        pub scheme: JString,
        pub auth: Buffer,
    }
}

record! {
    /// One SASL token in either direction (102): GetSASLRequest and SetSASLResponse.
    pub struct SaslToken {
        pub token: Buffer,
    }
}

record! {
    pub struct WhoAmIResponse {
        pub client_info: Vec<ClientInfo>,
    }
}
