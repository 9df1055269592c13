//! SessionTracker: the leader's view of when each session last spoke. Deadlines round up to
//! the next tick, as ZooKeeper's ExpiryQueue does, and an expired session is marked closing so
//! its requests get SESSIONEXPIRED while its closeSession txn is in flight.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
struct Tracked {
    timeout: Duration,
    deadline: Instant,
    closing: bool,
}

#[derive(Debug)]
pub struct SessionTracker {
    tick: Duration,
    /// Deadlines are measured from this instant, in whole ticks.
    origin: Instant,
    sessions: HashMap<i64, Tracked>,
}

impl SessionTracker {
    pub fn new(tick: Duration) -> Self {
        SessionTracker { tick, origin: Instant::now(), sessions: HashMap::new() }
    }

    pub fn tick(&self) -> Duration {
        self.tick
    }

    /// ZooKeeper's bucket rule: the first tick boundary strictly after now + timeout.
    fn deadline(&self, now: Instant, timeout: Duration) -> Instant {
        let tick = self.tick.as_millis().max(1);
        let at = (now + timeout).saturating_duration_since(self.origin).as_millis();
        let rounded = (at / tick + 1) * tick;
        self.origin + Duration::from_millis(rounded as u64)
    }

    /// Starts tracking a session (new, restored, or reconnected with a new timeout).
    pub fn track(&mut self, id: i64, timeout_ms: i32, now: Instant) {
        let timeout = Duration::from_millis(timeout_ms.max(0) as u64);
        let deadline = self.deadline(now, timeout);
        self.sessions.insert(id, Tracked { timeout, deadline, closing: false });
    }

    /// Gives every session a full timeout from `now`, closing ones included, as a new
    /// ZooKeeper leader builds its session tracker afresh: a session marked closing here
    /// (its client's closeSession, or an expiry) may have lost its closing txn with the old
    /// leadership, and only expiring it again takes it and its ephemerals away.
    pub fn restart_all(&mut self, now: Instant) {
        let deadlines: Vec<(i64, Instant)> =
            self.sessions.iter().map(|(id, t)| (*id, self.deadline(now, t.timeout))).collect();
        for (id, deadline) in deadlines {
            if let Some(t) = self.sessions.get_mut(&id) {
                t.closing = false;
                t.deadline = deadline;
            }
        }
    }

    /// Records activity; false when the session is unknown or closing.
    pub fn touch(&mut self, id: i64, now: Instant) -> bool {
        let Some(timeout) = self.sessions.get(&id).filter(|t| !t.closing).map(|t| t.timeout) else {
            return false;
        };
        let deadline = self.deadline(now, timeout);
        if let Some(t) = self.sessions.get_mut(&id) {
            t.deadline = deadline;
        }
        true
    }

    pub fn is_live(&self, id: i64) -> bool {
        self.sessions.get(&id).is_some_and(|t| !t.closing)
    }

    /// Marks a session closing (client closeSession); false if it was not live.
    pub fn set_closing(&mut self, id: i64) -> bool {
        match self.sessions.get_mut(&id) {
            Some(t) if !t.closing => {
                t.closing = true;
                true
            }
            _ => false,
        }
    }

    pub fn remove(&mut self, id: i64) {
        self.sessions.remove(&id);
    }

    /// Sessions whose deadline has passed; they are marked closing and returned once.
    pub fn take_expired(&mut self, now: Instant) -> Vec<i64> {
        let mut expired: Vec<i64> = self
            .sessions
            .iter_mut()
            .filter(|(_, t)| !t.closing && t.deadline <= now)
            .map(|(id, t)| {
                t.closing = true;
                *id
            })
            .collect();
        expired.sort_unstable();
        expired
    }

    /// (deadline, session ids) groups, soonest first, for the `dump` command.
    pub fn by_deadline(&self) -> Vec<(Instant, Vec<i64>)> {
        let mut groups: HashMap<Instant, Vec<i64>> = HashMap::new();
        for (id, t) in &self.sessions {
            groups.entry(t.deadline).or_default().push(*id);
        }
        let mut groups: Vec<_> = groups.into_iter().collect();
        groups.sort();
        groups.iter_mut().for_each(|(_, ids)| ids.sort_unstable());
        groups
    }

    pub fn timeout_ms(&self, id: i64) -> Option<u64> {
        self.sessions.get(&id).map(|t| t.timeout.as_millis() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_silent_session_expires_between_timeout_and_timeout_plus_a_tick() {
        let tick = Duration::from_millis(2000);
        let mut tracker = SessionTracker::new(tick);
        let start = Instant::now();
        tracker.track(1, 4000, start);
        assert!(tracker.take_expired(start + Duration::from_millis(3999)).is_empty());
        let expired = tracker.take_expired(start + Duration::from_millis(6000));
        assert_eq!(expired, vec![1]);
        assert!(!tracker.is_live(1));
        assert!(!tracker.touch(1, start));
    }

    /// Found by the fault campaign (seed 3): a client closed its session through a follower,
    /// the closeSession txn was lost when the leader changed, and the follower that marked
    /// the session closing became leader: the session never expired, its ephemerals stayed.
    #[tokio::test(start_paused = true)]
    async fn a_session_closing_when_leadership_starts_expires_again() {
        let tick = Duration::from_millis(100);
        let mut tracker = SessionTracker::new(tick);
        let start = Instant::now();
        tracker.track(1, 1000, start);
        tracker.track(2, 1000, start);
        assert!(tracker.set_closing(1), "its client sent closeSession");
        assert_eq!(tracker.take_expired(start + Duration::from_millis(1200)), vec![2]);
        let leading = start + Duration::from_millis(5000);
        tracker.restart_all(leading);
        assert!(tracker.is_live(1) && tracker.is_live(2));
        assert!(tracker.take_expired(leading + Duration::from_millis(999)).is_empty());
        let again = tracker.take_expired(leading + Duration::from_millis(1200));
        assert_eq!(again, vec![1, 2], "both expire again, a full timeout on");
    }

    #[tokio::test(start_paused = true)]
    async fn touching_postpones_expiry() {
        let mut tracker = SessionTracker::new(Duration::from_millis(100));
        let start = Instant::now();
        tracker.track(1, 1000, start);
        assert!(tracker.touch(1, start + Duration::from_millis(900)));
        assert!(tracker.take_expired(start + Duration::from_millis(1500)).is_empty());
        assert_eq!(tracker.take_expired(start + Duration::from_millis(2100)), vec![1]);
    }
}
