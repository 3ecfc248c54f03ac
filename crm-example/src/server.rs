//! The CRM as an MCP server: tools, resources and prompts over [`Db`](crate::Db).

use mcp_server::prelude::*;

use crate::db::CrmError;
use crate::limits;
use crate::model::{
    Activity, ActivityKind, Contact, ContactChange, ContactDetails, Deal, NewActivity, NewContact,
    NewDeal, PipelineSummary, Stage,
};

mod crm;
mod pages;
mod prompts;
mod support;

pub use crm::Crm;
pub use pages::{CompanyDetails, CompanyPage, ContactPage, DealList, TaskList};
pub use support::ContactField;
use support::{company_details, confirm_delete, json, not_found};

#[mcp_server(
    name = "crm",
    title = "CRM",
    instructions = "A CRM: contacts, companies, a deal pipeline (lead, qualified, proposal, negotiation, won, lost) and activities (notes, calls, e-mails, meetings, tasks). Search before creating; pass an idempotency_key when creating and repeat it, with the same arguments, on a retry so the retry does not create twice. Amounts are in the deal's currency."
)]
impl Crm {
    /// Search contacts by name, e-mail, company or tag.
    #[mcp_tool(read_only)]
    async fn search_contacts(
        &self,
        /// Text to look for in the name, e-mail, company name or tags; empty lists everyone.
        #[arg(default = "", length(max = limits::QUERY))]
        query: String,
        /// Only contacts of this company.
        company_id: Option<i64>,
        /// Only contacts with this tag, such as `vip` or `decision-maker`.
        #[arg(length(max = limits::TAG))]
        tag: Option<String>,
        /// Page size.
        #[arg(default = 20, range(min = 1, max = 100))]
        limit: i64,
        /// How many matches to skip.
        #[arg(default = 0, range(min = 0))]
        offset: i64,
        ctx: &RequestContext,
    ) -> Result<Structured<ContactPage>, CrmError> {
        let (contacts, total) = self
            .tenant_db(ctx)?
            .search_contacts(&query, company_id, tag.as_deref(), limit, offset)
            .await?;
        let seen = offset + i64::try_from(contacts.len()).unwrap_or(0);
        Ok(Structured(ContactPage {
            total,
            next_offset: (seen < total).then_some(seen),
            contacts,
        }))
    }

    /// A contact with their company, open deals and ten most recent activities.
    #[mcp_tool(read_only, ui = "ui://crm/contact")]
    async fn get_contact_details(
        &self,
        /** The contact's id. */
        id: i64,
        ctx: &RequestContext,
    ) -> Result<Structured<ContactDetails>, CrmError> {
        self.tenant_db(ctx)?
            .contact_details(id)
            .await
            .map(Structured)
    }

    /// Create a contact; the company is created if it is new.
    #[mcp_tool]
    async fn create_contact(
        &self,
        /// First name.
        #[arg(length(max = limits::NAME))]
        first_name: String,
        /// Last name.
        #[arg(length(max = limits::NAME))]
        last_name: String,
        /// E-mail address; must be unique.
        #[arg(length(max = limits::EMAIL))]
        email: Option<String>,
        /// Phone number.
        #[arg(length(max = limits::PHONE))]
        phone: Option<String>,
        /// Job title.
        #[arg(length(max = limits::NAME))]
        title: Option<String>,
        /// Company name.
        #[arg(length(max = limits::NAME))]
        company: Option<String>,
        /// Tags, such as `vip`: at most 50 characters each, no commas.
        #[arg(length(max = limits::TAGS))]
        tags: Option<Vec<String>>,
        /// Any unique string: a retry with the same key and arguments returns the first result instead of creating again (keys expire after a day by default).
        #[arg(length(max = limits::KEY))]
        idempotency_key: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Contact>, CrmError> {
        let db = self.tenant_db(ctx)?;
        let new = NewContact {
            first_name,
            last_name,
            email,
            phone,
            title,
            company,
            tags: tags.unwrap_or_default(),
        };
        db.create_contact_once(&new, idempotency_key.as_deref())
            .await
            .map(Structured)
    }

    /// Change a contact's fields; fields left out keep their values.
    #[mcp_tool(idempotent)]
    async fn update_contact(
        &self,
        /// The contact's id.
        id: i64,
        /// First name.
        #[arg(length(max = limits::NAME))]
        first_name: Option<String>,
        /// Last name.
        #[arg(length(max = limits::NAME))]
        last_name: Option<String>,
        /// E-mail address.
        #[arg(length(max = limits::EMAIL))]
        email: Option<String>,
        /// Phone number.
        #[arg(length(max = limits::PHONE))]
        phone: Option<String>,
        /// Job title.
        #[arg(length(max = limits::NAME))]
        title: Option<String>,
        /// Company name (created if new).
        #[arg(length(max = limits::NAME))]
        company: Option<String>,
        /// Tags, replacing the current ones: at most 50 characters each, no commas.
        #[arg(length(max = limits::TAGS))]
        tags: Option<Vec<String>>,
        ctx: &RequestContext,
    ) -> Result<Structured<Contact>, CrmError> {
        let db = self.tenant_db(ctx)?;
        let change = ContactChange {
            first_name,
            last_name,
            email,
            phone,
            title,
            company,
            tags,
        };
        db.update_contact(id, &change).await.map(Structured)
    }

    /// Change one field of a contact from the contact card; returns the
    /// card's data again.
    #[mcp_tool(idempotent, ui = "ui://crm/contact", visibility = ["app"])]
    async fn update_contact_field(
        &self,
        /// The contact's id.
        id: i64,
        /// The field to change.
        field: ContactField,
        /// Its new value.
        #[arg(length(max = limits::EMAIL))]
        value: String,
        ctx: &RequestContext,
    ) -> Result<Structured<ContactDetails>, CrmError> {
        let db = self.tenant_db(ctx)?;
        db.update_contact(id, &field.change(value)).await?;
        db.contact_details(id).await.map(Structured)
    }

    /// The contact card: shows `get_contact_details` and edits a field
    /// through `update_contact_field`.
    #[mcp_resource("ui://crm/contact", name = "contact_card", ui(prefers_border))]
    async fn contact_view(&self) -> &'static str {
        include_str!("../ui/contact.html")
    }

    /// The deal pipeline board: shows `list_deals` by stage and moves a
    /// deal with `update_deal_stage`.
    #[mcp_resource(
        "ui://crm/pipeline",
        name = "pipeline_board",
        ui(prefers_border = false)
    )]
    async fn pipeline_view(&self) -> &'static str {
        include_str!("../ui/pipeline.html")
    }

    /// Delete a contact and their activities, after the user confirms.
    #[mcp_tool(destructive)]
    async fn delete_contact(
        &self,
        /// The contact's id.
        id: i64,
        /// Set to true to confirm when the client cannot ask the user.
        confirm: Option<bool>,
        ctx: &RequestContext,
    ) -> Result<String, CrmError> {
        let db = self.tenant_db(ctx)?;
        let name = db.contact(id).await?.full_name();
        if !confirm_delete(ctx, &name, id, confirm).await? {
            return Ok(format!("Kept {name}: the deletion was not confirmed."));
        }
        db.delete_contact(id).await?;
        Ok(format!("Deleted {name} (contact {id})."))
    }

    /// List companies, optionally matching a text.
    #[mcp_tool(read_only)]
    async fn list_companies(
        &self,
        /// Text to look for in the name, domain or industry.
        #[arg(length(max = limits::QUERY))]
        query: Option<String>,
        /// Page size.
        #[arg(default = 20, range(min = 1, max = 100))]
        limit: i64,
        /// How many to skip.
        #[arg(default = 0, range(min = 0))]
        offset: i64,
        ctx: &RequestContext,
    ) -> Result<Structured<CompanyPage>, CrmError> {
        let companies = self
            .tenant_db(ctx)?
            .list_companies(query.as_deref(), limit, offset)
            .await?;
        let full = i64::try_from(companies.len()).unwrap_or(0) == limit;
        Ok(Structured(CompanyPage {
            next_offset: full.then_some(offset + limit),
            companies,
        }))
    }

    /// A company with its contacts and deals.
    #[mcp_tool(read_only)]
    async fn get_company(
        &self,
        /** The company's id. */
        id: i64,
        ctx: &RequestContext,
    ) -> Result<Structured<CompanyDetails>, CrmError> {
        company_details(&self.tenant_db(ctx)?, id)
            .await
            .map(Structured)
    }

    /// Create a deal for a company.
    #[mcp_tool]
    async fn create_deal(
        &self,
        /// What is being sold.
        #[arg(length(max = limits::NAME))]
        title: String,
        /// The buying company's id.
        company_id: i64,
        /// The main contact's id.
        contact_id: Option<i64>,
        /// Starting stage; default `lead`.
        stage: Option<Stage>,
        /// Value in the deal's currency.
        amount: f64,
        /// Three-letter currency code; default USD.
        #[arg(length(max = 3))]
        currency: Option<String>,
        /// Expected close date, `YYYY-MM-DD`.
        #[arg(length(max = limits::DATE))]
        expected_close: Option<String>,
        /// Who owns the deal.
        #[arg(length(max = limits::OWNER))]
        owner: Option<String>,
        /// Any unique string: a retry with the same key and arguments returns the first result instead of creating again (keys expire after a day by default).
        #[arg(length(max = limits::KEY))]
        idempotency_key: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Deal>, CrmError> {
        let db = self.tenant_db(ctx)?;
        let new = NewDeal {
            title,
            company_id,
            contact_id,
            stage,
            amount,
            currency,
            expected_close,
            owner,
        };
        db.create_deal_once(&new, idempotency_key.as_deref())
            .await
            .map(Structured)
    }

    /// Move a deal to another pipeline stage.
    #[mcp_tool(idempotent, ui = "ui://crm/pipeline")]
    async fn update_deal_stage(
        &self,
        /// The deal's id.
        id: i64,
        /// The new stage.
        stage: Stage,
        ctx: &RequestContext,
    ) -> Result<Structured<Deal>, CrmError> {
        self.tenant_db(ctx)?
            .update_deal_stage(id, stage)
            .await
            .map(Structured)
    }

    /// List deals, optionally by stage, owner or company.
    #[mcp_tool(read_only, ui = "ui://crm/pipeline")]
    async fn list_deals(
        &self,
        /// Only deals in this stage.
        stage: Option<Stage>,
        /// Only deals of this owner.
        #[arg(length(max = limits::OWNER))]
        owner: Option<String>,
        /// Only deals of this company.
        company_id: Option<i64>,
        ctx: &RequestContext,
    ) -> Result<Structured<DealList>, CrmError> {
        let deals = self
            .tenant_db(ctx)?
            .list_deals(stage, owner.as_deref(), company_id)
            .await?;
        Ok(Structured(DealList {
            count: deals.len(),
            deals,
        }))
    }

    /// Log a note, call, e-mail, meeting or task against a contact or deal.
    #[mcp_tool]
    async fn log_activity(
        &self,
        /// What kind of activity.
        kind: ActivityKind,
        /// One line.
        #[arg(length(max = limits::NAME))]
        subject: String,
        /// Details.
        #[arg(length(max = limits::BODY))]
        body: Option<String>,
        /// The contact it concerns.
        contact_id: Option<i64>,
        /// The deal it concerns.
        deal_id: Option<i64>,
        /// When a task is due: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`.
        #[arg(length(max = limits::DUE))]
        due_at: Option<String>,
        /// Who owns it.
        #[arg(length(max = limits::OWNER))]
        owner: Option<String>,
        /// Any unique string: a retry with the same key and arguments returns the first result instead of creating again (keys expire after a day by default).
        #[arg(length(max = limits::KEY))]
        idempotency_key: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<Activity>, CrmError> {
        let db = self.tenant_db(ctx)?;
        let new = NewActivity {
            kind,
            subject,
            body,
            contact_id,
            deal_id,
            due_at,
            owner,
        };
        db.log_activity_once(&new, idempotency_key.as_deref())
            .await
            .map(Structured)
    }

    /// Open tasks due within the next days, overdue ones first.
    #[mcp_tool(read_only)]
    async fn list_upcoming_tasks(
        &self,
        /// How many days ahead to look.
        #[arg(default = 7, range(min = 0, max = 365))]
        days: i64,
        /// Only tasks of this owner.
        #[arg(length(max = limits::OWNER))]
        owner: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Structured<TaskList>, CrmError> {
        let tasks = self
            .tenant_db(ctx)?
            .upcoming_tasks(days, owner.as_deref())
            .await?;
        Ok(Structured(TaskList {
            count: tasks.len(),
            tasks,
        }))
    }

    /// Deal counts and amounts by pipeline stage.
    #[mcp_tool(read_only)]
    async fn pipeline_summary(
        &self,
        ctx: &RequestContext,
    ) -> Result<Structured<PipelineSummary>, CrmError> {
        self.tenant_db(ctx)?
            .pipeline_summary()
            .await
            .map(Structured)
    }

    /// One contact with their company, open deals and recent activities.
    #[mcp_resource("crm://contacts/{id}", mime = "application/json", name = "contact")]
    async fn contact_resource(
        &self,
        #[arg(complete = contact_ids)] id: i64,
        ctx: &RequestContext,
    ) -> Result<String, ResourceError> {
        let uri = format!("crm://contacts/{id}");
        let db = self.tenant_db(ctx).map_err(|e| not_found(&uri, e))?;
        let details = db
            .contact_details(id)
            .await
            .map_err(|e| not_found(&uri, e))?;
        json(&details)
    }

    /// One company with its contacts and deals.
    #[mcp_resource("crm://companies/{id}", mime = "application/json", name = "company")]
    async fn company_resource(
        &self,
        #[arg(complete = company_ids)] id: i64,
        ctx: &RequestContext,
    ) -> Result<String, ResourceError> {
        let uri = format!("crm://companies/{id}");
        let db = self.tenant_db(ctx).map_err(|e| not_found(&uri, e))?;
        let details = company_details(&db, id)
            .await
            .map_err(|e| not_found(&uri, e))?;
        json(&details)
    }

    /// The sales pipeline: deal counts and amounts by stage.
    #[mcp_resource("crm://pipeline", mime = "application/json", name = "pipeline")]
    async fn pipeline_resource(&self, ctx: &RequestContext) -> Result<String, ResourceError> {
        let summary = self
            .tenant_db(ctx)
            .map_err(|e| not_found("crm://pipeline", e))?
            .pipeline_summary()
            .await
            .map_err(|e| not_found("crm://pipeline", e))?;
        json(&summary)
    }

    /// A briefing on an account before a meeting: who is who, open deals,
    /// recent activity and suggested next steps.
    #[mcp_prompt(title = "Account brief")]
    async fn account_brief(
        &self,
        /// The company's id.
        #[arg(complete = company_ids)]
        company_id: i64,
        ctx: &RequestContext,
    ) -> Result<String, CrmError> {
        let CompanyDetails {
            company,
            contacts,
            deals,
        } = company_details(&self.tenant_db(ctx)?, company_id).await?;
        Ok(prompts::account_brief(&company, &contacts, &deals))
    }

    /// A follow-up e-mail draft for a contact, based on their latest activity.
    #[mcp_prompt(title = "Follow-up e-mail")]
    async fn follow_up_email(
        &self,
        /// The contact's id.
        #[arg(complete = contact_ids)]
        contact_id: i64,
        /// The tone, such as `friendly` or `formal`.
        tone: Option<String>,
        ctx: &RequestContext,
    ) -> Result<Vec<PromptMessage>, CrmError> {
        let details = self.tenant_db(ctx)?.contact_details(contact_id).await?;
        Ok(prompts::follow_up_email(&details, tone))
    }
}
