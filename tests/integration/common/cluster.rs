//! A cluster harness: N corral servers in this process, each with its own data directory,
//! client port (bound on port 0 of 127.0.0.1) and reserved quorum port, formed from the same
//! `server.N` lines as a real ensemble. Members can be stopped and started again on the same
//! quorum port and data.

use std::net::SocketAddr;

use corral::config::Config;
use corral::replication::Role;
use corral::server::{Listeners, Server};
use tokio::net::TcpListener;

use super::eventually;

pub struct Cluster {
    /// `server.N` lines and the settings every member shares.
    pub text: String,
    pub members: Vec<Member>,
}

pub struct Member {
    pub id: u64,
    pub dir: tempfile::TempDir,
    pub quorum: SocketAddr,
    pub server: Option<Server>,
    /// The client address of the last start.
    pub addr: SocketAddr,
    /// Where the last start serves Prometheus's `/metrics`.
    pub metrics: SocketAddr,
    /// Where the last start serves the AdminServer's commands.
    pub admin: SocketAddr,
}

impl Cluster {
    /// Binds N quorum ports and writes the config; starts nobody.
    pub async fn new(voters: usize, observers: usize) -> Cluster {
        // RUST_LOG=corral=debug shows what each member did when a test fails.
        let filter = tracing_subscriber::EnvFilter::from_default_env();
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
        let mut text = String::from("tickTime=100\ninitLimit=20\nsyncLimit=5\n");
        let mut members = Vec::new();
        for i in 0..voters + observers {
            let id = i as u64 + 1;
            let quorum = SocketAddr::from(([127, 0, 0, 1], super::reserved_port()));
            let role = if i < voters { "participant" } else { "observer" };
            // The election port is unused by corral but must be given and differ.
            text.push_str(&format!("server.{id}=127.0.0.1:{}:{}:{role}\n", quorum.port(), id));
            let dir = tempfile::tempdir().unwrap();
            let unbound = "127.0.0.1:0".parse().unwrap();
            let (addr, metrics, admin) = (unbound, unbound, unbound);
            members.push(Member { id, dir, quorum, server: None, addr, metrics, admin });
        }
        Cluster { text, members }
    }

    /// Member `i`'s configuration, as its zoo.cfg and myid give it.
    pub fn config(&self, i: usize) -> Config {
        let member = &self.members[i];
        let text = format!("dataDir={}\nclientPort=0\n{}", member.dir.path().display(), self.text);
        let mut config = Config::from_text(&text).unwrap();
        config.server_id = member.id as u8;
        config.client_addr = "127.0.0.1:0".parse().unwrap();
        config
    }

    /// Starts member `i` (0-based) on its quorum port and data directory.
    pub async fn start(&mut self, i: usize) {
        let config = self.config(i);
        let member = &mut self.members[i];
        let client = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = TcpListener::bind(member.quorum).await.unwrap();
        let metrics = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        member.metrics = metrics.local_addr().unwrap();
        member.admin = admin.local_addr().unwrap();
        let listeners =
            Listeners { client, peer: Some(peer), metrics: Some(metrics), admin: Some(admin) };
        let server = Server::start(config, listeners).await.unwrap();
        member.addr = server.addr;
        member.server = Some(server);
    }

    pub async fn start_all(&mut self) {
        for i in 0..self.members.len() {
            self.start(i).await;
        }
    }

    /// Stops member `i` as a clean shutdown does.
    pub async fn stop(&mut self, i: usize) {
        if let Some(server) = self.members[i].server.take() {
            server.stop().await;
        }
    }

    pub fn role(&self, i: usize) -> Option<Role> {
        self.members[i].server.as_ref().map(|s| s.node.role())
    }

    /// The index of the member that leads, once exactly one running member leads and every
    /// other running voter follows it.
    pub async fn leader(&self) -> usize {
        let settled = eventually(|| async { self.settled_leader().is_some() }).await;
        assert!(settled, "no leader settled: roles {:?}", self.roles());
        self.settled_leader().unwrap()
    }

    fn settled_leader(&self) -> Option<usize> {
        let running: Vec<usize> =
            (0..self.members.len()).filter(|i| self.members[*i].server.is_some()).collect();
        let leaders: Vec<usize> =
            running.iter().copied().filter(|i| self.role(*i) == Some(Role::Leader)).collect();
        let others_follow = running
            .iter()
            .all(|i| matches!(self.role(*i), Some(Role::Leader | Role::Follower | Role::Observer)));
        (leaders.len() == 1 && others_follow).then(|| leaders[0])
    }

    pub fn roles(&self) -> Vec<Option<Role>> {
        (0..self.members.len()).map(|i| self.role(i)).collect()
    }

    pub fn addr(&self, i: usize) -> SocketAddr {
        self.members[i].addr
    }

    pub async fn stop_all(mut self) {
        for i in 0..self.members.len() {
            self.stop(i).await;
        }
    }
}

impl Cluster {
    /// Like `new`, with more zoo.cfg lines for every member.
    pub async fn with_config(voters: usize, observers: usize, extra: &str) -> Cluster {
        let mut cluster = Cluster::new(voters, observers).await;
        cluster.text.push_str(extra);
        cluster
    }

    /// Member `i`'s last applied zxid.
    pub fn zxid(&self, i: usize) -> Option<i64> {
        self.members[i].server.as_ref().map(|s| s.node.last_zxid())
    }

    /// Waits until every running member has applied what member `i` has.
    pub async fn converged_with(&self, i: usize) -> bool {
        eventually(|| async {
            let target = self.zxid(i);
            (0..self.members.len())
                .filter(|j| self.members[*j].server.is_some())
                .all(|j| self.zxid(j) >= target)
        })
        .await
    }

    /// Client addresses of the running members.
    pub fn running_addrs(&self) -> Vec<SocketAddr> {
        self.members.iter().filter(|m| m.server.is_some()).map(|m| m.addr).collect()
    }

    /// Resumes a session on whichever running member takes it first, as a client's host
    /// list does.
    pub async fn resume(&self, session_id: i64, passwd: &[u8]) -> super::Client {
        for _ in 0..100 {
            for addr in self.running_addrs() {
                let request = super::connect_request(session_id, passwd.to_vec(), 30_000);
                if let Some(client) = super::Client::resume(addr, request).await {
                    return client;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("no member took session 0x{session_id:x}: roles {:?}", self.roles());
    }
}

impl Cluster {
    /// Splits the running members into `side` and the rest: nothing passes between them.
    pub fn partition(&self, side: &[usize]) {
        let ids = |pick: &dyn Fn(usize) -> bool| -> Vec<u64> {
            (0..self.members.len()).filter(|i| pick(*i)).map(|i| self.members[i].id).collect()
        };
        let inside = ids(&|i| side.contains(&i));
        let outside = ids(&|i| !side.contains(&i));
        for (i, member) in self.members.iter().enumerate() {
            if let Some(server) = &member.server {
                server.cut_off(if side.contains(&i) { &outside } else { &inside });
            }
        }
    }

    pub fn heal(&self) {
        for member in self.members.iter().filter_map(|m| m.server.as_ref()) {
            member.cut_off(&[]);
        }
    }
}
