//! An ensemble of corral processes, started from zoo.cfg files as a user starts them, that a
//! test can SIGKILL and start again: quorum ports are fixed in the config (picked free at
//! creation), client ports are chosen by each process (clientPort=0) and read from its log.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Child;

use super::{four_letter, spawn_binary};

pub struct Processes {
    pub dirs: Vec<tempfile::TempDir>,
    configs: Vec<PathBuf>,
    children: Vec<Option<Child>>,
    pub addrs: Vec<Option<SocketAddr>>,
}

impl Processes {
    pub async fn new(members: usize) -> Processes {
        let mut lines = String::new();
        for id in 1..=members {
            let port = super::reserved_port();
            lines.push_str(&format!("server.{id}=127.0.0.1:{port}:{id}\n"));
        }
        let mut dirs = Vec::new();
        let mut configs = Vec::new();
        for id in 1..=members {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            std::fs::create_dir_all(&data).unwrap();
            std::fs::write(data.join("myid"), format!("{id}\n")).unwrap();
            let cfg = dir.path().join("zoo.cfg");
            let text = format!(
                "tickTime=100\ninitLimit=20\nsyncLimit=5\ndataDir={}\nclientPort=0\nadmin.enableServer=false\n\
                 4lw.commands.whitelist=*\n{lines}",
                data.display()
            );
            std::fs::write(&cfg, text).unwrap();
            dirs.push(dir);
            configs.push(cfg);
        }
        Processes {
            dirs,
            configs,
            children: (0..members).map(|_| None).collect(),
            addrs: vec![None; members],
        }
    }

    pub fn start(&mut self, i: usize) {
        let (child, addr, _) = spawn_binary(&self.configs[i]);
        self.children[i] = Some(child);
        self.addrs[i] = Some(addr);
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.addrs[i] = None;
    }

    pub fn running(&self) -> Vec<usize> {
        (0..self.addrs.len()).filter(|i| self.addrs[*i].is_some()).collect()
    }

    async fn srvr(&self, i: usize) -> String {
        match self.addrs[i] {
            Some(addr) => four_letter(addr, "srvr").await,
            None => String::new(),
        }
    }

    /// The member that leads, once every running member serves (one leader, the rest
    /// following) and all have applied the same zxid.
    pub async fn settled(&self) -> usize {
        let deadline = tokio::time::Instant::now() + super::WAIT * 3;
        loop {
            if let Some(leader) = self.settled_leader().await {
                return leader;
            }
            assert!(tokio::time::Instant::now() < deadline, "the ensemble did not settle");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    async fn settled_leader(&self) -> Option<usize> {
        let mut answers = Vec::new();
        for i in self.running() {
            answers.push((i, self.srvr(i).await));
        }
        let zxid = |s: &str| s.lines().find(|l| l.starts_with("Zxid:")).map(str::to_owned);
        let mode = |s: &str, m: &str| s.contains(&format!("Mode: {m}\n"));
        let leaders: Vec<usize> =
            answers.iter().filter(|(_, s)| mode(s, "leader")).map(|(i, _)| *i).collect();
        let serving = answers.iter().all(|(_, s)| mode(s, "leader") || mode(s, "follower"));
        let same = answers.windows(2).all(|w| zxid(&w[0].1) == zxid(&w[1].1));
        (leaders.len() == 1 && serving && same).then(|| leaders[0])
    }
}

impl Drop for Processes {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill(i);
        }
    }
}
