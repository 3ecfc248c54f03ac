//! A call's raw arguments, held by everything that needs them at once
//! without being copied.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The raw `arguments` of a call, as sent. The handler reads them, the
/// audit log digests them (aside, while the handler runs, when they are
/// large) and a 2026-07-28 round binds to them: each holds the one copy.
/// A large call's arguments stay where they arrived, inside its params.
#[derive(Clone)]
pub(crate) struct Arguments {
    json: Arc<Box<RawValue>>,
    /// Where in `json` the arguments are; `None`: all of it.
    within: Option<Range<usize>>,
}

impl Arguments {
    /// The arguments at `range` of `params`, a member's value as
    /// [`split_member`](crate::json_members::split_member) found it.
    /// `None` if `range` is not within them.
    pub(crate) fn within(params: Box<RawValue>, range: Range<usize>) -> Option<Self> {
        params.get().get(range.clone())?;
        Some(Self {
            json: Arc::new(params),
            within: Some(range),
        })
    }

    /// The JSON text, as sent.
    pub(crate) fn get(&self) -> &str {
        let json = self.json.get();
        match &self.within {
            // Checked when made.
            Some(range) => json.get(range.clone()).unwrap_or(json),
            None => json,
        }
    }

    /// The arguments as a raw value of their own, when they are one.
    pub(crate) fn as_raw(&self) -> Option<&RawValue> {
        self.within.is_none().then_some(&**self.json)
    }
}

impl From<Box<RawValue>> for Arguments {
    fn from(raw: Box<RawValue>) -> Self {
        Self {
            json: Arc::new(raw),
            within: None,
        }
    }
}

impl fmt::Debug for Arguments {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Arguments may be large, or sensitive: their size says enough.
        f.debug_struct("Arguments")
            .field("len", &self.get().len())
            .finish()
    }
}

impl<'de> Deserialize<'de> for Arguments {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Box::<RawValue>::deserialize(deserializer).map(Self::from)
    }
}
