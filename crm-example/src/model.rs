//! The CRM's records, as tools return them and as they are checked.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use utoipa::ToSchema;

use crate::db::CrmError;
use crate::limits;

mod activities;
mod changes;
mod companies;
mod contacts;
mod deals;

pub use activities::{Activity, ActivityKind, NewActivity, UpcomingTask};
pub use changes::{ActivityChange, CompanyChange, DealChange, NewCompany};
pub use companies::Company;
pub use contacts::{Contact, ContactChange, ContactDetails, NewContact};
pub use deals::{Deal, NewDeal, PipelineStage, PipelineSummary, Stage};

/// An amount in cents; validated amounts are finite and at most 1e12, so
/// they fit.
fn cents(amount: f64) -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let cents = (amount * 100.0).round() as i64;
    cents
}

fn valid_amount(amount: f64) -> Result<(), CrmError> {
    if !amount.is_finite() || !(0.0..=1e12).contains(&amount) {
        return Err(CrmError::Invalid(format!(
            "invalid amount {amount}: give a value from 0 to 1000000000000"
        )));
    }
    Ok(())
}

fn valid_currency(currency: &str) -> Result<(), CrmError> {
    if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(CrmError::Invalid(format!(
            "invalid currency `{currency}`: use a three-letter code such as EUR"
        )));
    }
    Ok(())
}

fn non_empty(field: &str, value: &str) -> Result<(), CrmError> {
    if value.trim().is_empty() {
        return Err(CrmError::Invalid(format!("`{field}` must not be empty")));
    }
    Ok(())
}

fn valid_email(email: &str) -> Result<(), CrmError> {
    let email = email.trim();
    let ok = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && !domain.contains("..")
    }) && !email.chars().any(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(CrmError::Invalid(format!(
            "invalid e-mail address `{email}`"
        )))
    }
}

fn valid_phone(phone: &str) -> Result<(), CrmError> {
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    let allowed = phone
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.'));
    if allowed && (5..=20).contains(&digits) {
        Ok(())
    } else {
        Err(CrmError::Invalid(format!("invalid phone number `{phone}`")))
    }
}

/// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SSZ`.
fn valid_due(due: &str) -> Result<(), CrmError> {
    let Some((date, time)) = due.split_at_checked(10) else {
        return valid_date(due);
    };
    valid_date(date)?;
    if time.is_empty() {
        return Ok(());
    }
    let clock = time
        .strip_prefix('T')
        .and_then(|t| t.strip_suffix('Z'))
        .map(|t| t.split(':').map(str::parse::<u32>).collect::<Vec<_>>());
    match clock.as_deref() {
        Some([Ok(h), Ok(m), Ok(s)]) if time.len() == 10 && *h < 24 && *m < 60 && *s < 60 => Ok(()),
        _ => Err(CrmError::Invalid(format!(
            "invalid due time `{due}`: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ"
        ))),
    }
}

/// `YYYY-MM-DD` with a real month and day.
fn valid_date(date: &str) -> Result<(), CrmError> {
    let invalid = || CrmError::Invalid(format!("invalid date `{date}`: use YYYY-MM-DD"));
    let parts: Vec<&str> = date.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return Err(invalid());
    };
    let (Ok(year), Ok(month), Ok(day)) = (
        year.parse::<u32>(),
        month.parse::<u32>(),
        day.parse::<u32>(),
    ) else {
        return Err(invalid());
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(invalid()),
    };
    if !(1900..=2200).contains(&year) || day == 0 || day > days {
        return Err(invalid());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks() {
        assert!(valid_date("2026-02-29").is_err());
        assert!(valid_date("2028-02-29").is_ok());
        assert!(valid_date("2026-13-01").is_err());
        assert!(valid_date("soon").is_err());
        assert!(valid_due("2027-01-15").is_ok());
        assert!(valid_due("2027-01-15T09:30:00Z").is_ok());
        assert!(valid_due("2027-01-15T25:00:00Z").is_err());
        assert!(valid_due("2027-01-15garbage").is_err());
        assert!(valid_email("a@b.co").is_ok());
        assert!(valid_email("nope").is_err());
        assert!("won".parse::<Stage>().is_ok());
        assert!("closed".parse::<Stage>().is_err());
    }
}
