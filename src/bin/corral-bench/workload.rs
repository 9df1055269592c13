//! The workloads: what each request of a session is.

use jute::{CreateRequest, DeleteRequest, PathWatchRequest, Request, SetDataRequest};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Sequential persistent creates of `size` bytes.
    Create,
    /// setData of `size` bytes on the session's own node.
    Set,
    /// getData of the session's own node.
    Get,
    /// exists on the session's own node.
    Exists,
    /// 90% getData, 10% setData.
    Mixed,
    /// create of an ephemeral node, then its delete (each counts as one request).
    Ephemeral,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Create => "create",
            Workload::Set => "set",
            Workload::Get => "get",
            Workload::Exists => "exists",
            Workload::Mixed => "mixed",
            Workload::Ephemeral => "ephemeral",
        }
    }

    /// The `n`th request of session `index` (paths under `root`).
    pub fn request(self, root: &str, index: usize, n: u64, data: &[u8]) -> Request {
        let own = format!("{root}/s{index}");
        let open = vec![jute::Acl::new(jute::perms::ALL, "world", "anyone")];
        match self {
            Workload::Create => Request::Create(CreateRequest {
                path: format!("{own}/c-").into(),
                data: Some(data.to_vec()),
                acl: open,
                flags: 2,
            }),
            Workload::Set => set(&own, data),
            Workload::Get => get(&own),
            Workload::Exists => {
                Request::Exists(PathWatchRequest { path: own.into(), watch: false })
            }
            Workload::Mixed if n % 10 == 9 => set(&own, data),
            Workload::Mixed => get(&own),
            Workload::Ephemeral => {
                let path = format!("{own}/e{}", n / 2);
                if n % 2 == 0 {
                    Request::Create(CreateRequest {
                        path: path.into(),
                        data: Some(data.to_vec()),
                        acl: open,
                        flags: 1,
                    })
                } else {
                    Request::Delete(DeleteRequest { path: path.into(), version: -1 })
                }
            }
        }
    }
}

fn set(path: &str, data: &[u8]) -> Request {
    Request::SetData(SetDataRequest { path: path.into(), data: Some(data.to_vec()), version: -1 })
}

fn get(path: &str) -> Request {
    Request::GetData(PathWatchRequest { path: path.into(), watch: false })
}
