//! The workspace tools and `ask_agent` as an MCP server.

use mcp_server::prelude::*;

use crate::agent::{Agent, AgentError, Answer, CallInfo};
use crate::store::{Message, Owner};
use crate::workspace::{
    DiffResult, FileContent, Listing, SearchResult, Workspace, WorkspaceError, WriteResult,
};

/// The longest path argument, in characters.
const PATH: usize = 4096;
/// The longest conversation id.
const CONVERSATION_ID: usize = 128;
/// The longest prompt, in characters.
const PROMPT: usize = 100_000;

/// A conversation's messages.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Conversation {
    /// The conversation.
    pub conversation_id: String,
    /// Its messages, oldest first; none when it does not exist.
    pub messages: Vec<Message>,
}

/// Whether a conversation was deleted.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Deleted {
    /// The conversation.
    pub conversation_id: String,
    /// False when there was no such conversation.
    pub deleted: bool,
}

/// Why a conversation tool failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConversationError {
    /// A conversation id with characters outside the allowed set.
    #[error("invalid conversation_id: use 1 to 128 letters, digits, `-`, `_`, `.` or `:`")]
    InvalidId,
    /// The loop failed.
    #[error(transparent)]
    Agent(#[from] AgentError),
}

fn check_id(id: &str) -> Result<(), ConversationError> {
    let ok = !id.is_empty()
        && id.len() <= CONVERSATION_ID
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(ConversationError::InvalidId)
    }
}

/// The workspace agent server.
#[derive(Debug, Clone)]
pub struct AgentServer {
    agent: Agent,
}

impl AgentServer {
    /// A server over `agent`.
    pub fn new(agent: Agent) -> Self {
        Self { agent }
    }

    /// Runs a workspace operation on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Workspace) -> Result<T, WorkspaceError> + Send + 'static,
    ) -> Result<T, WorkspaceError> {
        let workspace = self.agent.workspace().clone();
        tokio::task::spawn_blocking(move || op(&workspace))
            .await
            .unwrap_or_else(|e| {
                Err(WorkspaceError::Invalid(format!(
                    "the operation failed: {e}"
                )))
            })
    }
}

#[mcp_server(
    name = "agent",
    title = "Workspace agent",
    instructions = "Files of one workspace directory: read_file, write_file, list_files, search_files and diff_files take paths relative to the workspace root (absolute paths and `..` are refused). ask_agent hands a task to an agent that runs on your own model (through sampling) with these tools, and remembers each conversation_id across requests."
)]
impl AgentServer {
    /// Read a UTF-8 text file of the workspace.
    #[mcp_tool(read_only, idempotent, open_world = false)]
    async fn read_file(
        &self,
        /// The file, relative to the workspace root, such as `src/main.rs`.
        #[arg(length(min = 1, max = PATH))]
        path: String,
    ) -> Result<Structured<FileContent>, WorkspaceError> {
        self.blocking(move |w| w.read(&path)).await.map(Structured)
    }

    /// Create or replace a text file of the workspace (missing directories are created).
    #[mcp_tool(destructive, idempotent, open_world = false)]
    async fn write_file(
        &self,
        /// The file, relative to the workspace root.
        #[arg(length(min = 1, max = PATH))]
        path: String,
        /// The whole new content.
        content: String,
    ) -> Result<Structured<WriteResult>, WorkspaceError> {
        self.blocking(move |w| w.write(&path, &content))
            .await
            .map(Structured)
    }

    /// List a directory of the workspace (symbolic links are listed, not followed).
    #[mcp_tool(read_only, idempotent, open_world = false)]
    async fn list_files(
        &self,
        /// The directory, relative to the workspace root.
        #[arg(default = ".", length(max = PATH))]
        path: String,
        /// List the whole tree below it.
        #[arg(default = false)]
        recursive: bool,
    ) -> Result<Structured<Listing>, WorkspaceError> {
        self.blocking(move |w| w.list(&path, recursive))
            .await
            .map(Structured)
    }

    /// Find the lines of the workspace's text files that contain a string or match a regular expression.
    #[mcp_tool(read_only, idempotent, open_world = false)]
    async fn search_files(
        &self,
        /// The text to find, or a regular expression with `regex`.
        #[arg(length(min = 1, max = 1000))]
        pattern: String,
        /// Read `pattern` as a regular expression (Rust `regex` syntax).
        #[arg(default = false)]
        regex: bool,
        /// Ignore case.
        #[arg(default = false)]
        case_insensitive: bool,
        /// The directory to search, relative to the workspace root.
        #[arg(default = ".", length(max = PATH))]
        path: String,
    ) -> Result<Structured<SearchResult>, WorkspaceError> {
        self.blocking(move |w| w.search(&pattern, regex, case_insensitive, &path))
            .await
            .map(Structured)
    }

    /// A unified diff from a workspace file to another file, or to proposed content.
    #[mcp_tool(read_only, idempotent, open_world = false)]
    async fn diff_files(
        &self,
        /// The file, relative to the workspace root.
        #[arg(length(min = 1, max = PATH))]
        path: String,
        /// Another file to compare it with.
        #[arg(length(max = PATH))]
        against: Option<String>,
        /// Proposed content to compare it with (instead of `against`).
        content: Option<String>,
    ) -> Result<Structured<DiffResult>, WorkspaceError> {
        self.blocking(move |w| w.diff(&path, against.as_deref(), content.as_deref()))
            .await
            .map(Structured)
    }

    /// Ask the workspace agent: it works on the task with your own model (sampling) and the workspace tools, and answers. The same conversation_id continues a conversation.
    #[mcp_tool(destructive, open_world = false)]
    async fn ask_agent(
        &self,
        /// Names the conversation; reuse it to continue. Letters, digits, `-`, `_`, `.`, `:`.
        #[arg(length(min = 1, max = CONVERSATION_ID))]
        conversation_id: String,
        /// What to do or ask.
        #[arg(length(min = 1, max = PROMPT))]
        prompt: String,
        ctx: &RequestContext,
    ) -> Result<Structured<Answer>, ConversationError> {
        check_id(&conversation_id)?;
        let owner = Owner::of(ctx);
        let call = CallInfo::of(ctx);
        let answer = self
            .agent
            .ask(&owner, &conversation_id, &prompt, ctx, &call)
            .await?;
        Ok(Structured(answer))
    }

    /// The messages of one of your conversations with the agent.
    #[mcp_tool(read_only, idempotent, open_world = false)]
    async fn get_conversation(
        &self,
        /// The conversation.
        #[arg(length(min = 1, max = CONVERSATION_ID))]
        conversation_id: String,
        ctx: &RequestContext,
    ) -> Result<Structured<Conversation>, ConversationError> {
        check_id(&conversation_id)?;
        let messages = self
            .agent
            .store()
            .load(&Owner::of(ctx), &conversation_id)
            .await
            .map_err(AgentError::from)?;
        Ok(Structured(Conversation {
            conversation_id,
            messages,
        }))
    }

    /// Delete one of your conversations with the agent, with all its messages.
    #[mcp_tool(destructive, idempotent, open_world = false)]
    async fn delete_conversation(
        &self,
        /// The conversation.
        #[arg(length(min = 1, max = CONVERSATION_ID))]
        conversation_id: String,
        ctx: &RequestContext,
    ) -> Result<Structured<Deleted>, ConversationError> {
        check_id(&conversation_id)?;
        let deleted = self
            .agent
            .store()
            .delete(&Owner::of(ctx), &conversation_id)
            .await
            .map_err(AgentError::from)?;
        Ok(Structured(Deleted {
            conversation_id,
            deleted,
        }))
    }
}
