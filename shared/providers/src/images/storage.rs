//! Where a stored image lives, and the hash its prompt is recorded under (never the prompt itself).

use sha2::{Digest, Sha256};

const MS_PER_DAY: i64 = 86_400_000;

/// `{instance}/{project or _}/{yyyy}/{mm}/{dd}/{id}.{ext}`, dated by the UTC day of `unix_ms`. The
/// parts are ids the platform issued; none is checked here.
pub fn object_key(
    instance_id: &str,
    project_id: Option<&str>,
    unix_ms: i64,
    id: &str,
    ext: &str,
) -> String {
    let (year, month, day) = civil_date(unix_ms.div_euclid(MS_PER_DAY));
    let project = project_id.unwrap_or("_");
    format!("{instance_id}/{project}/{year:04}/{month:02}/{day:02}/{id}.{ext}")
}

/// The SHA-256 of `prompt`, lowercase hex.
pub fn prompt_hash(prompt: &str) -> String {
    hex::encode(Sha256::digest(prompt.as_bytes()))
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
/// In range for every `i64` millisecond count: `days` stays within ±1.1e11.
fn civil_date(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // day is 1..=31 and month 1..=12 by construction.
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}
