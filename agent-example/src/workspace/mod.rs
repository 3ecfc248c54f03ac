//! The workspace: one directory the tools may read and write, and nothing
//! outside it.
//!
//! Every path a tool receives is relative to the workspace root. A path is
//! refused when it is absolute, has a `..` component or a NUL byte, or,
//! once its symbolic links are resolved (`canonicalize`), lands outside
//! the root; for a file to be created the same holds for its parent. Only
//! regular files are read or written: devices, FIFOs and sockets are
//! refused before they are opened, and files are opened with `O_NOFOLLOW`
//! and `O_NONBLOCK` and checked again on the open handle. Reads and writes
//! are capped in size.
//!
//! The threat is a path chosen by a client or a model. A local user who
//! can rename directories inside the workspace while a request runs could
//! race a check and the open that follows it; the workspace should be a
//! directory only this server and its owner write to.

mod diff;
mod files;
mod walk;

use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

pub use diff::DiffResult;
pub use files::{FileContent, WriteResult};
pub use walk::{Entry, EntryKind, Listing, SearchMatch, SearchResult};

/// Size and count limits of the workspace tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest file `read_file`, `search_files` and `diff_files` read.
    pub max_read_bytes: u64,
    /// The largest content `write_file` writes.
    pub max_write_bytes: u64,
    /// The most entries a listing, or matches a search, returns.
    pub max_results: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_read_bytes: 1024 * 1024,
            max_write_bytes: 1024 * 1024,
            max_results: 500,
        }
    }
}

/// Why a workspace operation was refused or failed. Messages name paths
/// as the caller gave them, never the workspace's absolute location.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkspaceError {
    /// The path is absolute, has `..`, a NUL byte, or is otherwise unusable.
    #[error("invalid path `{path}`: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Resolved, the path leads outside the workspace (or nowhere, for a
    /// dangling symbolic link).
    #[error("`{0}` resolves outside the workspace")]
    Outside(String),
    /// Nothing at that path.
    #[error("`{0}` does not exist")]
    NotFound(String),
    /// A directory where a file was expected, or the reverse.
    #[error("`{path}` is {actual}, not {expected}")]
    WrongKind {
        /// The path as given.
        path: String,
        /// What it is.
        actual: &'static str,
        /// What the operation needs.
        expected: &'static str,
    },
    /// A device, FIFO or socket: never opened.
    #[error(
        "`{0}` is a special file (device, FIFO or socket); only regular files are read or written"
    )]
    SpecialFile(String),
    /// Over a size cap.
    #[error("`{path}` is {size} bytes, over the limit of {limit} bytes")]
    TooLarge {
        /// The path as given.
        path: String,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("`{0}` is not UTF-8 text")]
    NotText(String),
    /// A search pattern that does not compile.
    #[error("invalid search pattern: {0}")]
    InvalidPattern(String),
    /// Arguments that do not fit together.
    #[error("{0}")]
    Invalid(String),
    /// The operating system refused.
    #[error("cannot {op} `{path}`: {source}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The path as given.
        path: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
}

impl WorkspaceError {
    fn io(op: &'static str, path: &str, source: io::Error) -> Self {
        if source.kind() == io::ErrorKind::NotFound {
            return Self::NotFound(path.to_owned());
        }
        Self::Io {
            op,
            path: path.to_owned(),
            source,
        }
    }
}

/// One confined directory and the limits of the tools over it.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: Arc<Path>,
    limits: Limits,
}

impl Workspace {
    /// The workspace rooted at `root`, which must be an existing directory.
    ///
    /// # Errors
    /// `root` does not exist or is not a directory.
    pub fn open(root: impl AsRef<Path>, limits: Limits) -> Result<Self, WorkspaceError> {
        let shown = root.as_ref().display().to_string();
        let root = std::fs::canonicalize(root.as_ref())
            .map_err(|e| WorkspaceError::io("open the workspace", &shown, e))?;
        if !root.is_dir() {
            return Err(WorkspaceError::WrongKind {
                path: shown,
                actual: "not a directory",
                expected: "a directory",
            });
        }
        Ok(Self {
            root: Arc::from(root),
            limits,
        })
    }

    /// The canonical root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// `path` relative to the root, with `/` separators (`.` for the root).
    fn relative(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let shown: Vec<_> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect();
        if shown.is_empty() {
            ".".to_owned()
        } else {
            shown.join("/")
        }
    }

    /// Resolves an existing path: canonical, and inside the root.
    pub(crate) fn resolve_existing(&self, path: &str) -> Result<PathBuf, WorkspaceError> {
        let joined = self.root.join(lexical(path)?);
        match std::fs::canonicalize(&joined) {
            Ok(real) if real.starts_with(&self.root) => Ok(real),
            Ok(_) => Err(WorkspaceError::Outside(path.to_owned())),
            // A symbolic link to nothing exists, but leads nowhere.
            Err(e) if e.kind() == io::ErrorKind::NotFound && joined.symlink_metadata().is_ok() => {
                Err(WorkspaceError::Outside(path.to_owned()))
            }
            Err(e) => Err(WorkspaceError::io("resolve", path, e)),
        }
    }

    /// Resolves the path of a file to be written: an existing regular file
    /// inside the root, or a new name in a directory inside the root
    /// (missing directories are created, each checked to be inside).
    pub(crate) fn resolve_for_write(&self, path: &str) -> Result<PathBuf, WorkspaceError> {
        let relative = lexical(path)?;
        let Some(name) = relative.file_name().map(ToOwned::to_owned) else {
            return Err(WorkspaceError::InvalidPath {
                path: path.to_owned(),
                reason: "names no file",
            });
        };
        let joined = self.root.join(&relative);
        if joined.symlink_metadata().is_ok() {
            let real = self.resolve_existing(path)?;
            check_regular(&real, path)?;
            return Ok(real);
        }
        // The deepest ancestor that exists must be a directory inside the
        // root; whatever is below it is created here, then checked again.
        let parent = relative.parent().unwrap_or(Path::new(""));
        let mut existing = parent;
        while self.root.join(existing).symlink_metadata().is_err() {
            existing = existing.parent().unwrap_or(Path::new(""));
        }
        let base = self.resolve_existing(&existing.to_string_lossy())?;
        if !base.is_dir() {
            return Err(WorkspaceError::WrongKind {
                path: self.relative(&base),
                actual: "a file",
                expected: "a directory",
            });
        }
        let missing = parent.strip_prefix(existing).unwrap_or(Path::new(""));
        let dir = base.join(missing);
        std::fs::create_dir_all(&dir)
            .map_err(|e| WorkspaceError::io("create the directories of", path, e))?;
        let dir = std::fs::canonicalize(&dir)
            .map_err(|e| WorkspaceError::io("resolve the directory of", path, e))?;
        if !dir.starts_with(&self.root) {
            return Err(WorkspaceError::Outside(path.to_owned()));
        }
        Ok(dir.join(name))
    }
}

/// The path as given, checked: relative, no `..`, no NUL; `.` components
/// dropped. The empty path is the root.
fn lexical(path: &str) -> Result<PathBuf, WorkspaceError> {
    let invalid = |reason| WorkspaceError::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    if path.contains('\0') {
        return Err(invalid("contains a NUL byte"));
    }
    if path.len() > 4096 {
        return Err(invalid("is longer than 4096 bytes"));
    }
    let mut clean = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(name) => clean.push(name),
            Component::CurDir => {}
            Component::ParentDir => return Err(invalid("`..` is not allowed")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(invalid(
                    "absolute paths are not allowed; give a path relative to the workspace",
                ));
            }
        }
    }
    Ok(clean)
}

/// What a path names, for error messages: refuses everything but regular
/// files.
fn check_regular(real: &Path, shown: &str) -> Result<std::fs::Metadata, WorkspaceError> {
    let meta = real
        .symlink_metadata()
        .map_err(|e| WorkspaceError::io("inspect", shown, e))?;
    kind_check(&meta, shown)?;
    Ok(meta)
}

fn kind_check(meta: &std::fs::Metadata, shown: &str) -> Result<(), WorkspaceError> {
    let kind = meta.file_type();
    if kind.is_file() {
        Ok(())
    } else if kind.is_dir() {
        Err(WorkspaceError::WrongKind {
            path: shown.to_owned(),
            actual: "a directory",
            expected: "a file",
        })
    } else {
        Err(WorkspaceError::SpecialFile(shown.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_paths() {
        assert_eq!(lexical("a/./b").ok(), Some(PathBuf::from("a/b")));
        assert_eq!(lexical("").ok(), Some(PathBuf::new()));
        assert!(lexical("../x").is_err());
        assert!(lexical("a/../../x").is_err());
        assert!(lexical("/etc/passwd").is_err());
        assert!(lexical("a\0b").is_err());
    }
}
