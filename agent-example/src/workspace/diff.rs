//! Unified diffs between two files, or a file and proposed content.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use similar::TextDiff;

use super::{Workspace, WorkspaceError};

/// A unified diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DiffResult {
    /// Whether the two sides are the same.
    pub identical: bool,
    /// The diff, in unified format with three lines of context; empty when
    /// identical.
    pub diff: String,
}

impl Workspace {
    /// The diff from the file `path` to the file `against`, or to `content`:
    /// exactly one of the two must be given.
    ///
    /// # Errors
    /// A path is refused or unreadable, both or neither of `against` and
    /// `content` are given, or `content` is over the write limit.
    pub fn diff(
        &self,
        path: &str,
        against: Option<&str>,
        content: Option<&str>,
    ) -> Result<DiffResult, WorkspaceError> {
        let old = self.read(path)?;
        let (label, new) = match (against, content) {
            (Some(other), None) => {
                let other = self.read(other)?;
                (other.path, other.content)
            }
            (None, Some(content)) => {
                let size = content.len() as u64;
                if size > self.limits.max_write_bytes {
                    return Err(WorkspaceError::TooLarge {
                        path: "content".into(),
                        size,
                        limit: self.limits.max_write_bytes,
                    });
                }
                (format!("{} (proposed)", old.path), content.to_owned())
            }
            _ => {
                return Err(WorkspaceError::Invalid(
                    "give exactly one of `against` (another file) and `content` (proposed text)"
                        .into(),
                ));
            }
        };
        if old.content == new {
            return Ok(DiffResult {
                identical: true,
                diff: String::new(),
            });
        }
        let diff = TextDiff::from_lines(&old.content, &new)
            .unified_diff()
            .context_radius(3)
            .header(&old.path, &label)
            .to_string();
        Ok(DiffResult {
            identical: false,
            diff,
        })
    }
}
