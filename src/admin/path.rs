//! The request target as Jetty reads it before the AdminServer sees it: the path decoded and
//! made canonical (`;` parameters dropped, `.` and `..` resolved), and the query decoded as a
//! form. What Jetty answers 400 to is `None` here.

use std::collections::HashMap;

/// The canonical, decoded path; `None` for a bad escape, an encoded `/`, or a `..` above
/// the root.
pub fn canonical(raw: &str) -> Option<String> {
    let mut segments: Vec<String> = Vec::new();
    for segment in raw.split('/') {
        let segment = segment.split(';').next().unwrap_or("");
        let decoded = decode(segment)?;
        let decoded = String::from_utf8(decoded).unwrap_or_else(|e| latin1(e.as_bytes()));
        match decoded.as_str() {
            _ if decoded.contains('/') => return None,
            "." => {}
            ".." => {
                segments.pop()?;
                if segments.is_empty() {
                    return None;
                }
            }
            _ => segments.push(decoded),
        }
    }
    Some(segments.join("/"))
}

/// The query's parameters decoded as a form (`+` is a space); the first value of a name
/// wins. `None` for a bad escape or text that is not UTF-8.
pub fn query_args(query: &str) -> Option<HashMap<String, String>> {
    let mut args = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let text = |part: &str| String::from_utf8(decode(&part.replace('+', " "))?).ok();
        args.entry(text(key)?).or_insert(text(value)?);
    }
    Some(args)
}

/// `%XX` escapes decoded; `None` unless each `%` has two hex digits after it.
fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
        out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
        i += 3;
    }
    Some(out)
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|b| *b as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_made_canonical_as_jetty_does() {
        assert_eq!(canonical("/commands/ruok").as_deref(), Some("/commands/ruok"));
        assert_eq!(canonical("/commands/../commands/ruok").as_deref(), Some("/commands/ruok"));
        assert_eq!(canonical("/commands/%2e%2e/commands/ruok").as_deref(), Some("/commands/ruok"));
        assert_eq!(canonical("/commands/./ruok;jsessionid=1").as_deref(), Some("/commands/ruok"));
        assert_eq!(canonical("/commands/../x").as_deref(), Some("/x"));
        assert_eq!(canonical("/%ff").as_deref(), Some("/\u{ff}"));
        for bad in ["/commands/%zz", "/commands/%+6", "/commands/%2fx", "/..", "/a/../.."] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
    }

    #[test]
    fn queries_decode_as_a_form_and_the_first_value_wins() {
        let args = query_args("traceMask=5&traceMask=6&a+b=c%20d&flag").unwrap();
        assert_eq!((args["traceMask"].as_str(), args["a b"].as_str()), ("5", "c d"));
        assert_eq!(args["flag"], "");
        assert_eq!(query_args("bad=%zz"), None);
        assert_eq!(query_args("bad=%ff"), None, "not UTF-8");
    }
}
