//! Quotas as ZooKeeper keeps them: limits in `/zookeeper/quota/<path>/zookeeper_limits`,
//! usage written by the server into `.../zookeeper_stats` (data only; its Stat never changes),
//! and hard limits enforced only with `enforceQuota`.

use super::{path, DataTree, Undo};

pub const QUOTA_ROOT: &str = "/zookeeper/quota";
const LIMITS: &str = "zookeeper_limits";
const STATS: &str = "zookeeper_stats";

fn node_path(quota_path: &str, leaf: &str) -> String {
    if quota_path == "/" {
        format!("{QUOTA_ROOT}/{leaf}")
    } else {
        format!("{QUOTA_ROOT}{quota_path}/{leaf}")
    }
}

/// ZooKeeper's StatsTrack text: `count=N,bytes=N`, then (for extra keys) `=` and sorted
/// `;key=value` pairs. Parsers split on `,` or `;`, then on `=`; an empty value is -1.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsTrack {
    entries: Vec<(String, i64)>,
}

impl StatsTrack {
    pub fn parse(text: &str) -> StatsTrack {
        let mut entries: Vec<(String, i64)> = Vec::new();
        for part in text.split([',', ';']).filter(|p| !p.is_empty()) {
            let mut kv = part.split('=');
            let key = kv.next().unwrap_or("").trim().to_owned();
            let value =
                kv.next().map(str::trim).filter(|v| !v.is_empty()).and_then(|v| v.parse().ok());
            if !key.is_empty() {
                entries.retain(|(k, _)| *k != key);
                entries.push((key, value.unwrap_or(-1)));
            }
        }
        StatsTrack { entries }
    }

    pub fn get(&self, key: &str) -> i64 {
        self.entries.iter().find(|(k, _)| k == key).map_or(-1, |(_, v)| *v)
    }

    pub fn set(&mut self, key: &str, value: i64) {
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_owned(), value)),
        }
    }

    pub fn format(&self) -> String {
        let mut out = format!("count={},bytes={}", self.get("count"), self.get("bytes"));
        let mut extra: Vec<&(String, i64)> =
            self.entries.iter().filter(|(k, _)| k != "count" && k != "bytes").collect();
        if !extra.is_empty() {
            extra.sort();
            out.push('=');
            for (k, v) in extra {
                out.push_str(&format!(";{k}={v}"));
            }
        }
        out
    }
}

/// The quota'd path governing `p`: its longest ancestor-or-self with a limits node. The root
/// never counts as a quota, as in ZooKeeper.
pub fn governing(tree: &DataTree, p: &str) -> Option<String> {
    if p.starts_with(QUOTA_ROOT) || tree.get(QUOTA_ROOT).is_none_or(|n| n.children.is_empty()) {
        return None;
    }
    let mut current = Some(p);
    while let Some(at) = current.filter(|a| *a != "/") {
        if tree.contains(&node_path(at, LIMITS)) {
            return Some(at.to_owned());
        }
        current = path::parent(at);
    }
    None
}

fn read(tree: &DataTree, p: &str) -> Option<StatsTrack> {
    let data = tree.get(p)?.data.as_deref().unwrap_or_default();
    Some(StatsTrack::parse(&String::from_utf8_lossy(data)))
}

/// With `enforceQuota`, refuses a change that would pass a hard limit of the governing quota.
pub fn exceeds(tree: &DataTree, p: &str, count_diff: i64, bytes_diff: i64) -> bool {
    let Some(quota) = governing(tree, p) else { return false };
    let (Some(limits), Some(usage)) =
        (read(tree, &node_path(&quota, LIMITS)), read(tree, &node_path(&quota, STATS)))
    else {
        return false;
    };
    // Java's long arithmetic, as ZooKeeper's check: usage is client-writable data, so any
    // value may be there, and a sum past i64::MAX wraps rather than panics.
    let over = |limit: i64, used: i64, diff: i64| {
        limit > -1 && diff > 0 && used.wrapping_add(diff) > limit
    };
    over(limits.get("countHardLimit"), usage.get("count"), count_diff)
        || over(limits.get("byteHardLimit"), usage.get("bytes"), bytes_diff)
}

/// Adds a change under `p` to its governing quota's usage; returns the undo, if any.
pub fn account(tree: &mut DataTree, p: &str, count_diff: i64, bytes_diff: i64) -> Option<Undo> {
    let quota = governing(tree, p)?;
    let stats_path = node_path(&quota, STATS);
    let mut usage = read(tree, &stats_path)?;
    // Wrapping, as ZooKeeper's longs do: a client may have written any count into the node.
    usage.set("count", usage.get("count").wrapping_add(count_diff));
    usage.set("bytes", usage.get("bytes").wrapping_add(bytes_diff));
    Some(tree.set_quota_usage(&stats_path, usage.format().into_bytes()))
}

/// When a limits or stats node appears, the server writes the real usage into the stats node.
pub fn on_quota_node_created(tree: &mut DataTree, created: &str) -> Option<Undo> {
    let rest = created.strip_prefix(QUOTA_ROOT)?;
    let leaf = path::child_name(rest);
    if leaf != LIMITS && leaf != STATS {
        return None;
    }
    let quota = path::parent(rest).filter(|q| !q.is_empty())?.to_owned();
    let stats_path = node_path(&quota, STATS);
    let mut usage = read(tree, &stats_path)?;
    let (count, bytes) = tree.usage(&quota);
    usage.set("count", count);
    usage.set("bytes", bytes);
    Some(tree.set_quota_usage(&stats_path, usage.format().into_bytes()))
}

/// Writes the real usage of `quota` into its stats node as a fresh `count=N,bytes=N`, as
/// ZooKeeper does when it loads a snapshot and when a stats node is created during replay.
pub fn reset_usage(tree: &mut DataTree, quota: &str) {
    let stats_path = node_path(quota, STATS);
    if tree.contains(&stats_path) {
        let (count, bytes) = tree.usage(quota);
        tree.set_quota_usage(&stats_path, format!("count={count},bytes={bytes}").into_bytes());
    }
}

/// The quota'd path of a limits or stats node (`/zookeeper/quota/a/b/zookeeper_limits` is
/// `/a/b`), and whether it is the stats node.
pub fn quota_of(node: &str) -> Option<(&str, bool)> {
    let rest = node.strip_prefix(QUOTA_ROOT)?;
    let leaf = path::child_name(rest);
    if leaf != LIMITS && leaf != STATS {
        return None;
    }
    let quota = path::parent(rest).filter(|q| !q.is_empty())?;
    Some((quota, leaf == STATS))
}

/// One top-level namespace's quotas, summed over the quota'd paths under it, as ZooKeeper's
/// `quota_*_per_namespace` gauges report them: a hard limit where one is set, else the soft.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NamespaceQuota {
    pub count_limit: i64,
    pub bytes_limit: i64,
    pub count_usage: i64,
    pub bytes_usage: i64,
}

/// Every namespace with a quota, at most `max` of them (in name order).
pub fn namespace_totals(tree: &DataTree, max: usize) -> Vec<(String, NamespaceQuota)> {
    let mut totals: std::collections::BTreeMap<String, NamespaceQuota> = Default::default();
    let mut stack = vec![QUOTA_ROOT.to_owned()];
    while let Some(at) = stack.pop() {
        let Some(node) = tree.get(&at) else { continue };
        stack.extend(node.children.iter().map(|c| format!("{at}/{c}")));
        let Some(quota_path) = at.strip_prefix(QUOTA_ROOT).and_then(|r| {
            r.strip_suffix("/zookeeper_limits").or(r.strip_suffix("/zookeeper_stats"))
        }) else {
            continue;
        };
        let Some(namespace) = quota_path.split('/').find(|c| !c.is_empty()) else { continue };
        if !totals.contains_key(namespace) && totals.len() >= max {
            continue;
        }
        let track = read(tree, &at).unwrap_or_default();
        let total = totals.entry(namespace.to_owned()).or_default();
        let either = |hard: i64, soft: i64| if hard > -1 { hard } else { soft };
        if at.ends_with(LIMITS) {
            total.count_limit += either(track.get("countHardLimit"), track.get("count"));
            total.bytes_limit += either(track.get("byteHardLimit"), track.get("bytes"));
        } else {
            total.count_usage += track.get("count");
            total.bytes_usage += track.get("bytes");
        }
    }
    totals.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::tree::acl::open_acl;
    use crate::tree::{NewNode, NodeKind};

    fn add(tree: &mut DataTree, p: &str, data: &str) {
        let new = NewNode {
            data: Some(data.as_bytes().to_vec()),
            acl: Arc::new(open_acl()),
            kind: NodeKind::Persistent,
        };
        tree.create(p, new, 1, 1);
    }

    fn usage_text(tree: &DataTree) -> String {
        let stats = tree.get("/zookeeper/quota/q/zookeeper_stats").unwrap();
        String::from_utf8(stats.data.clone().unwrap()).unwrap()
    }

    /// Found by the `requests` fuzz target's harness: a client set the stats node to
    /// i64::MAX, and the next create under the quota overflowed (a panic with overflow checks).
    #[test]
    fn usage_written_by_a_client_wraps_as_java_longs_do() {
        let mut tree = DataTree::new();
        add(&mut tree, "/q", "");
        add(&mut tree, "/zookeeper/quota/q", "");
        add(
            &mut tree,
            "/zookeeper/quota/q/zookeeper_limits",
            "count=-1,bytes=-1=;countHardLimit=5",
        );
        let max = format!("count={},bytes={}", i64::MAX, i64::MIN);
        add(&mut tree, "/zookeeper/quota/q/zookeeper_stats", &max);
        assert!(!exceeds(&tree, "/q/a", 1, 1), "the sum wraps below the limit, as in ZooKeeper");
        account(&mut tree, "/q/a", 1, -1);
        assert_eq!(usage_text(&tree), format!("count={},bytes={}", i64::MIN, i64::MAX));
    }

    #[test]
    fn stats_track_formats_like_zookeeper() {
        let limits = StatsTrack::parse("count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=10");
        assert_eq!(limits.get("countHardLimit"), 10);
        assert_eq!(limits.get("bytes"), -1);
        assert_eq!(limits.format(), "count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=10");
        assert_eq!(StatsTrack::parse("count=2,bytes=").format(), "count=2,bytes=-1");
        assert_eq!(StatsTrack::parse("").format(), "count=-1,bytes=-1");
    }
}
