//! Jira's issues, projects, comments and transitions as the tools return
//! them, and Jira's wire format (REST API v3) for both the client and the
//! mock server.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// An issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Issue {
    /// Its key, such as `DEMO-1`.
    pub key: String,
    /// Jira's numeric id.
    pub id: String,
    /// The one-line summary.
    pub summary: String,
    /// The workflow status, such as `To Do`.
    pub status: String,
    /// Task, Bug, Story...
    pub issue_type: String,
    /// The project's key.
    pub project: String,
    /// The assignee's account id, if assigned.
    pub assignee: Option<String>,
    /// The assignee's display name.
    pub assignee_name: Option<String>,
    /// The priority, such as `Medium`.
    pub priority: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The description, as plain text.
    pub description: Option<String>,
    /// When it was created.
    pub created: Option<String>,
    /// When it last changed.
    pub updated: Option<String>,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Project {
    /// Jira's id.
    pub id: String,
    /// Its key, such as `DEMO`.
    pub key: String,
    /// Its name.
    pub name: String,
    /// `software`, `business` or `service_desk`.
    pub project_type: Option<String>,
}

/// A comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Comment {
    /// Jira's id.
    pub id: String,
    /// The text.
    pub body: String,
    /// Who wrote it.
    pub author: Option<String>,
    /// When.
    pub created: Option<String>,
}

/// A transition an issue can take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Transition {
    /// Jira's id, as given to `transition_issue`.
    pub id: String,
    /// Its name, such as `Start progress`.
    pub name: String,
    /// The status it leads to.
    pub to: String,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SearchResult {
    /// The issues.
    pub issues: Vec<Issue>,
    /// Give this to the next search for the next page.
    pub next_page_token: Option<String>,
    /// Whether this is the last page.
    pub is_last: bool,
}

/// A new issue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct NewIssue {
    /// The project's key.
    pub project: String,
    /// The summary.
    pub summary: String,
    /// Task, Bug, Story...
    pub issue_type: String,
    /// The description, as plain text.
    pub description: Option<String>,
    /// Labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// The priority's name.
    pub priority: Option<String>,
}

/// Fields to change on an issue; those left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct IssueUpdate {
    /// A new summary.
    pub summary: Option<String>,
    /// A new description, as plain text.
    pub description: Option<String>,
    /// New labels, replacing the old ones.
    pub labels: Option<Vec<String>>,
    /// A new priority's name.
    pub priority: Option<String>,
}

impl IssueUpdate {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.summary.is_none()
            && self.description.is_none()
            && self.labels.is_none()
            && self.priority.is_none()
    }
}

/// A created issue's identifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Created {
    /// Jira's id.
    pub id: String,
    /// Its key.
    pub key: String,
}

/// Plain text as an Atlassian Document: one paragraph per line.
pub fn to_adf(text: &str) -> Value {
    let content: Vec<Value> = text
        .lines()
        .map(|line| {
            if line.is_empty() {
                json!({"type": "paragraph", "content": []})
            } else {
                json!({"type": "paragraph", "content": [{"type": "text", "text": line}]})
            }
        })
        .collect();
    json!({"type": "doc", "version": 1, "content": content})
}

/// An Atlassian Document's text: paragraphs and other blocks on lines of
/// their own.
pub fn from_adf(doc: &Value) -> String {
    fn walk(node: &Value, out: &mut String) {
        if let Some(text) = node.get("text").and_then(Value::as_str) {
            out.push_str(text);
        }
        if node.get("type").and_then(Value::as_str) == Some("hardBreak") {
            out.push('\n');
        }
        if let Some(children) = node.get("content").and_then(Value::as_array) {
            let block = node.get("type").and_then(Value::as_str) != Some("doc")
                && children.iter().all(|c| {
                    c.get("text").is_some()
                        || c.get("type").and_then(Value::as_str) == Some("hardBreak")
                });
            for child in children {
                walk(child, out);
            }
            if block {
                out.push('\n');
            }
        }
    }
    let mut out = String::new();
    walk(doc, &mut out);
    out.trim_end_matches('\n').to_owned()
}

/// An issue as Jira's REST API v3 sends it.
pub fn issue_to_wire(issue: &Issue) -> Value {
    json!({
        "id": issue.id,
        "key": issue.key,
        "fields": {
            "summary": issue.summary,
            "status": {"name": issue.status},
            "issuetype": {"name": issue.issue_type},
            "project": {"key": issue.project},
            "assignee": issue.assignee.as_ref().map(|id| json!({
                "accountId": id,
                "displayName": issue.assignee_name.clone().unwrap_or_else(|| id.clone()),
            })),
            "priority": issue.priority.as_ref().map(|p| json!({"name": p})),
            "labels": issue.labels,
            "description": issue.description.as_deref().map(to_adf),
            "created": issue.created,
            "updated": issue.updated,
        }
    })
}

/// An issue from Jira's REST API v3, or what is missing.
pub fn issue_from_wire(value: &Value) -> Result<Issue, String> {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let fields = &value["fields"];
    let named = |field: &str| fields[field]["name"].as_str().map(str::to_owned);
    Ok(Issue {
        key: text(&value["key"]).ok_or("an issue without a key")?,
        id: text(&value["id"]).unwrap_or_default(),
        summary: text(&fields["summary"]).unwrap_or_default(),
        status: named("status").unwrap_or_default(),
        issue_type: named("issuetype").unwrap_or_default(),
        project: text(&fields["project"]["key"]).unwrap_or_default(),
        assignee: text(&fields["assignee"]["accountId"]),
        assignee_name: text(&fields["assignee"]["displayName"]),
        priority: named("priority"),
        labels: fields["labels"]
            .as_array()
            .map(|l| l.iter().filter_map(&text).collect())
            .unwrap_or_default(),
        description: match &fields["description"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            doc => Some(from_adf(doc)),
        },
        created: text(&fields["created"]),
        updated: text(&fields["updated"]),
    })
}

/// A comment as Jira sends it.
pub fn comment_to_wire(comment: &Comment) -> Value {
    json!({
        "id": comment.id,
        "body": to_adf(&comment.body),
        "author": comment.author.as_ref().map(|a| json!({"displayName": a})),
        "created": comment.created,
    })
}

/// A comment from Jira.
pub fn comment_from_wire(value: &Value) -> Comment {
    Comment {
        id: value["id"].as_str().unwrap_or_default().to_owned(),
        body: from_adf(&value["body"]),
        author: value["author"]["displayName"].as_str().map(str::to_owned),
        created: value["created"].as_str().map(str::to_owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adf_round_trips_lines() {
        let text = "First line\nSecond line";
        assert_eq!(from_adf(&to_adf(text)), text);
    }

    #[test]
    fn issues_round_trip_the_wire_format() {
        let issue = Issue {
            key: "DEMO-1".into(),
            id: "10001".into(),
            summary: "S".into(),
            status: "To Do".into(),
            issue_type: "Task".into(),
            project: "DEMO".into(),
            assignee: Some("acc-1".into()),
            assignee_name: Some("Ada".into()),
            priority: Some("High".into()),
            labels: vec!["x".into()],
            description: Some("Line one\nLine two".into()),
            created: Some("2025-01-01T00:00:00Z".into()),
            updated: None,
        };
        assert_eq!(issue_from_wire(&issue_to_wire(&issue)).unwrap(), issue);
        assert!(issue_from_wire(&json!({"fields": {}})).is_err());
    }
}
