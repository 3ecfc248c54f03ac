//! Attacks on the workspace's confinement: every way out must be refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::os::unix::fs::{FileTypeExt, symlink};
use std::path::Path;

use agent_example::{Limits, Workspace, WorkspaceError};

struct Fixture {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    ws: Workspace,
    root: std::path::PathBuf,
    outside: std::path::PathBuf,
}

/// A workspace with `notes.txt` and `sub/inner.txt`, and beside it an
/// outside directory holding `secret.txt`.
fn fixture(limits: Limits) -> Fixture {
    let ws_dir = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let root = ws_dir.path().canonicalize().unwrap();
    let outside = out_dir.path().canonicalize().unwrap();
    fs::write(root.join("notes.txt"), "hello\n").unwrap();
    fs::create_dir(root.join("sub")).unwrap();
    fs::write(root.join("sub/inner.txt"), "inner\n").unwrap();
    fs::write(outside.join("secret.txt"), "TOP SECRET\n").unwrap();
    let ws = Workspace::open(&root, limits).unwrap();
    Fixture {
        _dirs: (ws_dir, out_dir),
        ws,
        root,
        outside,
    }
}

fn refused_path(result: Result<impl std::fmt::Debug, WorkspaceError>) {
    match result {
        Err(WorkspaceError::InvalidPath { .. } | WorkspaceError::Outside(_)) => {}
        other => panic!("expected the path to be refused, got {other:?}"),
    }
}

#[test]
fn parent_components_are_refused_everywhere() {
    let f = fixture(Limits::default());
    for path in ["..", "../secret.txt", "sub/../../x", "sub/..", "./../x"] {
        refused_path(f.ws.read(path));
        refused_path(f.ws.write(path, "x"));
        refused_path(f.ws.list(path, false));
        refused_path(f.ws.search("x", false, false, path));
        refused_path(f.ws.diff(path, Some("notes.txt"), None));
        refused_path(f.ws.diff("notes.txt", Some(path), None));
    }
    assert!(!f.root.parent().unwrap().join("x").exists());
}

#[test]
fn absolute_paths_are_refused_even_inside() {
    let f = fixture(Limits::default());
    let inside = f.root.join("notes.txt");
    let secret = f.outside.join("secret.txt");
    for path in [
        "/etc/passwd",
        inside.to_str().unwrap(),
        secret.to_str().unwrap(),
    ] {
        refused_path(f.ws.read(path));
        refused_path(f.ws.write(path, "x"));
        refused_path(f.ws.list(path, false));
    }
    assert_eq!(fs::read_to_string(&secret).unwrap(), "TOP SECRET\n");
}

#[test]
fn symlinks_out_are_refused() {
    let f = fixture(Limits::default());
    symlink(f.outside.join("secret.txt"), f.root.join("link.txt")).unwrap();
    symlink(&f.outside, f.root.join("outdir")).unwrap();
    symlink("/etc/passwd", f.root.join("passwd")).unwrap();
    symlink(f.root.join("nowhere"), f.root.join("dangling")).unwrap();

    for path in ["link.txt", "outdir/secret.txt", "passwd", "dangling"] {
        refused_path(f.ws.read(path));
        refused_path(f.ws.write(path, "pwned"));
    }
    // A new file whose parent resolves outside, directly or below a new directory.
    refused_path(f.ws.write("outdir/new.txt", "pwned"));
    refused_path(f.ws.write("outdir/deeper/new.txt", "pwned"));
    refused_path(f.ws.list("outdir", true));
    refused_path(f.ws.search("SECRET", false, false, "outdir"));
    refused_path(f.ws.diff("notes.txt", Some("link.txt"), None));

    assert_eq!(
        fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
        "TOP SECRET\n"
    );
    assert!(!f.outside.join("new.txt").exists());
    assert!(!f.outside.join("deeper").exists());
    assert!(!f.root.join("nowhere").exists());

    // Walks list links without following them.
    let listing = f.ws.list(".", true).unwrap();
    assert!(
        listing.entries.iter().all(|e| !e.path.contains("secret")),
        "{listing:?}"
    );
    let found = f.ws.search("SECRET", false, false, ".").unwrap();
    assert!(found.matches.is_empty(), "{found:?}");
}

#[test]
fn symlinks_inside_are_followed() {
    let f = fixture(Limits::default());
    symlink(f.root.join("sub/inner.txt"), f.root.join("alias.txt")).unwrap();
    symlink("sub", f.root.join("subdir")).unwrap();
    assert_eq!(f.ws.read("alias.txt").unwrap().content, "inner\n");
    assert_eq!(f.ws.read("alias.txt").unwrap().path, "sub/inner.txt");
    let written = f.ws.write("subdir/new.txt", "new").unwrap();
    assert_eq!(written.path, "sub/new.txt");
    // Writing through a link replaces the target, not the link.
    f.ws.write("alias.txt", "changed").unwrap();
    assert_eq!(
        fs::read_to_string(f.root.join("sub/inner.txt")).unwrap(),
        "changed"
    );
    assert!(
        fs::symlink_metadata(f.root.join("alias.txt"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "mkfifo failed");
}

#[test]
fn special_files_are_never_opened() {
    let f = fixture(Limits::default());
    mkfifo(&f.root.join("pipe"));
    let _socket = std::os::unix::net::UnixListener::bind(f.root.join("sock")).unwrap();
    symlink("/dev/zero", f.root.join("zero")).unwrap();
    for path in ["pipe", "sock"] {
        assert!(
            matches!(f.ws.read(path), Err(WorkspaceError::SpecialFile(_))),
            "{path}"
        );
        assert!(
            matches!(f.ws.write(path, "x"), Err(WorkspaceError::SpecialFile(_))),
            "{path}"
        );
    }
    // A device is outside the workspace anyway.
    refused_path(f.ws.read("zero"));
    // A search walks past them.
    let found = f.ws.search("hello", false, false, ".").unwrap();
    assert_eq!(found.matches.len(), 1);
    assert!(
        fs::symlink_metadata(f.root.join("pipe"))
            .unwrap()
            .file_type()
            .is_fifo()
    );
}

#[test]
fn size_caps_hold() {
    let limits = Limits {
        max_read_bytes: 16,
        max_write_bytes: 8,
        max_results: 500,
    };
    let f = fixture(limits);
    fs::write(f.root.join("big.txt"), "x".repeat(17)).unwrap();
    assert!(matches!(
        f.ws.read("big.txt"),
        Err(WorkspaceError::TooLarge {
            size: 17,
            limit: 16,
            ..
        })
    ));
    assert!(matches!(
        f.ws.write("new.txt", "123456789"),
        Err(WorkspaceError::TooLarge {
            size: 9,
            limit: 8,
            ..
        })
    ));
    assert!(!f.root.join("new.txt").exists());
    assert!(matches!(
        f.ws.diff("notes.txt", None, Some("123456789")),
        Err(WorkspaceError::TooLarge { .. })
    ));
    assert_eq!(f.ws.write("new.txt", "12345678").unwrap().bytes_written, 8);
    // Searches skip what they may not read.
    let found = f.ws.search("x", false, false, ".").unwrap();
    assert_eq!((found.matches.len(), found.files_skipped), (0, 1));
}

#[test]
fn errors_never_show_the_workspace_location() {
    let f = fixture(Limits::default());
    let root = f.root.to_string_lossy().into_owned();
    for error in [
        f.ws.read("missing.txt").unwrap_err(),
        f.ws.read("sub").unwrap_err(),
        f.ws.read("../x").unwrap_err(),
        f.ws.write("notes.txt/child", "x").unwrap_err(),
    ] {
        let message = error.to_string();
        assert!(!message.contains(&root), "{message}");
    }
    assert!(matches!(
        f.ws.read("missing.txt"),
        Err(WorkspaceError::NotFound(_))
    ));
}

#[test]
fn a_write_replaces_a_hard_link_instead_of_writing_through_it() {
    let f = fixture(Limits::default());
    fs::hard_link(f.outside.join("secret.txt"), f.root.join("linked.txt")).unwrap();
    f.ws.write("linked.txt", "replaced").unwrap();
    assert_eq!(
        fs::read_to_string(f.root.join("linked.txt")).unwrap(),
        "replaced"
    );
    assert_eq!(
        fs::read_to_string(f.outside.join("secret.txt")).unwrap(),
        "TOP SECRET\n"
    );
}

#[test]
fn listings_and_searches_stop_at_the_result_limit() {
    let f = fixture(Limits {
        max_results: 2,
        ..Limits::default()
    });
    for name in ["a.txt", "b.txt", "c.txt"] {
        fs::write(f.root.join(name), "hello\nhello\n").unwrap();
    }
    let listing = f.ws.list(".", true).unwrap();
    assert_eq!((listing.entries.len(), listing.truncated), (2, true));
    let found = f.ws.search("hello", false, false, ".").unwrap();
    assert_eq!((found.matches.len(), found.truncated), (2, true));
    let all = f.ws.search("inner", false, false, "sub").unwrap();
    assert_eq!((all.matches.len(), all.truncated), (1, false));
}
