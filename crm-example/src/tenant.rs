//! Tenants: whether the CRM keeps several organisations' data apart, and
//! which rows a request may see.
//!
//! Every row carries a tenant. With [`Tenancy::Off`] (the default) the
//! server is one book of business: every request reads and writes the
//! [`DEFAULT_TENANT`]'s rows, whoever sends it. With
//! [`Tenancy::Required`] every request must name a tenant (an API key
//! issued as `name@tenant`, or the trusted tenant header a gateway sets)
//! and reads and writes only that tenant's rows; another tenant's ids
//! answer exactly like ids that do not exist.

use std::fmt;
use std::str::FromStr;

use crate::db::Db;

/// The tenant of every row while tenancy is off, of the rows written
/// before tenancy was turned on, and of the sample data. With tenancy
/// required, a key issued as `name@default` reaches them.
pub const DEFAULT_TENANT: &str = "default";

/// Whether the CRM keeps tenants' data apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tenancy {
    /// One book of business: every request reads and writes the
    /// [`DEFAULT_TENANT`]'s rows, whatever tenant it names.
    #[default]
    Off,
    /// Every request must name a tenant, and reads and writes only that
    /// tenant's rows; a request without one is refused.
    Required,
}

impl Tenancy {
    /// The database as a request for `tenant` sees it: the server's own
    /// handle when tenancy is off, the tenant's rows when it is required,
    /// and `None` when it is required and the request names no tenant.
    pub fn scope(self, db: &Db, tenant: Option<&str>) -> Option<Db> {
        match self {
            Self::Off => Some(db.clone()),
            Self::Required => tenant
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(|t| db.for_tenant(t)),
        }
    }
}

impl fmt::Display for Tenancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Off => "off",
            Self::Required => "required",
        })
    }
}

/// A `CRM_TENANCY` value that is neither `off` nor `required`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid CRM_TENANCY `{0}`: use `off` (the default) or `required`")]
pub struct InvalidTenancy(pub String);

impl FromStr for Tenancy {
    type Err = InvalidTenancy;

    /// `off` (or empty) and `required`, in any case.
    fn from_str(s: &str) -> Result<Self, InvalidTenancy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "off" => Ok(Self::Off),
            "required" => Ok(Self::Required),
            _ => Err(InvalidTenancy(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        assert_eq!("".parse(), Ok(Tenancy::Off));
        assert_eq!(" Off ".parse(), Ok(Tenancy::Off));
        assert_eq!("REQUIRED".parse(), Ok(Tenancy::Required));
        assert_eq!("yes".parse::<Tenancy>(), Err(InvalidTenancy("yes".into())));
        assert_eq!(Tenancy::Required.to_string(), "required");
    }
}
