//! Contacts: as stored, with what surrounds them, new and changed.

use super::*;

/// A person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct Contact {
    /// Id.
    pub id: i64,
    /// First name.
    pub first_name: String,
    /// Last name.
    pub last_name: String,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Their company's id.
    pub company_id: Option<i64>,
    /// Their company's name.
    pub company: Option<String>,
    /// Tags, lower-case.
    pub tags: Vec<String>,
    /// When they were added.
    pub created_at: String,
    /// When they last changed.
    pub updated_at: String,
}

impl Contact {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self, CrmError> {
        let tags: String = row.try_get("tags")?;
        Ok(Self {
            id: row.try_get("id")?,
            first_name: row.try_get("first_name")?,
            last_name: row.try_get("last_name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            title: row.try_get("title")?,
            company_id: row.try_get("company_id")?,
            company: row.try_get("company")?,
            tags: tags
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// "First Last".
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }
}

/// A contact with what surrounds them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, ToSchema)]
pub struct ContactDetails {
    /// The contact.
    pub contact: Contact,
    /// Their company.
    pub company: Option<Company>,
    /// Their open deals.
    pub open_deals: Vec<Deal>,
    /// Their ten most recent activities.
    pub recent_activities: Vec<Activity>,
}

/// A new contact.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct NewContact {
    /// First name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub first_name: String,
    /// Last name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub last_name: String,
    /// E-mail address.
    #[schema(max_length = 320, pattern = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")]
    pub email: Option<String>,
    /// Phone number.
    #[schema(max_length = 50, pattern = r"^[0-9+() .-]+$")]
    pub phone: Option<String>,
    /// Job title.
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// Company name; created if new.
    #[schema(max_length = 200)]
    pub company: Option<String>,
    /// Tags.
    #[serde(default)]
    #[schema(max_items = 20)]
    pub tags: Vec<String>,
}

impl NewContact {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        limits::check("first_name", &self.first_name, limits::NAME)?;
        limits::check("last_name", &self.last_name, limits::NAME)?;
        limits::check_opt("email", self.email.as_deref(), limits::EMAIL)?;
        limits::check_opt("phone", self.phone.as_deref(), limits::PHONE)?;
        limits::check_opt("title", self.title.as_deref(), limits::NAME)?;
        limits::check_opt("company", self.company.as_deref(), limits::NAME)?;
        limits::check_tags(&self.tags)?;
        non_empty("first_name", &self.first_name)?;
        non_empty("last_name", &self.last_name)?;
        if let Some(email) = &self.email {
            valid_email(email)?;
        }
        if let Some(phone) = &self.phone {
            valid_phone(phone)?;
        }
        Ok(())
    }
}

/// Fields to change on a contact; `None` keeps a field.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ContactChange {
    /// First name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub first_name: Option<String>,
    /// Last name.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub last_name: Option<String>,
    /// E-mail address.
    #[schema(max_length = 320, pattern = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")]
    pub email: Option<String>,
    /// Phone number.
    #[schema(max_length = 50, pattern = r"^[0-9+() .-]+$")]
    pub phone: Option<String>,
    /// Job title.
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// Company name; created if new.
    #[schema(max_length = 200)]
    pub company: Option<String>,
    /// Tags, replacing the old ones.
    #[schema(max_items = 20)]
    pub tags: Option<Vec<String>>,
}

impl ContactChange {
    pub(crate) fn validate(&self) -> Result<(), CrmError> {
        let nothing = self.first_name.is_none()
            && self.last_name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.title.is_none()
            && self.company.is_none()
            && self.tags.is_none();
        if nothing {
            return Err(CrmError::Invalid(
                "nothing to update: give at least one field".into(),
            ));
        }
        limits::check_opt("first_name", self.first_name.as_deref(), limits::NAME)?;
        limits::check_opt("last_name", self.last_name.as_deref(), limits::NAME)?;
        limits::check_opt("email", self.email.as_deref(), limits::EMAIL)?;
        limits::check_opt("phone", self.phone.as_deref(), limits::PHONE)?;
        limits::check_opt("title", self.title.as_deref(), limits::NAME)?;
        limits::check_opt("company", self.company.as_deref(), limits::NAME)?;
        if let Some(tags) = &self.tags {
            limits::check_tags(tags)?;
        }
        if let Some(name) = &self.first_name {
            non_empty("first_name", name)?;
        }
        if let Some(name) = &self.last_name {
            non_empty("last_name", name)?;
        }
        if let Some(email) = &self.email {
            valid_email(email)?;
        }
        if let Some(phone) = &self.phone {
            valid_phone(phone)?;
        }
        Ok(())
    }
}
