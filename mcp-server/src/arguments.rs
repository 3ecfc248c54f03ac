//! A call's raw arguments, held by everything that needs them at once
//! without being copied.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

/// The raw `arguments` of a call, as sent. The handler reads them, the
/// audit log digests them (aside, while the handler runs, when they are
/// large) and a 2026-07-28 round binds to them: each holds the one copy.
#[derive(Clone)]
pub(crate) struct Arguments(Arc<Box<RawValue>>);

impl Arguments {
    /// The JSON text, as sent.
    pub(crate) fn get(&self) -> &str {
        self.0.get()
    }
}

impl From<Box<RawValue>> for Arguments {
    fn from(raw: Box<RawValue>) -> Self {
        Self(Arc::new(raw))
    }
}

impl Deref for Arguments {
    type Target = RawValue;

    fn deref(&self) -> &RawValue {
        &self.0
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
