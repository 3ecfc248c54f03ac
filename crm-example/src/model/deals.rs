//! Deals, their stages and the pipeline summary.

use super::*;

/// A stage of the sales pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// A first contact.
    Lead,
    /// Budget, need and timing confirmed.
    Qualified,
    /// A proposal was sent.
    Proposal,
    /// Terms are being negotiated.
    Negotiation,
    /// Closed and won.
    Won,
    /// Closed and lost.
    Lost,
}

impl Stage {
    /// Every stage, in pipeline order.
    pub const ALL: [Self; 6] = [
        Self::Lead,
        Self::Qualified,
        Self::Proposal,
        Self::Negotiation,
        Self::Won,
        Self::Lost,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lead => "lead",
            Self::Qualified => "qualified",
            Self::Proposal => "proposal",
            Self::Negotiation => "negotiation",
            Self::Won => "won",
            Self::Lost => "lost",
        }
    }

    /// Whether the deal is still being worked.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Won | Self::Lost)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = CrmError;

    fn from_str(s: &str) -> Result<Self, CrmError> {
        Self::ALL
            .into_iter()
            .find(|stage| stage.as_str() == s)
            .ok_or_else(|| {
                CrmError::Invalid(format!(
                    "unknown stage `{s}`: use lead, qualified, proposal, negotiation, won or lost"
                ))
            })
    }
}

/// A deal in the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Deal {
    /// Id.
    pub id: i64,
    /// What is being sold.
    pub title: String,
    /// The buyer's id.
    pub company_id: i64,
    /// The buyer's name.
    pub company: String,
    /// The main contact's id.
    pub contact_id: Option<i64>,
    /// Pipeline stage.
    pub stage: Stage,
    /// Value, in `currency`.
    pub amount: f64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// Expected close date (`YYYY-MM-DD`).
    pub expected_close: Option<String>,
    /// Who owns the deal.
    pub owner: String,
    /// When it was created.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

impl Deal {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, CrmError> {
        let stage: String = row.try_get("stage")?;
        let cents: i64 = row.try_get("amount_cents")?;
        Ok(Self {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            company_id: row.try_get("company_id")?,
            company: row.try_get("company")?,
            contact_id: row.try_get("contact_id")?,
            stage: stage.parse()?,
            amount: cents as f64 / 100.0,
            currency: row.try_get("currency")?,
            expected_close: row.try_get("expected_close")?,
            owner: row.try_get("owner")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// One stage of the pipeline summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PipelineStage {
    /// The stage.
    pub stage: Stage,
    /// How many deals.
    pub deals: i64,
    /// Their total value.
    pub amount: f64,
}

/// Counts and amounts by stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PipelineSummary {
    /// Every stage, in pipeline order.
    pub stages: Vec<PipelineStage>,
    /// Deals not yet won or lost.
    pub open_deals: i64,
    /// Their total value.
    pub open_amount: f64,
}

/// A new deal.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NewDeal {
    /// What is being sold.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub title: String,
    /// The buyer.
    pub company_id: i64,
    /// The main contact.
    pub contact_id: Option<i64>,
    /// Starting stage (default lead).
    pub stage: Option<Stage>,
    /// Value.
    #[schema(minimum = 0.0, maximum = 1e12)]
    pub amount: f64,
    /// Currency (default USD).
    #[schema(pattern = r"^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// Expected close date (`YYYY-MM-DD`).
    #[schema(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
    pub expected_close: Option<String>,
    /// Owner.
    #[schema(max_length = 100)]
    pub owner: Option<String>,
}

impl NewDeal {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        limits::check("title", &self.title, limits::NAME)?;
        limits::check_opt("currency", self.currency.as_deref(), 3)?;
        limits::check_opt(
            "expected_close",
            self.expected_close.as_deref(),
            limits::DATE,
        )?;
        limits::check_opt("owner", self.owner.as_deref(), limits::OWNER)?;
        non_empty("title", &self.title)?;
        valid_amount(self.amount)?;
        if let Some(currency) = &self.currency {
            valid_currency(currency)?;
        }
        if let Some(date) = &self.expected_close {
            valid_date(date)?;
        }
        Ok(())
    }

    pub(crate) fn amount_cents(&self) -> i64 {
        cents(self.amount)
    }
}
