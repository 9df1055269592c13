//! `JString`, a Jute `ustring` that remembers whether it was null. kazoo writes every empty string
//! as null (-1); ZooKeeper treats null as empty, and so does every accessor here, but the
//! distinction is kept so a decoded record re-encodes to the same bytes.

use std::fmt;
use std::ops::Deref;

#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JString(Option<String>);

impl JString {
    /// The null string (length -1 on the wire).
    pub const fn null() -> Self {
        JString(None)
    }

    pub fn from_option(value: Option<String>) -> Self {
        JString(value)
    }

    pub fn as_option(&self) -> Option<&str> {
        self.0.as_deref()
    }

    pub fn is_null(&self) -> bool {
        self.0.is_none()
    }

    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    /// The value, with null read as empty.
    pub fn into_string(self) -> String {
        self.0.unwrap_or_default()
    }
}

impl Deref for JString {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for JString {
    fn from(value: String) -> Self {
        JString(Some(value))
    }
}

impl From<&str> for JString {
    fn from(value: &str) -> Self {
        JString(Some(value.to_owned()))
    }
}

impl PartialEq<str> for JString {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for JString {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for JString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("null"),
            Some(s) => fmt::Debug::fmt(s, f),
        }
    }
}

impl fmt::Display for JString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
