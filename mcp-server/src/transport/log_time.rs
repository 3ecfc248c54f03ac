//! The stderr logger's clock: the time as `tracing-subscriber`'s
//! `SystemTime` writes it (RFC 3339, UTC, microseconds), built from digits
//! in one buffer rather than through a dozen `write!` calls. Every log line
//! starts with it, the audit log's one per request among them.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::FormatTime;

/// `2026-12-07T07:06:34.123456Z`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Rfc3339;

/// 10000-01-01T00:00:00Z: from there the year has five digits, which
/// `tracing-subscriber` writes with a sign.
const YEAR_10000: u64 = 253_402_300_800;

impl FormatTime for Rfc3339 {
    fn format_time(&self, w: &mut Writer<'_>) -> fmt::Result {
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH);
        match since_epoch {
            Ok(since) if since.as_secs() < YEAR_10000 => {
                let line = format(since.as_secs(), since.subsec_micros());
                // Only ASCII digits and separators were written.
                w.write_str(std::str::from_utf8(&line).map_err(|_| fmt::Error)?)
            }
            // A clock before 1970 or past 9999: the general formatter.
            _ => tracing_subscriber::fmt::time::SystemTime.format_time(w),
        }
    }
}

/// `seconds` since the epoch (before the year 10000) and `micros`, as
/// `YYYY-MM-DDThh:mm:ss.uuuuuuZ`.
fn format(seconds: u64, micros: u32) -> [u8; 27] {
    let (year, month, day) = civil_date(seconds / 86_400);
    let of_day = seconds % 86_400;
    let mut line = *b"0000-00-00T00:00:00.000000Z";
    digits(&mut line[0..4], u64::from(year));
    digits(&mut line[5..7], u64::from(month));
    digits(&mut line[8..10], u64::from(day));
    digits(&mut line[11..13], of_day / 3600);
    digits(&mut line[14..16], of_day % 3600 / 60);
    digits(&mut line[17..19], of_day % 60);
    digits(&mut line[20..26], u64::from(micros));
    line
}

/// Writes `value`'s last `into.len()` decimal digits, zero-padded.
fn digits(into: &mut [u8], mut value: u64) {
    for place in into.iter_mut().rev() {
        // A remainder of 10 is below 10: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation, reason = "a digit")]
        let digit = (value % 10) as u8;
        *place = b'0' + digit;
        value /= 10;
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_date(days: u64) -> (u32, u32, u32) {
    // Counted from 0000-03-01, so that a leap day ends its year.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    // Years below 10000, months and days: all fit.
    #[allow(clippy::cast_possible_truncation, reason = "bounded above")]
    (year as u32, month as u32, day as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formatted(seconds: u64, micros: u32) -> String {
        String::from_utf8(format(seconds, micros).to_vec()).unwrap()
    }

    #[test]
    fn dates_and_times_match_the_calendar() {
        // Expected values from Python's datetime.utcfromtimestamp.
        for (seconds, micros, expected) in [
            (0, 0, "1970-01-01T00:00:00.000000Z"),
            (951_782_399, 999_999, "2000-02-28T23:59:59.999999Z"),
            (951_782_400, 1, "2000-02-29T00:00:00.000001Z"),
            (951_868_800, 0, "2000-03-01T00:00:00.000000Z"),
            (4_107_542_400, 0, "2100-03-01T00:00:00.000000Z"),
            (1_796_622_394, 123_456, "2026-12-07T05:46:34.123456Z"),
            (1_798_761_599, 42, "2026-12-31T23:59:59.000042Z"),
            (YEAR_10000 - 1, 999_999, "9999-12-31T23:59:59.999999Z"),
        ] {
            assert_eq!(formatted(seconds, micros), expected, "{seconds}");
        }
    }

    #[test]
    fn every_day_of_four_centuries_follows_the_one_before() {
        let mut previous = civil_date(0);
        for days in 1..146_097 * 2 {
            let (year, month, day) = civil_date(days);
            let next_day = (previous.0, previous.1, previous.2 + 1);
            let next_month = (previous.0, previous.1 + 1, 1);
            let next_year = (previous.0 + 1, 1, 1);
            let leap =
                |y: u32| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
            let month_days = match previous.1 {
                2 if leap(previous.0) => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            let expected = if previous.2 < month_days {
                next_day
            } else if previous.1 < 12 {
                next_month
            } else {
                next_year
            };
            assert_eq!((year, month, day), expected, "day {days}");
            previous = (year, month, day);
        }
    }

    #[test]
    fn it_writes_what_tracing_subscribers_clock_writes() {
        let write = |clock: &dyn Fn(&mut Writer<'_>) -> fmt::Result| {
            let mut line = String::new();
            clock(&mut Writer::new(&mut line)).unwrap();
            line
        };
        // Both read the clock: retried should a second end between them.
        let same_second = (0..3).any(|_| {
            let ours = write(&|w| Rfc3339.format_time(w));
            let theirs = write(&|w| tracing_subscriber::fmt::time::SystemTime.format_time(w));
            assert_eq!(ours.len(), theirs.len(), "{ours} / {theirs}");
            ours[..19] == theirs[..19]
        });
        assert!(same_second);
    }
}
