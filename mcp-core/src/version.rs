//! Protocol revisions and version negotiation.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A revision of the Model Context Protocol.
///
/// Ordered by release date, so `v >= ProtocolVersion::V2025_06_18` reads as
/// "this revision has what 2025-06-18 introduced".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// 2024-11-05: the first published revision (HTTP+SSE transport).
    V2024_11_05,
    /// 2025-03-26: Streamable HTTP, tool annotations, audio content, batches.
    V2025_03_26,
    /// 2025-06-18: structured tool output, elicitation, resource links, titles.
    V2025_06_18,
    /// 2025-11-25: icons, elicitation modes, tasks (experimental).
    V2025_11_25,
    /// 2026-07-28: stateless requests with per-request `_meta`, `server/discover`.
    V2026_07_28,
}

impl ProtocolVersion {
    /// Every revision this crate knows, oldest first.
    pub const ALL: [ProtocolVersion; 5] = [
        Self::V2024_11_05,
        Self::V2025_03_26,
        Self::V2025_06_18,
        Self::V2025_11_25,
        Self::V2026_07_28,
    ];

    /// The newest revision.
    pub const LATEST: ProtocolVersion = Self::V2026_07_28;

    /// The newest revision that uses the `initialize` handshake.
    pub const LATEST_STATEFUL: ProtocolVersion = Self::V2025_11_25;

    /// The revision's date string, as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// Whether requests carry their own version and capabilities in `_meta`
    /// instead of relying on an `initialize` handshake.
    pub const fn is_stateless(self) -> bool {
        matches!(self, Self::V2026_07_28)
    }

    /// Negotiates the revision for an `initialize` request.
    ///
    /// A supported stateful revision is echoed back; anything else (an unknown
    /// date, or a stateless revision, which has no handshake) gets the newest
    /// stateful revision as a counter-offer, as the lifecycle spec asks.
    pub fn negotiate(requested: &str) -> ProtocolVersion {
        match requested.parse::<ProtocolVersion>() {
            Ok(v) if !v.is_stateless() => v,
            _ => Self::LATEST_STATEFUL,
        }
    }

    /// Tool annotations (`readOnlyHint` etc.) exist.
    pub fn has_tool_annotations(self) -> bool {
        self >= Self::V2025_03_26
    }
    /// Audio content blocks exist.
    pub fn has_audio(self) -> bool {
        self >= Self::V2025_03_26
    }
    /// Progress notifications may carry a `message`.
    pub fn has_progress_message(self) -> bool {
        self >= Self::V2025_03_26
    }
    /// `structuredContent` and `outputSchema` exist.
    pub fn has_structured_output(self) -> bool {
        self >= Self::V2025_06_18
    }
    /// `outputSchema` and `structuredContent` may be any JSON value, not only an object.
    pub fn allows_non_object_output(self) -> bool {
        self >= Self::V2026_07_28
    }
    /// `resource_link` content blocks exist.
    pub fn has_resource_links(self) -> bool {
        self >= Self::V2025_06_18
    }
    /// `title` fields on tools, prompts, resources and implementations exist.
    pub fn has_titles(self) -> bool {
        self >= Self::V2025_06_18
    }
    /// `lastModified` on annotations exists.
    pub fn has_last_modified(self) -> bool {
        self >= Self::V2025_06_18
    }
    /// `icons` (and `Implementation.description`/`websiteUrl`) exist.
    pub fn has_icons(self) -> bool {
        self >= Self::V2025_11_25
    }
    /// Servers may send `elicitation/create` (as a request, or as an MRTR input request).
    pub fn has_elicitation(self) -> bool {
        self >= Self::V2025_06_18
    }
    /// `completions` is a declared server capability.
    pub fn has_completions_capability(self) -> bool {
        self >= Self::V2025_03_26
    }
    /// `ping` exists.
    pub fn has_ping(self) -> bool {
        !self.is_stateless()
    }
    /// Results carry `resultType`.
    pub fn has_result_type(self) -> bool {
        self.is_stateless()
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A version string that names no known revision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol version `{0}`")]
pub struct UnknownVersion(pub String);

impl FromStr for ProtocolVersion {
    type Err = UnknownVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownVersion(s.to_owned()))
    }
}

impl Serialize for ProtocolVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
