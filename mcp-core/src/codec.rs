//! Shapes outgoing messages for the revision they go to.
//!
//! Handlers build one revision-neutral value; before it is serialized,
//! [`Shape::shape`] removes or rewrites what the target revision does not know,
//! so a 2024-11-05 client never sees `structuredContent` and a 2026-07-28
//! client gets `resultType`.

use crate::version::ProtocolVersion;

/// A message that can be shaped for one revision.
pub trait Shape {
    /// Rewrites `self` in place so it is valid on `version`.
    fn shape(&mut self, version: ProtocolVersion);
}
