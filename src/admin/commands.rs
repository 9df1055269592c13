//! The AdminServer's commands: every name and alias ZooKeeper 3.9 registers, what each needs
//! (a serving server, auth), and the envelope around its answer (`command`, `error`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};

use hyper::StatusCode;

use super::json::{Json, Object};
use super::{auth, backup, environment, quorum, state, stats};
use crate::four_letter::ensemble::not_serving;
use crate::node::Node;

/// What a command is run with.
pub struct Call<'a> {
    pub node: &'a Node,
    /// The query parameters, the first value of each (as ZooKeeper takes them).
    pub args: &'a HashMap<String, String>,
    pub limits: &'a Limits,
}

/// What the AdminServer remembers between calls: when `snapshot` and `restore` last ran
/// (ZooKeeper lets one of each through per interval).
#[derive(Debug, Default)]
pub struct Limits {
    pub snapshot: RateLimit,
    pub restore: RateLimit,
}

/// One call per interval, the first at once (ZooKeeper's `RateLimiter` of rate 1).
#[derive(Debug, Default)]
pub struct RateLimit(parking_lot::Mutex<Option<std::time::Instant>>);

impl RateLimit {
    pub fn allow(&self, interval: std::time::Duration) -> bool {
        let mut last = self.0.lock();
        if last.is_some_and(|at| at.elapsed() < interval) {
            return false;
        }
        *last = Some(std::time::Instant::now());
        true
    }
}

/// A command's answer before the envelope: its fields and the HTTP status, and the headers
/// and file body of an answer that streams one (`snapshot`).
pub struct Answer {
    pub status: StatusCode,
    pub fields: Object,
    pub headers: Vec<(&'static str, String)>,
    pub stream: Option<(std::fs::File, u64)>,
}

type Run = fn(&Call, &mut Answer);

pub struct Command {
    /// The primary name first (the one `command` echoes), then the aliases.
    pub names: &'static [&'static str],
    /// Refused with ZooKeeper's not-serving error while the server serves no one.
    pub needs_server: bool,
    /// Needs ALL on `/` through the Authorization header (ZooKeeper 3.9).
    pub protected: bool,
    /// Run by POST (restore); the rest by GET.
    pub post: bool,
    run: Run,
}

const fn get(names: &'static [&'static str], needs_server: bool, run: Run) -> Command {
    Command { names, needs_server, protected: false, post: false, run }
}

/// A command that needs a server and ALL on `/`.
const fn protected(names: &'static [&'static str], post: bool, run: Run) -> Command {
    Command { names, needs_server: true, protected: true, post, run }
}

/// In the order ZooKeeper registers them.
pub static COMMANDS: &[Command] = &[
    get(&["connection_stat_reset", "crst"], true, stats::connection_stat_reset),
    get(&["configuration", "conf", "config"], true, quorum::configuration),
    get(&["connections", "cons"], true, stats::connections),
    get(&["hash"], true, state::hash),
    get(&["dirs"], true, state::dirs),
    get(&["dump"], true, state::dump),
    get(&["environment", "env", "envi"], false, environment::environment),
    get(&["get_trace_mask", "gtmk"], false, state::get_trace_mask),
    get(&["initial_configuration", "icfg"], true, quorum::initial_configuration),
    get(&["is_read_only", "isro"], true, state::is_read_only),
    get(&["last_snapshot", "lsnp"], true, state::last_snapshot),
    get(&["leader", "lead"], true, quorum::leader),
    get(&["monitor", "mntr"], false, stats::monitor),
    get(&["observer_connection_stat_reset", "orst"], true, stats::nothing),
    // Run with its body by `restore::restore`, once the checks here pass.
    protected(&["restore", "rest"], true, |_, _| {}),
    get(&["ruok"], true, stats::nothing),
    get(&["set_trace_mask", "stmk"], false, state::set_trace_mask),
    protected(&["snapshot", "snap"], false, backup::snapshot),
    get(&["server_stats", "srvr"], true, stats::server_stats),
    get(&["stats", "stat"], true, stats::stats),
    get(&["stat_reset", "srst"], true, stats::stat_reset),
    get(&["observers", "obsr"], true, stats::observers),
    get(&["system_properties", "sysp"], false, environment::system_properties),
    get(&["voting_view"], true, quorum::voting_view),
    get(&["watches", "wchc"], true, state::watches),
    get(&["watches_by_path", "wchp"], true, state::watches_by_path),
    get(&["watch_summary", "wchs"], true, state::watch_summary),
    get(&["zabstate"], false, quorum::zabstate),
];

impl Command {
    pub fn primary(&self) -> &'static str {
        self.names[0]
    }
}

/// Commands whose answer grows with the sessions, watches, connections, metric keys or tree.
const HEAVY: &[&str] = &[
    "snapshot",
    "connections",
    "stats",
    "server_stats",
    "monitor",
    "dump",
    "watches",
    "watches_by_path",
    "watch_summary",
    "hash",
];

pub fn is_heavy(name: &str) -> bool {
    find(name).is_some_and(|c| HEAVY.contains(&c.primary()))
}

pub fn find(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.names.contains(&name))
}

/// The primary names, sorted, as the command list shows them.
pub fn primary_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = COMMANDS.iter().map(Command::primary).collect();
    names.sort_unstable();
    names
}

/// How a request was made, as far as the commands care.
pub struct Request {
    pub name: String,
    pub post: bool,
    pub args: HashMap<String, String>,
    pub authorization: Option<String>,
    pub peer: IpAddr,
}

/// What the HTTP side sends back.
pub type Headers = Vec<(&'static str, String)>;

pub enum Reply {
    Json(StatusCode, Json, Headers),
    /// A file's bytes (a snapshot), with the command's headers.
    Stream(Headers, std::fs::File, u64),
    /// A GET of a POST command or the reverse: ZooKeeper's servlet fails (500).
    WrongMethod,
    /// A POST command (`restore`) that passed its checks: it runs with the request's body.
    Upload,
}

/// Runs `request` as ZooKeeper does: unknown name, then not serving, then auth, then the
/// command. The errors before the command echo the name as typed; answers name the primary.
pub fn answer(node: &Node, limits: &Limits, request: &Request) -> Reply {
    let name = request.name.as_str();
    let Some(command) = find(name) else {
        log_unknown(name);
        let error = format!("Unknown command: {name}");
        return Reply::Json(StatusCode::OK, envelope(name, Some(error), Object::new()), vec![]);
    };
    if command.needs_server && not_serving(node) {
        let error = "This ZooKeeper instance is not currently serving requests".to_owned();
        return Reply::Json(StatusCode::OK, envelope(name, Some(error), Object::new()), vec![]);
    }
    if command.protected {
        if let Err(refusal) = auth::check(node, request.authorization.as_deref(), request.peer) {
            let error = refusal.error().to_owned();
            let json = envelope(name, Some(error), Object::new());
            return Reply::Json(refusal.status(), json, vec![]);
        }
    }
    if command.post != request.post {
        return Reply::WrongMethod;
    }
    if command.post {
        return Reply::Upload;
    }
    let mut answer =
        Answer { status: StatusCode::OK, fields: Object::new(), headers: vec![], stream: None };
    (command.run)(&Call { node, args: &request.args, limits }, &mut answer);
    match answer.stream {
        Some((file, len)) => Reply::Stream(answer.headers, file, len),
        None => {
            let json = envelope(command.primary(), None, answer.fields);
            Reply::Json(answer.status, json, answer.headers)
        }
    }
}

/// A command's fields in ZooKeeper's envelope, as JSON.
pub fn json(status: StatusCode, command: &str, fields: Object) -> Reply {
    Reply::Json(status, envelope(command, None, fields), vec![])
}

/// At most one line a second, and the name cut short: anyone may ask for any name.
fn log_unknown(name: &str) {
    static LAST_MS: AtomicI64 = AtomicI64::new(0);
    let now = crate::clock::now_ms();
    let last = LAST_MS.load(Ordering::Relaxed);
    if now - last >= 1000
        && LAST_MS.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    {
        let name: String = name.chars().take(64).collect();
        tracing::info!(name, "unknown admin command (logged at most once a second)");
    }
}

/// The fields, then `command` and `error`; a field a command named `error` keeps its place
/// and its value (ZooKeeper's `CommandResponse.toMap`).
fn envelope(command: &str, error: Option<String>, fields: Object) -> Json {
    let mut out = fields.clone();
    out.put("command", command);
    out.put("error", Json::from(error));
    if let Some(own) = fields.get("error") {
        out.put("error", own.clone());
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_unique() {
        let mut names: Vec<&str> = COMMANDS.iter().flat_map(|c| c.names.iter().copied()).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
        assert_eq!(find("mntr").map(Command::primary), Some("monitor"));
    }

    #[test]
    fn a_commands_own_error_keeps_its_place() {
        let mut fields = Object::new();
        fields.put("error", "server is not initialized");
        let text = envelope("leader", None, fields).pretty();
        assert_eq!(
            text,
            "{\n  \"error\" : \"server is not initialized\",\n  \"command\" : \"leader\"\n}"
        );
    }
}
