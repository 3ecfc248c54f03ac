//! Runs a workspace tool the model asked for, by name, with JSON arguments.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::workspace::{Workspace, WorkspaceError};

/// A workspace tool's name and annotations, as the MCP tools declare them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ToolInfo {
    /// The name.
    pub name: &'static str,
    /// It changes nothing.
    pub read_only: bool,
    /// It may overwrite data.
    pub destructive: bool,
}

/// The workspace tools.
pub const TOOL_INFO: &[ToolInfo] = &[
    ToolInfo {
        name: "read_file",
        read_only: true,
        destructive: false,
    },
    ToolInfo {
        name: "write_file",
        read_only: false,
        destructive: true,
    },
    ToolInfo {
        name: "list_files",
        read_only: true,
        destructive: false,
    },
    ToolInfo {
        name: "search_files",
        read_only: true,
        destructive: false,
    },
    ToolInfo {
        name: "diff_files",
        read_only: true,
        destructive: false,
    },
];

/// The tool called `name`, if there is one.
pub fn tool_info(name: &str) -> Option<ToolInfo> {
    TOOL_INFO.iter().copied().find(|t| t.name == name)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathArgs {
    path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteArgs {
    path: String,
    content: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    #[serde(default = "root")]
    path: String,
    #[serde(default)]
    recursive: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchArgs {
    pattern: String,
    #[serde(default)]
    regex: bool,
    #[serde(default)]
    case_insensitive: bool,
    #[serde(default = "root")]
    path: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DiffArgs {
    path: String,
    against: Option<String>,
    content: Option<String>,
}

fn root() -> String {
    ".".to_owned()
}

fn args<T: DeserializeOwned>(arguments: Map<String, Value>) -> Result<T, String> {
    serde_json::from_value(Value::Object(arguments)).map_err(|e| format!("invalid arguments: {e}"))
}

fn done<T: serde::Serialize>(result: Result<T, WorkspaceError>) -> Result<Value, String> {
    let value = result.map_err(|e| e.to_string())?;
    serde_json::to_value(value).map_err(|e| e.to_string())
}

/// Runs the tool `name` on the blocking pool. Every failure is a message
/// for the model: an unknown tool, bad arguments, a refused path.
pub async fn execute(
    workspace: &Workspace,
    name: &str,
    arguments: Map<String, Value>,
) -> Result<Value, String> {
    let workspace = workspace.clone();
    let name = name.to_owned();
    tokio::task::spawn_blocking(move || run(&workspace, &name, arguments))
        .await
        .unwrap_or_else(|e| Err(format!("the tool failed: {e}")))
}

fn run(workspace: &Workspace, name: &str, arguments: Map<String, Value>) -> Result<Value, String> {
    match name {
        "read_file" => {
            let a: PathArgs = args(arguments)?;
            done(workspace.read(&a.path))
        }
        "write_file" => {
            let a: WriteArgs = args(arguments)?;
            done(workspace.write(&a.path, &a.content))
        }
        "list_files" => {
            let a: ListArgs = args(arguments)?;
            done(workspace.list(&a.path, a.recursive))
        }
        "search_files" => {
            let a: SearchArgs = args(arguments)?;
            done(workspace.search(&a.pattern, a.regex, a.case_insensitive, &a.path))
        }
        "diff_files" => {
            let a: DiffArgs = args(arguments)?;
            done(workspace.diff(&a.path, a.against.as_deref(), a.content.as_deref()))
        }
        other => Err(format!(
            "unknown tool `{other}`: use read_file, write_file, list_files, search_files or diff_files"
        )),
    }
}
