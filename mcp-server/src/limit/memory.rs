//! The limiter's state in this process's memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Quota;

/// The GCRA state of this process: one theoretical arrival time per key,
/// bounded in size.
#[derive(Default)]
pub(super) struct Memory {
    pub(super) state: Mutex<MemoryState>,
}

#[derive(Default)]
pub(super) struct MemoryState {
    pub(super) tats: HashMap<String, Instant>,
    /// When expired keys were last dropped.
    swept: Option<Instant>,
}

/// The most keys remembered before stale ones are dropped.
pub(super) const MAX_KEYS: usize = 100_000;

impl Memory {
    pub(super) fn check(
        &self,
        caller_quota: &Quota,
        caller: &str,
        tool_quota: Option<(&str, &Quota)>,
    ) -> Result<(), Duration> {
        let now = Instant::now();
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.make_room(now);
        let tats = &mut state.tats;
        // Check both before taking either, so a refusal costs nothing.
        let caller_key = format!("caller\u{0}{caller}");
        let caller_tat = admit(tats, &caller_key, caller_quota, now)?;
        let tool_entry = match tool_quota {
            Some((tool, quota)) => {
                let key = format!("tool\u{0}{tool}\u{0}{caller}");
                let tat = admit(tats, &key, quota, now)?;
                Some((key, tat))
            }
            None => None,
        };
        tats.insert(caller_key, caller_tat);
        if let Some((key, tat)) = tool_entry {
            tats.insert(key, tat);
        }
        Ok(())
    }
}

impl MemoryState {
    /// Keeps the table under [`MAX_KEYS`] without scanning it on every
    /// check: expired keys (whose limit is back to a full burst, so
    /// forgetting them changes nothing) go at most once a second; if the
    /// table is still full, the tenth of keys nearest to expiry go too, so
    /// the next scan is a tenth of the table's inserts away.
    fn make_room(&mut self, now: Instant) {
        if self.tats.len() < MAX_KEYS {
            return;
        }
        if self
            .swept
            .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1))
        {
            self.swept = Some(now);
            self.tats.retain(|_, tat| *tat > now);
        }
        if self.tats.len() >= MAX_KEYS {
            let mut tats: Vec<Instant> = self.tats.values().copied().collect();
            let cut = MAX_KEYS / 10;
            tats.select_nth_unstable(cut);
            let threshold = tats[cut];
            self.tats.retain(|_, tat| *tat > threshold);
        }
    }
}

/// GCRA: the new theoretical arrival time if the request conforms.
fn admit(
    state: &HashMap<String, Instant>,
    key: &str,
    quota: &Quota,
    now: Instant,
) -> Result<Instant, Duration> {
    let tat = state.get(key).copied().unwrap_or(now).max(now);
    let allowed_at = tat.checked_sub(quota.tolerance()).unwrap_or(now);
    if allowed_at > now {
        return Err(allowed_at - now);
    }
    Ok(tat + quota.interval)
}
