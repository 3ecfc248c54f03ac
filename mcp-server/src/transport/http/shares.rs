//! Who holds the session table: how many sessions each caller has, and
//! which of them to evict first, so one caller cannot lock the others out.
//!
//! Every operation is O(log n) in the sessions and callers, except the
//! search for an idle session, which passes over busy ones; that search is
//! bounded, and moves each busy session it passes to the recent end (a busy
//! session is in use now), so later searches do not pass it again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;

use crate::auth::Principal;

/// Who a session counts against.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Caller {
    /// An authenticated principal (or an anonymous tenant named by the
    /// trusted tenant header).
    Principal {
        id: String,
        tenant: Option<String>,
        issuer: Option<String>,
    },
    /// An anonymous client, by address; IPv6 by its /64 prefix, since one
    /// host usually holds a whole /64.
    Client(IpAddr),
    /// Anonymous callers whose address the service was not given: they
    /// cannot be told apart, so no per-caller cap applies to them.
    Unknown,
}

impl Caller {
    pub(crate) fn of(principal: Option<&Principal>, peer: Option<IpAddr>) -> Self {
        if let Some(principal) = principal {
            return Self::Principal {
                id: principal.id.clone(),
                tenant: principal.tenant.clone(),
                issuer: principal.issuer.clone(),
            };
        }
        match peer {
            Some(ip) => Self::Client(crate::auth::client_network(ip)),
            None => Self::Unknown,
        }
    }
}

/// Why no session can be opened for a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoRoom {
    /// The caller holds its cap, or the most sessions of a full table, and
    /// none of them is idle.
    OverShare { held: usize },
    /// The table is full and every session that could make way is busy.
    Full,
}

/// Busy sessions one search passes over per caller, and callers it tries,
/// before giving up: the cost of an `initialize` stays bounded when the
/// table is full of busy sessions.
const SKIPS_PER_CALLER: usize = 128;
const CALLERS_TRIED: usize = 8;

#[derive(Debug, Default)]
struct Held {
    count: usize,
    /// Sessions that may be evicted, by last use: oldest first.
    by_use: BTreeMap<u64, Arc<str>>,
    used_at: HashMap<Arc<str>, u64>,
}

impl Held {
    /// The least recently used session `is_idle` accepts, taken out of the
    /// order; busy ones passed on the way move to the recent end.
    fn take_least_recent_idle(
        &mut self,
        clock: &mut u64,
        is_idle: &mut impl FnMut(&str) -> bool,
    ) -> Option<Arc<str>> {
        for _ in 0..SKIPS_PER_CALLER.min(self.by_use.len()) {
            let (_, id) = self.by_use.pop_first()?;
            if is_idle(&id) {
                self.used_at.remove(&id);
                return Some(id);
            }
            *clock += 1;
            self.used_at.insert(Arc::clone(&id), *clock);
            self.by_use.insert(*clock, id);
        }
        None
    }
}

/// The sessions each caller holds.
#[derive(Debug, Default)]
pub(crate) struct Shares {
    callers: HashMap<Caller, Held>,
    /// Callers by how many sessions they hold, largest last.
    by_size: BTreeSet<(usize, Caller)>,
    total: usize,
    clock: u64,
}

impl Shares {
    /// Sessions held by everyone, reserved ones included.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    pub(crate) fn held(&self, caller: &Caller) -> usize {
        self.callers.get(caller).map_or(0, |h| h.count)
    }

    /// Counts one more session for `caller`.
    pub(crate) fn add(&mut self, caller: &Caller) {
        let held = self.callers.entry(caller.clone()).or_default();
        let before = held.count;
        held.count += 1;
        self.resize(caller, before, before + 1);
        self.total += 1;
    }

    /// Counts one session fewer for `caller`; `id`, if given, leaves the
    /// eviction order.
    pub(crate) fn remove(&mut self, caller: &Caller, id: Option<&str>) {
        let Some(held) = self.callers.get_mut(caller) else {
            return;
        };
        if let Some(tick) = id.and_then(|id| held.used_at.remove(id)) {
            held.by_use.remove(&tick);
        }
        let before = held.count;
        held.count = before.saturating_sub(1);
        if held.count == 0 {
            self.callers.remove(caller);
        }
        self.resize(caller, before, before.saturating_sub(1));
        self.total = self.total.saturating_sub(1);
    }

    /// Marks `id` used now: last in line for eviction. A session that is
    /// not yet in the order (just opened) joins it.
    pub(crate) fn used(&mut self, caller: &Caller, id: &Arc<str>) {
        let Some(held) = self.callers.get_mut(caller) else {
            return;
        };
        self.clock += 1;
        if let Some(tick) = held.used_at.insert(Arc::clone(id), self.clock) {
            held.by_use.remove(&tick);
        }
        held.by_use.insert(self.clock, Arc::clone(id));
    }

    fn resize(&mut self, caller: &Caller, before: usize, after: usize) {
        if before > 0 {
            self.by_size.remove(&(before, caller.clone()));
        }
        if after > 0 {
            self.by_size.insert((after, caller.clone()));
        }
    }

    /// Makes room for one more session of `caller`, whose own cap is `cap`,
    /// in a table of `max`: `Ok(None)` when there is room, `Ok(Some(id))`
    /// when session `id` must be evicted first (it has left the order).
    ///
    /// A caller at its cap gives up its own least recently used idle
    /// session. In a full table, a caller holding at least two more than
    /// this one gives up one, largest first; failing that, the caller
    /// replaces one of its own. Busy sessions (`is_idle` says no) are never
    /// chosen.
    ///
    /// # Errors
    /// [`NoRoom::OverShare`] when the caller is at its cap, or holds about
    /// as many as anyone in a full table, with nothing idle;
    /// [`NoRoom::Full`] when nobody over their share has an idle session.
    pub(crate) fn make_room(
        &mut self,
        caller: &Caller,
        cap: usize,
        max: usize,
        mut is_idle: impl FnMut(&str) -> bool,
    ) -> Result<Option<Arc<str>>, NoRoom> {
        let held = self.held(caller);
        if held >= cap {
            return self
                .take_own(caller, &mut is_idle)
                .map(Some)
                .ok_or(NoRoom::OverShare { held });
        }
        if self.total < max {
            return Ok(None);
        }
        // Only a caller holding at least two more than this one is over
        // its share: taking from an equal would just trade places.
        let larger = self
            .by_size
            .iter()
            .rev()
            .take_while(|(count, _)| *count > held + 1)
            .take(CALLERS_TRIED);
        for (_, other) in larger {
            let Some(theirs) = self.callers.get_mut(other) else {
                continue;
            };
            if let Some(id) = theirs.take_least_recent_idle(&mut self.clock, &mut is_idle) {
                return Ok(Some(id));
            }
        }
        if let Some(id) = self.take_own(caller, &mut is_idle) {
            return Ok(Some(id));
        }
        match self.by_size.last() {
            Some((largest, _)) if held > 0 && *largest <= held + 1 => {
                Err(NoRoom::OverShare { held })
            }
            _ => Err(NoRoom::Full),
        }
    }

    fn take_own(
        &mut self,
        caller: &Caller,
        is_idle: &mut impl FnMut(&str) -> bool,
    ) -> Option<Arc<str>> {
        self.callers
            .get_mut(caller)?
            .take_least_recent_idle(&mut self.clock, is_idle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(last: u8) -> Caller {
        Caller::Client(IpAddr::from([10, 0, 0, last]))
    }

    fn open(shares: &mut Shares, caller: &Caller, id: &str) -> Arc<str> {
        let id: Arc<str> = id.into();
        shares.add(caller);
        shares.used(caller, &id);
        id
    }

    #[test]
    fn anonymous_ipv6_clients_are_keyed_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(Caller::of(None, Some(a)), Caller::of(None, Some(b)));
        assert_ne!(Caller::of(None, Some(a)), Caller::of(None, Some(other)));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(
            Caller::of(None, Some(mapped)),
            Caller::Client(IpAddr::from([192, 0, 2, 7]))
        );
        assert_eq!(Caller::of(None, None), Caller::Unknown);
        let alice = Principal::new("alice", ["x"]).with_tenant("acme");
        assert_eq!(
            Caller::of(Some(&alice), Some(a)),
            Caller::Principal {
                id: "alice".into(),
                tenant: Some("acme".into()),
                issuer: None,
            }
        );
    }

    #[test]
    fn a_caller_at_its_cap_replaces_its_least_recently_used_idle_session() {
        let mut shares = Shares::default();
        let a = client(1);
        let first = open(&mut shares, &a, "a1");
        let second = open(&mut shares, &a, "a2");
        shares.used(&a, &first);
        assert_eq!(
            shares.make_room(&a, 2, 100, |_| true),
            Ok(Some(Arc::clone(&second)))
        );
        shares.remove(&a, None);
        // Busy sessions are passed over.
        assert_eq!(
            shares.make_room(&a, 1, 100, |id| id != "a1"),
            Err(NoRoom::OverShare { held: 1 })
        );
        assert_eq!(shares.make_room(&client(2), 1, 100, |_| true), Ok(None));
    }

    #[test]
    fn a_full_table_makes_room_from_the_largest_holder() {
        let mut shares = Shares::default();
        let (big, small, newcomer) = (client(1), client(2), client(3));
        for i in 0..3 {
            open(&mut shares, &big, &format!("big{i}"));
        }
        open(&mut shares, &small, "small0");
        assert_eq!(shares.total(), 4);
        let is_idle = |id: &str| id != "big0";
        assert_eq!(
            shares.make_room(&newcomer, 10, 4, is_idle),
            Ok(Some("big1".into()))
        );
        shares.remove(&big, Some("big1"));
        shares.add(&newcomer);
        // The busy `big0` moved to the back of the line.
        assert_eq!(
            shares.make_room(&client(4), 10, 4, |_| true),
            Ok(Some("big2".into()))
        );
        shares.remove(&big, Some("big2"));
        shares.add(&client(4));
        // Three callers hold one each and one holds one busy: a caller that
        // holds as many as anyone and nothing idle is over its share.
        assert_eq!(
            shares.make_room(&small, 10, 4, |id| id != "small0"),
            Err(NoRoom::OverShare { held: 1 })
        );
        // Everything busy: a newcomer below its share finds the table full.
        assert_eq!(
            shares.make_room(&client(5), 10, 4, |_| false),
            Err(NoRoom::Full)
        );
    }

    #[test]
    fn equal_holders_do_not_take_from_each_other() {
        let mut shares = Shares::default();
        open(&mut shares, &client(1), "a");
        open(&mut shares, &client(2), "b");
        assert_eq!(
            shares.make_room(&client(3), 10, 2, |_| true),
            Err(NoRoom::Full)
        );
        // A caller may still replace its own idle session.
        assert_eq!(
            shares.make_room(&client(1), 10, 2, |_| true),
            Ok(Some("a".into()))
        );
    }

    #[test]
    fn counts_follow_adds_and_removes() {
        let mut shares = Shares::default();
        let a = client(1);
        let id = open(&mut shares, &a, "a1");
        shares.add(&a); // reserved, not yet in the order
        assert_eq!((shares.held(&a), shares.total()), (2, 2));
        shares.remove(&a, Some(&id));
        shares.remove(&a, None);
        assert_eq!((shares.held(&a), shares.total()), (0, 0));
        assert!(shares.callers.is_empty() && shares.by_size.is_empty());
    }
}
