//! Budget periods, all in UTC: calendar days, ISO weeks (Monday 00:00 to Monday 00:00), calendar
//! months, or all time. Instants are Unix milliseconds (`u64`, so nothing before 1970); every
//! computation saturates, so no instant makes it panic.

use serde::{Deserialize, Serialize};

/// Milliseconds in a UTC day (no leap seconds: Unix time has none).
pub const DAY_MS: u64 = 86_400_000;

/// How often a budget's spend starts again from zero.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Daily,
    Weekly,
    Monthly,
    /// Never resets.
    Total,
}

impl Period {
    pub const ALL: [Period; 4] = [
        Period::Daily,
        Period::Weekly,
        Period::Monthly,
        Period::Total,
    ];

    /// The wire name (`daily`, `weekly`, `monthly`, `total`).
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Daily => "daily",
            Period::Weekly => "weekly",
            Period::Monthly => "monthly",
            Period::Total => "total",
        }
    }

    /// The period of a wire name.
    pub fn parse(name: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.as_str() == name)
    }

    /// The start of the period holding `at_ms`: midnight, the Monday, the 1st; 0 for `Total`. A
    /// week that began before 1970 (1970-01-01 was a Thursday) starts at 0.
    pub fn start_ms(self, at_ms: u64) -> u64 {
        let day = at_ms / DAY_MS;
        let start_day = match self {
            Period::Daily => day,
            Period::Weekly => week_end_day(day).saturating_sub(7),
            Period::Monthly => month_start_day(day),
            Period::Total => 0,
        };
        start_day.saturating_mul(DAY_MS)
    }

    /// The end (exclusive) of the period holding `at_ms`, i.e. the next one's start: when its
    /// spend resets. `None` for `Total`.
    pub fn end_ms(self, at_ms: u64) -> Option<u64> {
        let day = at_ms / DAY_MS;
        let end_day = match self {
            Period::Daily => day.saturating_add(1),
            Period::Weekly => week_end_day(day),
            Period::Monthly => month_end_day(day),
            Period::Total => return None,
        };
        Some(end_day.saturating_mul(DAY_MS))
    }
}

/// `at_ms` as an RFC 3339 UTC instant to the second (`2026-12-03T17:42:33Z`), for messages.
pub fn rfc3339(at_ms: u64) -> String {
    let secs = at_ms / 1_000;
    let (year, month, day) = civil_from_days(to_i64(secs / 86_400));
    let rest = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}

/// The Monday after the week of `day` (days since 1970-01-01, a Thursday: Monday is `(day + 3) % 7 == 0`).
fn week_end_day(day: u64) -> u64 {
    day.saturating_add(7).saturating_sub((day % 7 + 3) % 7)
}

fn month_start_day(day: u64) -> u64 {
    let (year, month, _) = civil_from_days(to_i64(day));
    from_i64(days_from_civil(year, month, 1))
}

fn month_end_day(day: u64) -> u64 {
    let (year, month, _) = civil_from_days(to_i64(day));
    let (year, month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    from_i64(days_from_civil(year, month, 1))
}

/// Days fit: `u64::MAX` ms is about 2.1e11 days.
fn to_i64(day: u64) -> i64 {
    i64::try_from(day).unwrap_or(i64::MAX / 2)
}

fn from_i64(day: i64) -> u64 {
    u64::try_from(day).unwrap_or(0)
}

/// (year, month 1..=12, day 1..=31) of a day count since 1970-01-01, proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`). Exact for every day a `u64` of ms can name.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let shifted = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * shifted + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
