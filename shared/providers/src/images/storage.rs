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

/// The id of a stored image: `img_` and 128 random bits in hex, so a key can be neither guessed nor
/// enumerated (knowing one image's key says nothing about another's).
pub fn image_id(random: &[u8; 16]) -> String {
    format!("img_{}", hex::encode(random))
}

/// The parts of a stored image's key, when `key` has exactly the shape [`object_key`] and [`image_id`]
/// give: `{instance}/{project or _}/{yyyy}/{mm}/{dd}/img_{32 hex}.{ext}`, ids of safe characters only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectKey<'a> {
    pub instance_id: &'a str,
    pub project_id: Option<&'a str>,
    pub ext: &'a str,
}

pub fn parse_object_key(key: &str) -> Option<ObjectKey<'_>> {
    let mut parts = key.split('/');
    let (instance_id, project, year, month, day, file) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if parts.next().is_some() || !is_id(instance_id) || !(project == "_" || is_id(project)) {
        return None;
    }
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(year, 4) || !digits(month, 2) || !digits(day, 2) {
        return None;
    }
    let (id, ext) = file.split_once('.')?;
    let random = id.strip_prefix("img_")?;
    let hex = random.len() == 32
        && random
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !hex || ext.is_empty() || !ext.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    Some(ObjectKey {
        instance_id,
        project_id: (project != "_").then_some(project),
        ext,
    })
}

/// A platform id: a lowercase prefix, `_`, then letters and digits.
fn is_id(s: &str) -> bool {
    let Some((prefix, body)) = s.split_once('_') else {
        return false;
    };
    !prefix.is_empty()
        && prefix.bytes().all(|b| b.is_ascii_lowercase())
        && !body.is_empty()
        && body.len() <= 64
        && body.bytes().all(|b| b.is_ascii_alphanumeric())
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
