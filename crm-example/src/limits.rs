//! How long the CRM's text may be, in characters (Unicode scalar values,
//! as JSON Schema's `maxLength` counts them).
//!
//! The tools advertise these limits in their input schemas and refuse
//! longer arguments before they run; [`Db`](crate::Db) checks them again,
//! so callers in Rust meet the same limits.

use crate::db::CrmError;

/// First and last names, company names, job titles, deal titles and
/// activity subjects.
pub const NAME: usize = 200;
/// E-mail addresses (RFC 5321: 64 for the local part, 255 for the domain).
pub const EMAIL: usize = 320;
/// Phone numbers, as typed (digits, spaces and `+-().`).
pub const PHONE: usize = 50;
/// One tag.
pub const TAG: usize = 50;
/// How many tags a contact may have.
pub const TAGS: usize = 20;
/// Owners of deals and activities.
pub const OWNER: usize = 100;
/// Activity bodies: notes, call and meeting minutes, e-mail text.
pub const BODY: usize = 10_000;
/// Search text.
pub const QUERY: usize = 200;
/// Idempotency keys.
pub const KEY: usize = 200;
/// Dates (`YYYY-MM-DD`).
pub const DATE: usize = 10;
/// Due times (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ`).
pub const DUE: usize = 20;

/// Refuses `value` when it is longer than `max` characters, naming the
/// field and the limit but not quoting the value.
pub(crate) fn check(field: &str, value: &str, max: usize) -> Result<(), CrmError> {
    // Counting stops just past the limit: a megabyte is not walked twice.
    let length = value.chars().take(max + 1).count();
    if length > max {
        return Err(CrmError::Invalid(format!(
            "`{field}` is too long: at most {max} characters"
        )));
    }
    Ok(())
}

/// [`check`] for an optional field.
pub(crate) fn check_opt(field: &str, value: Option<&str>, max: usize) -> Result<(), CrmError> {
    value.map_or(Ok(()), |value| check(field, value, max))
}

/// Tags: at most [`TAGS`] of them, each at most [`TAG`] characters and
/// without commas (they are stored comma-separated).
pub(crate) fn check_tags(tags: &[String]) -> Result<(), CrmError> {
    if tags.len() > TAGS {
        return Err(CrmError::Invalid(format!(
            "too many tags: at most {TAGS}, got {}",
            tags.len()
        )));
    }
    for tag in tags {
        if tag.chars().take(TAG + 1).count() > TAG {
            return Err(CrmError::Invalid(format!(
                "a tag is too long: at most {TAG} characters each"
            )));
        }
        if tag.contains(',') {
            return Err(CrmError::Invalid(format!(
                "invalid tag `{tag}`: a tag cannot contain a comma; give each tag separately"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert!(check("first_name", &"é".repeat(NAME), NAME).is_ok());
        let long = check("first_name", &"x".repeat(1 << 20), NAME).unwrap_err();
        assert_eq!(
            long.to_string(),
            "`first_name` is too long: at most 200 characters"
        );
        assert!(check_opt("email", None, EMAIL).is_ok());
        assert!(check_tags(&["vip".into(), "x".repeat(TAG)]).is_ok());
        assert!(check_tags(&["x".repeat(TAG + 1)]).is_err());
        assert!(check_tags(&vec!["t".into(); TAGS + 1]).is_err());
        assert!(check_tags(&["a,b".into()]).is_err());
    }
}
