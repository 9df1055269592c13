//! Sessions: the one place that knows when each session last spoke. Connections touch it on
//! every request and every byte a slow reader takes; apply tracks and forgets sessions as
//! their txns apply; the leader's expiry job takes the silent ones. On a member that does not
//! lead, touches are also collected into a batch that the peer link carries to the leader,
//! because only the leader's deadlines decide expiry.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::time::{Duration, Instant};

use super::tracker::SessionTracker;

/// The most session ids one touch batch holds; more wait for the next batch. A batch is sent
/// every tick, so this bounds a follower's memory and the peer frame, not liveness.
pub const MAX_TOUCH_BATCH: usize = 65_536;

pub struct Sessions {
    tracker: Mutex<SessionTracker>,
    /// Ids touched here since the last batch went to the leader; empty while leading.
    touched: Mutex<HashSet<i64>>,
    /// Read on every request's touch, so an atomic rather than a lock.
    leading: AtomicBool,
}

impl Sessions {
    pub fn new(tick: Duration) -> Self {
        Sessions {
            tracker: Mutex::new(SessionTracker::new(tick)),
            touched: Mutex::new(HashSet::new()),
            leading: AtomicBool::new(false),
        }
    }

    /// Starts tracking a session (created, restored, or reconnected) with a full timeout.
    pub fn track(&self, id: i64, timeout_ms: i32, now: Instant) {
        self.tracker.lock().track(id, timeout_ms, now);
    }

    /// Tracks exactly these sessions, each with a full timeout (a snapshot was installed).
    pub fn replace_all(&self, sessions: impl Iterator<Item = (i64, i32)>, now: Instant) {
        let mut tracker = self.tracker.lock();
        *tracker = SessionTracker::new(tracker.tick());
        sessions.for_each(|(id, timeout_ms)| tracker.track(id, timeout_ms, now));
    }

    /// Records activity; false when the session is unknown here or closing.
    pub fn touch(&self, id: i64, now: Instant) -> bool {
        if !self.tracker.lock().touch(id, now) {
            return false;
        }
        if !self.leading.load(Ordering::Relaxed) {
            let mut touched = self.touched.lock();
            if touched.len() < MAX_TOUCH_BATCH {
                touched.insert(id);
            }
        }
        true
    }

    /// Touches reported by another member, applied by the leader.
    pub fn touch_reported(&self, ids: &[i64], now: Instant) {
        let mut tracker = self.tracker.lock();
        for id in ids {
            tracker.touch(*id, now);
        }
    }

    /// The touches to send to the leader, oldest batch first; empty while leading.
    pub fn take_touches(&self) -> Vec<i64> {
        let mut touched = self.touched.lock();
        let mut ids: Vec<i64> = touched.drain().collect();
        ids.sort_unstable();
        ids
    }

    pub fn is_live(&self, id: i64) -> bool {
        self.tracker.lock().is_live(id)
    }

    /// Marks a session closing (its client sent closeSession); false if it was not live.
    pub fn set_closing(&self, id: i64) -> bool {
        self.tracker.lock().set_closing(id)
    }

    pub fn remove(&self, id: i64) {
        self.tracker.lock().remove(id);
    }

    /// Sessions whose deadline has passed, each returned once. Only the leader asks.
    pub fn take_expired(&self, now: Instant) -> Vec<i64> {
        self.tracker.lock().take_expired(now)
    }

    /// Whether this member leads. A member that starts leading gives every session a fresh
    /// full timeout before it expires any, as a new ZooKeeper leader does: the old leader's
    /// deadlines, and the touches followers sent it, are not known here.
    pub fn set_leading(&self, leading: bool, now: Instant) {
        let was = self.leading.swap(leading, Ordering::Relaxed);
        if leading && !was {
            self.tracker.lock().restart_all(now);
            self.touched.lock().clear();
        }
    }

    /// (deadline, session ids) groups, soonest first, for the `dump` command.
    pub fn by_deadline(&self) -> Vec<(Instant, Vec<i64>)> {
        self.tracker.lock().by_deadline()
    }

    pub fn timeout_ms(&self, id: i64) -> Option<u64> {
        self.tracker.lock().timeout_ms(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_follower_batches_its_touches_and_a_leader_does_not() {
        let sessions = Sessions::new(Duration::from_millis(100));
        let now = Instant::now();
        sessions.track(7, 1000, now);
        sessions.track(3, 1000, now);
        assert!(sessions.touch(7, now) && sessions.touch(3, now) && sessions.touch(7, now));
        assert!(!sessions.touch(99, now), "unknown sessions are not live");
        assert_eq!(sessions.take_touches(), vec![3, 7]);
        assert!(sessions.take_touches().is_empty(), "a batch is taken once");
        sessions.set_leading(true, now);
        assert!(sessions.touch(7, now));
        assert!(sessions.take_touches().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_leader_gives_every_session_a_full_timeout() {
        let sessions = Sessions::new(Duration::from_millis(100));
        let start = Instant::now();
        sessions.track(1, 1000, start);
        let later = start + Duration::from_millis(900);
        sessions.set_leading(true, later);
        assert!(sessions.take_expired(start + Duration::from_millis(1500)).is_empty());
        assert_eq!(sessions.take_expired(later + Duration::from_millis(1100)), vec![1]);
    }

    #[tokio::test(start_paused = true)]
    async fn reported_touches_postpone_expiry_on_the_leader() {
        let sessions = Sessions::new(Duration::from_millis(100));
        let start = Instant::now();
        sessions.set_leading(true, start);
        sessions.track(5, 1000, start);
        sessions.touch_reported(&[5, 6], start + Duration::from_millis(800));
        assert!(sessions.take_expired(start + Duration::from_millis(1500)).is_empty());
        assert_eq!(sessions.take_expired(start + Duration::from_millis(2000)), vec![5]);
    }
}
