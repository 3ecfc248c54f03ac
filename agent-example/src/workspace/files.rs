//! Reading and writing one file.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Workspace, WorkspaceError, check_regular, kind_check};

/// A file's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileContent {
    /// The file, relative to the workspace.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its text.
    pub content: String,
}

/// What a write did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct WriteResult {
    /// The file, relative to the workspace.
    pub path: String,
    /// How many bytes it now holds.
    pub bytes_written: u64,
    /// Whether the file is new.
    pub created: bool,
}

/// Opens a regular file for reading without following a final symbolic
/// link or blocking on a FIFO, and checks the open handle is a regular file.
fn open_regular(real: &Path, shown: &str) -> Result<(File, u64), WorkspaceError> {
    check_regular(real, shown)?;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(real)
        .map_err(|e| WorkspaceError::io("open", shown, e))?;
    let meta = file
        .metadata()
        .map_err(|e| WorkspaceError::io("inspect", shown, e))?;
    kind_check(&meta, shown)?;
    Ok((file, meta.len()))
}

impl Workspace {
    /// Reads a UTF-8 file of at most `max_read_bytes`.
    ///
    /// # Errors
    /// The path is refused (see the module), missing, too large or not text.
    pub fn read(&self, path: &str) -> Result<FileContent, WorkspaceError> {
        let real = self.resolve_existing(path)?;
        let content = self.read_text(&real, path)?;
        Ok(FileContent {
            path: self.relative(&real),
            size: content.len() as u64,
            content,
        })
    }

    /// The text of a resolved file, within the read cap.
    pub(crate) fn read_text(&self, real: &Path, shown: &str) -> Result<String, WorkspaceError> {
        let limit = self.limits.max_read_bytes;
        let (file, size) = open_regular(real, shown)?;
        if size > limit {
            return Err(WorkspaceError::TooLarge {
                path: shown.to_owned(),
                size,
                limit,
            });
        }
        let mut bytes = Vec::new();
        // The file may grow after the size was read: never past the cap.
        file.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| WorkspaceError::io("read", shown, e))?;
        if bytes.len() as u64 > limit {
            return Err(WorkspaceError::TooLarge {
                path: shown.to_owned(),
                size: bytes.len() as u64,
                limit,
            });
        }
        String::from_utf8(bytes).map_err(|_| WorkspaceError::NotText(shown.to_owned()))
    }

    /// Writes `content` to a file, creating it (and missing directories) or
    /// replacing it. The new content goes to a temporary file in the same
    /// directory first and is renamed over the target, so a reader never
    /// sees half a file and a symbolic link put in its place is replaced,
    /// not followed.
    ///
    /// # Errors
    /// The path is refused, the content is over `max_write_bytes`, or the
    /// file system refused.
    pub fn write(&self, path: &str, content: &str) -> Result<WriteResult, WorkspaceError> {
        let limit = self.limits.max_write_bytes;
        let size = content.len() as u64;
        if size > limit {
            return Err(WorkspaceError::TooLarge {
                path: path.to_owned(),
                size,
                limit,
            });
        }
        let target = self.resolve_for_write(path)?;
        let existing = target.symlink_metadata().ok();
        let dir = target.parent().unwrap_or(&self.root);
        let temp = dir.join(temp_name());
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&temp)?;
            file.write_all(content.as_bytes())?;
            if let Some(meta) = &existing {
                file.set_permissions(meta.permissions())?;
            }
            file.sync_all()?;
            std::fs::rename(&temp, &target)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temp);
            return Err(WorkspaceError::io("write", path, e));
        }
        Ok(WriteResult {
            path: self.relative(&target),
            bytes_written: size,
            created: existing.is_none(),
        })
    }
}

/// A name no other write uses at the same time.
fn temp_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        ".agent-write-{}-{}-{nanos}.tmp",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}
