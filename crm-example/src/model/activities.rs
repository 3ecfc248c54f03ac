//! Activities and the tasks that are due.

use super::*;

/// What kind of activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A note.
    Note,
    /// A phone call.
    Call,
    /// An e-mail.
    Email,
    /// A meeting.
    Meeting,
    /// Something to do, usually with a due date.
    Task,
}

impl ActivityKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Call => "call",
            Self::Email => "email",
            Self::Meeting => "meeting",
            Self::Task => "task",
        }
    }
}

/// A note, call, e-mail, meeting or task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Activity {
    /// Id.
    pub id: i64,
    /// What kind.
    pub kind: String,
    /// One line.
    pub subject: String,
    /// Details.
    pub body: Option<String>,
    /// The contact it concerns.
    pub contact_id: Option<i64>,
    /// The deal it concerns.
    pub deal_id: Option<i64>,
    /// When it is due (tasks).
    pub due_at: Option<String>,
    /// Whether it is done (tasks).
    pub done: bool,
    /// Who owns it.
    pub owner: String,
    /// When it was logged.
    pub created_at: String,
}

impl Activity {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, CrmError> {
        let done: i64 = row.try_get("done")?;
        Ok(Self {
            id: row.try_get("id")?,
            kind: row.try_get("kind")?,
            subject: row.try_get("subject")?,
            body: row.try_get("body")?,
            contact_id: row.try_get("contact_id")?,
            deal_id: row.try_get("deal_id")?,
            due_at: row.try_get("due_at")?,
            done: done != 0,
            owner: row.try_get("owner")?,
            created_at: row.try_get("created_at")?,
        })
    }
}

/// A task that is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UpcomingTask {
    /// The task.
    #[serde(flatten)]
    pub activity: Activity,
    /// The contact's name.
    pub contact_name: Option<String>,
    /// Whether it is past due.
    pub overdue: bool,
}

/// A new activity.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewActivity {
    /// What kind.
    pub kind: ActivityKind,
    /// One line.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub subject: String,
    /// Details.
    #[schema(max_length = 10000)]
    pub body: Option<String>,
    /// The contact it concerns.
    pub contact_id: Option<i64>,
    /// The deal it concerns.
    pub deal_id: Option<i64>,
    /// When it is due (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`).
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?$")]
    pub due_at: Option<String>,
    /// Owner.
    #[schema(max_length = 100)]
    pub owner: Option<String>,
}

impl NewActivity {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        limits::check("subject", &self.subject, limits::NAME)?;
        limits::check_opt("body", self.body.as_deref(), limits::BODY)?;
        limits::check_opt("due_at", self.due_at.as_deref(), limits::DUE)?;
        limits::check_opt("owner", self.owner.as_deref(), limits::OWNER)?;
        non_empty("subject", &self.subject)?;
        if let Some(due) = &self.due_at {
            valid_due(due)?;
        }
        if self.contact_id.is_none() && self.deal_id.is_none() {
            return Err(CrmError::Invalid(
                "an activity needs a contact_id or a deal_id".into(),
            ));
        }
        Ok(())
    }
}
