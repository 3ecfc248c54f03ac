//! The prompts' text.

use mcp_server::prelude::*;

use crate::model::{Company, Contact, ContactDetails, Deal};

/// The account brief prompt for `company`, its people and its deals.
pub(super) fn account_brief(company: &Company, contacts: &[Contact], deals: &[Deal]) -> String {
    let mut text = format!(
        "Prepare a one-page account brief for {} ({}, {}).\n\nPeople:\n",
        company.name,
        company.industry.as_deref().unwrap_or("industry unknown"),
        company.domain.as_deref().unwrap_or("no domain"),
    );
    for c in contacts {
        text.push_str(&format!(
            "- {} — {} (tags: {})\n",
            c.full_name(),
            c.title.as_deref().unwrap_or("no title"),
            if c.tags.is_empty() {
                "none".into()
            } else {
                c.tags.join(", ")
            }
        ));
    }
    text.push_str("\nDeals:\n");
    for d in deals {
        text.push_str(&format!(
            "- {}: {} {:.0} {}, expected close {}, owner {}\n",
            d.title,
            d.stage,
            d.amount,
            d.currency,
            d.expected_close.as_deref().unwrap_or("unset"),
            d.owner
        ));
    }
    text.push_str(
        "\nSummarise the relationship, the state of each open deal, the risks, and three concrete next steps. Use get_contact_details for anyone you need more on.",
    );
    text
}

/// The follow-up e-mail prompt for a contact, in `tone` (friendly and
/// concise unless given).
pub(super) fn follow_up_email(
    details: &ContactDetails,
    tone: Option<String>,
) -> Vec<PromptMessage> {
    let tone = tone.unwrap_or_else(|| "friendly and concise".into());
    let mut context = format!(
        "Contact: {} <{}>, {} at {}.\n",
        details.contact.full_name(),
        details.contact.email.as_deref().unwrap_or("no e-mail"),
        details.contact.title.as_deref().unwrap_or("no title"),
        details.contact.company.as_deref().unwrap_or("no company"),
    );
    for activity in details.recent_activities.iter().take(3) {
        context.push_str(&format!(
            "Recent {}: {}{}\n",
            activity.kind,
            activity.subject,
            activity
                .body
                .as_deref()
                .map(|b| format!(" — {b}"))
                .unwrap_or_default()
        ));
    }
    for deal in &details.open_deals {
        context.push_str(&format!(
            "Open deal: {} ({}, {:.0} {})\n",
            deal.title, deal.stage, deal.amount, deal.currency
        ));
    }
    vec![
        PromptMessage::user(context),
        PromptMessage::user(format!(
            "Draft a {tone} follow-up e-mail to {} that picks up from the latest activity and proposes one clear next step. Keep it under 150 words.",
            details.contact.first_name
        )),
    ]
}
