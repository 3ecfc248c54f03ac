//! Listing directories and searching files. Walks never follow symbolic
//! links: a link is listed as a link and never searched.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use walkdir::WalkDir;

use super::{Workspace, WorkspaceError};

/// How deep a recursive listing or a search goes.
const MAX_DEPTH: usize = 32;
/// The most files one search opens.
const MAX_FILES: usize = 10_000;
/// The longest line a search match quotes, in characters.
const MAX_LINE: usize = 240;

/// What a directory entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (not followed).
    Symlink,
    /// A device, FIFO or socket.
    Other,
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Entry {
    /// Relative to the workspace.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// Its size in bytes (files only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A directory's entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Listing {
    /// The entries, in name order.
    pub entries: Vec<Entry>,
    /// More entries exist than the limit let through.
    pub truncated: bool,
}

/// One matching line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SearchMatch {
    /// The file, relative to the workspace.
    pub path: String,
    /// The line number, from 1.
    pub line: usize,
    /// The line (its first 240 characters).
    pub text: String,
}

/// A search's matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SearchResult {
    /// The matching lines, by file and line.
    pub matches: Vec<SearchMatch>,
    /// How many files were searched.
    pub files_searched: usize,
    /// Files left out: over the read limit, or not UTF-8 text.
    pub files_skipped: usize,
    /// The search stopped early: more matches than the limit, or more
    /// than 10 000 files; search a narrower `path`.
    pub truncated: bool,
}

enum Matcher {
    Substring { needle: String, fold: bool },
    Regex(regex::Regex),
}

impl Matcher {
    fn new(pattern: &str, regex: bool, case_insensitive: bool) -> Result<Self, WorkspaceError> {
        if pattern.is_empty() {
            return Err(WorkspaceError::InvalidPattern(
                "the pattern is empty".into(),
            ));
        }
        if regex {
            // Bounded compiled size: a pattern cannot make the server
            // build a huge automaton. Matching is linear time in `regex`.
            regex::RegexBuilder::new(pattern)
                .case_insensitive(case_insensitive)
                .size_limit(1 << 20)
                .dfa_size_limit(1 << 20)
                .build()
                .map(Self::Regex)
                .map_err(|e| WorkspaceError::InvalidPattern(e.to_string()))
        } else if case_insensitive {
            Ok(Self::Substring {
                needle: pattern.to_lowercase(),
                fold: true,
            })
        } else {
            Ok(Self::Substring {
                needle: pattern.to_owned(),
                fold: false,
            })
        }
    }

    fn is_match(&self, line: &str) -> bool {
        match self {
            Self::Substring { needle, fold: true } => line.to_lowercase().contains(needle.as_str()),
            Self::Substring {
                needle,
                fold: false,
            } => line.contains(needle.as_str()),
            Self::Regex(regex) => regex.is_match(line),
        }
    }
}

impl Workspace {
    fn walk(&self, path: &str, depth: usize) -> Result<WalkDir, WorkspaceError> {
        let real = self.resolve_existing(path)?;
        if !real.is_dir() {
            return Err(WorkspaceError::WrongKind {
                path: path.to_owned(),
                actual: "not a directory",
                expected: "a directory",
            });
        }
        Ok(WalkDir::new(real)
            .min_depth(1)
            .max_depth(depth)
            .follow_links(false)
            .sort_by_file_name())
    }

    /// The entries of a directory, or of its whole tree with `recursive`.
    ///
    /// # Errors
    /// The path is refused, missing, or not a directory.
    pub fn list(&self, path: &str, recursive: bool) -> Result<Listing, WorkspaceError> {
        let depth = if recursive { MAX_DEPTH } else { 1 };
        let mut entries = Vec::new();
        let mut truncated = false;
        // Entries that vanish or cannot be read while walking are left out.
        for entry in self.walk(path, depth)?.into_iter().filter_map(Result::ok) {
            if entries.len() == self.limits.max_results {
                truncated = true;
                break;
            }
            let kind = entry.file_type();
            let (kind, size) = if kind.is_symlink() {
                (EntryKind::Symlink, None)
            } else if kind.is_dir() {
                (EntryKind::Dir, None)
            } else if kind.is_file() {
                (EntryKind::File, entry.metadata().ok().map(|m| m.len()))
            } else {
                (EntryKind::Other, None)
            };
            entries.push(Entry {
                path: self.relative(entry.path()),
                kind,
                size,
            });
        }
        Ok(Listing { entries, truncated })
    }

    /// The lines of the regular files under `path` that contain `pattern`
    /// (a regular expression with `regex`).
    ///
    /// # Errors
    /// The path is refused or not a directory, or the pattern is invalid.
    pub fn search(
        &self,
        pattern: &str,
        regex: bool,
        case_insensitive: bool,
        path: &str,
    ) -> Result<SearchResult, WorkspaceError> {
        let matcher = Matcher::new(pattern, regex, case_insensitive)?;
        let mut result = SearchResult {
            matches: Vec::new(),
            files_searched: 0,
            files_skipped: 0,
            truncated: false,
        };
        'files: for entry in self
            .walk(path, MAX_DEPTH)?
            .into_iter()
            .filter_map(Result::ok)
        {
            // Regular files only: links, devices and FIFOs are never opened.
            if !entry.file_type().is_file() {
                continue;
            }
            if result.files_searched + result.files_skipped == MAX_FILES {
                result.truncated = true;
                break;
            }
            let shown = self.relative(entry.path());
            let Ok(text) = self.read_text(entry.path(), &shown) else {
                result.files_skipped += 1;
                continue;
            };
            result.files_searched += 1;
            for (number, line) in text.lines().enumerate() {
                if !matcher.is_match(line) {
                    continue;
                }
                if result.matches.len() == self.limits.max_results {
                    result.truncated = true;
                    break 'files;
                }
                result.matches.push(SearchMatch {
                    path: shown.clone(),
                    line: number + 1,
                    text: line.chars().take(MAX_LINE).collect(),
                });
            }
        }
        Ok(result)
    }
}
