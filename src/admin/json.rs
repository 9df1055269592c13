//! JSON as the AdminServer writes it: values in the order they were put, printed the way
//! ZooKeeper's Jackson pretty-printer prints them (two-space indents, `"key" : value`,
//! arrays on one line: `[ 1, 2 ]`, empty containers as `{ }` and `[ ]`).

use std::fmt::Write;

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Json>),
    Object(Object),
}

/// An object whose keys keep the order they were first put in; putting a key again
/// replaces its value in place, as Java's `LinkedHashMap` does.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object(Vec<(String, Json)>);

impl Object {
    pub fn new() -> Self {
        Object(Vec::new())
    }

    pub fn put(&mut self, key: impl Into<String>, value: impl Into<Json>) {
        let key = key.into();
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn entries(&self) -> impl Iterator<Item = &(String, Json)> {
        self.0.iter()
    }
}

impl From<bool> for Json {
    fn from(v: bool) -> Self {
        Json::Bool(v)
    }
}

macro_rules! ints {
    ($($t:ty),*) => {$(
        impl From<$t> for Json {
            fn from(v: $t) -> Self {
                Json::Int(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
    )*};
}
ints!(u8, u16, i32, i64, u32, u64, usize);

impl From<f64> for Json {
    fn from(v: f64) -> Self {
        Json::Float(v)
    }
}

impl From<&str> for Json {
    fn from(v: &str) -> Self {
        Json::Str(v.to_owned())
    }
}

impl From<String> for Json {
    fn from(v: String) -> Self {
        Json::Str(v)
    }
}

impl From<Object> for Json {
    fn from(v: Object) -> Self {
        Json::Object(v)
    }
}

impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(v: Vec<T>) -> Self {
        Json::List(v.into_iter().map(Into::into).collect())
    }
}

impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Self {
        v.map_or(Json::Null, Into::into)
    }
}

impl Json {
    /// The pretty-printed text, without a trailing newline (as Jackson writes it).
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out
    }

    /// `depth` counts enclosing objects only: arrays are printed inline and indent nothing.
    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(v) => out.push_str(if *v { "true" } else { "false" }),
            Json::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Json::Float(v) => out.push_str(&java_double(*v)),
            Json::Str(v) => out.push_str(&quoted(v)),
            Json::List(items) if items.is_empty() => out.push_str("[ ]"),
            Json::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { " " } else { ", " });
                    item.write(out, depth);
                }
                out.push_str(" ]");
            }
            Json::Object(object) if object.0.is_empty() => out.push_str("{ }"),
            Json::Object(object) => {
                out.push('{');
                for (i, (key, value)) in object.0.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    out.push_str(&quoted(key));
                    out.push_str(" : ");
                    value.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    (0..depth).for_each(|_| out.push_str("  "));
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Java's `Double.toString` for the values a server reports: `6.0`, `0.25`; not-a-number
/// and infinities as Jackson writes them (strings would break parsers; it writes bare
/// `NaN`, so clients never see one from corral: they print 0.0).
fn java_double(v: f64) -> String {
    if !v.is_finite() {
        return "0.0".to_owned();
    }
    let text = format!("{v}");
    if text.contains('.') || text.contains('e') {
        text
    } else {
        format!("{text}.0")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_jackson_indents() {
        let mut inner = Object::new();
        inner.put("a", 1);
        let mut top = Object::new();
        top.put("list", vec![Json::from(inner.clone()), Json::from(inner)]);
        top.put("empty_list", Vec::<i64>::new());
        top.put("empty", Object::new());
        top.put("avg", 6.0);
        top.put("text", "a\"b\n");
        top.put("error", Json::Null);
        let expected = "{\n  \"list\" : [ {\n    \"a\" : 1\n  }, {\n    \"a\" : 1\n  } ],\n  \
                        \"empty_list\" : [ ],\n  \"empty\" : { },\n  \"avg\" : 6.0,\n  \
                        \"text\" : \"a\\\"b\\n\",\n  \"error\" : null\n}";
        assert_eq!(Json::from(top).pretty(), expected);
    }

    #[test]
    fn putting_a_key_again_keeps_its_place() {
        let mut o = Object::new();
        o.put("error", "x");
        o.put("command", "leader");
        o.put("error", "y");
        let keys: Vec<&str> = o.entries().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["error", "command"]);
        assert_eq!(o.get("error"), Some(&Json::from("y")));
    }

    #[test]
    fn doubles_print_as_java_does() {
        assert_eq!(java_double(6.0), "6.0");
        assert_eq!(java_double(0.2), "0.2");
        assert_eq!(java_double(f64::NAN), "0.0");
    }
}
