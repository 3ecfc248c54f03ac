//! The definitions a server holds, kept by name or URI in immutable
//! snapshots.

use std::sync::{Arc, OnceLock};

use foldhash::HashMap;

use mcp_core::ProtocolVersion;
use serde_json::value::RawValue;

use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::tool::ToolDef;

/// A definition kept in a [`Registry`], under its name or URI.
pub(crate) trait Keyed: Clone {
    fn key(&self) -> &Arc<str>;
}

impl Keyed for ToolDef {
    fn key(&self) -> &Arc<str> {
        self.shared_name()
    }
}

impl Keyed for PromptDef {
    fn key(&self) -> &Arc<str> {
        self.shared_name()
    }
}

impl Keyed for ResourceDef {
    fn key(&self) -> &Arc<str> {
        self.shared_uri()
    }
}

impl Keyed for ResourceTemplateDef {
    fn key(&self) -> &Arc<str> {
        self.shared_key()
    }
}

/// The encoded pages of a list, a slot each.
type Pages = Box<[OnceLock<Box<RawValue>>]>;

/// An immutable snapshot of one kind of definition, swapped whole on change
/// so readers never hold a lock across an await.
pub(crate) struct Registry<D> {
    defs: Vec<D>,
    index: HashMap<Arc<str>, usize>,
    /// Each page of the list result, encoded once per revision: made on
    /// the first list, with a slot per page.
    list_cache: [OnceLock<Pages>; ProtocolVersion::ALL.len()],
}

impl<D: Keyed> Registry<D> {
    pub(crate) fn new(defs: Vec<D>) -> Self {
        let index = defs
            .iter()
            .enumerate()
            .map(|(i, def)| (Arc::clone(def.key()), i))
            .collect();
        Self {
            defs,
            index,
            list_cache: Default::default(),
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&D> {
        self.index.get(key).map(|&i| &self.defs[i])
    }

    pub(crate) fn defs(&self) -> &[D] {
        &self.defs
    }

    /// Where the page of the list that starts at `offset` is kept once
    /// encoded for `version`, with pages of `page_size`; `None` for an
    /// offset no cursor of ours points to (a page is cached only as the
    /// server cuts it).
    pub(crate) fn list_cache(
        &self,
        version: ProtocolVersion,
        offset: usize,
        page_size: usize,
    ) -> Option<&OnceLock<Box<RawValue>>> {
        let page_size = page_size.max(1);
        if !offset.is_multiple_of(page_size) {
            return None;
        }
        let i = ProtocolVersion::ALL
            .iter()
            .position(|v| *v == version)
            .unwrap_or(0);
        let pages = self.list_cache[i].get_or_init(|| {
            let pages = self.defs.len().div_ceil(page_size).max(1);
            (0..pages).map(|_| OnceLock::new()).collect()
        });
        pages.get(offset / page_size)
    }

    /// A copy with `def` added, or replacing the one with its key.
    pub(super) fn with(&self, def: D) -> Self {
        let mut defs = self.defs.clone();
        match defs.iter().position(|d| d.key() == def.key()) {
            Some(i) => defs[i] = def,
            None => defs.push(def),
        }
        Self::new(defs)
    }

    /// A copy without the definition under `key`, if there was one.
    pub(super) fn without(&self, key: &str) -> Option<Self> {
        let i = *self.index.get(key)?;
        let mut defs = self.defs.clone();
        defs.remove(i);
        Some(Self::new(defs))
    }
}
