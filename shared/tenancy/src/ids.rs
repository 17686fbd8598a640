//! Time-ordered ids: `<prefix>_<26 chars>` in Crockford base32 with the ULID layout
//! (10 chars of a 48-bit millisecond timestamp, then 16 chars of 80 random bits), so sorting
//! ids as text sorts them by creation, which keyset pagination relies on.

use envelope::ApiError;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const TIME_CHARS: usize = 10;
const RANDOM_CHARS: usize = 16;
/// Length of the part after the prefix.
pub const BODY_LEN: usize = TIME_CHARS + RANDOM_CHARS;
const TIME_MASK: u64 = (1 << 48) - 1;

/// What an id names; decides its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IdKind {
    Org,
    Instance,
    Project,
    User,
    Key,
    Audit,
}

impl IdKind {
    /// The prefix including its underscore, e.g. `"org_"`.
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::Org => "org_",
            IdKind::Instance => "ins_",
            IdKind::Project => "prj_",
            IdKind::User => "usr_",
            IdKind::Key => "key_",
            IdKind::Audit => "aud_",
        }
    }

    /// The word used in messages ("not a valid instance id").
    pub fn noun(self) -> &'static str {
        match self {
            IdKind::Org => "org",
            IdKind::Instance => "instance",
            IdKind::Project => "project",
            IdKind::User => "user",
            IdKind::Key => "key",
            IdKind::Audit => "audit entry",
        }
    }
}

/// A new id of `kind` created at `now_ms` from 10 random bytes.
/// Timestamps beyond 48 bits (after year 10889) wrap.
pub fn new_id(kind: IdKind, now_ms: u64, random: &[u8; 10]) -> String {
    let mut id = String::with_capacity(kind.prefix().len() + BODY_LEN);
    id.push_str(kind.prefix());
    push_base32(&mut id, u128::from(now_ms & TIME_MASK), TIME_CHARS);
    let bits = random
        .iter()
        .fold(0u128, |acc, byte| (acc << 8) | u128::from(*byte));
    push_base32(&mut id, bits, RANDOM_CHARS);
    id
}

/// Appends the low `5 * chars` bits of `value`, most significant first.
fn push_base32(out: &mut String, value: u128, chars: usize) {
    for i in (0..chars).rev() {
        let index = ((value >> (5 * i)) & 31) as usize;
        out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'0')));
    }
}

/// Whether `s` is a well-formed id of `kind` (canonical upper-case form only).
pub fn is_valid(kind: IdKind, s: &str) -> bool {
    let Some(body) = s.strip_prefix(kind.prefix()) else {
        return false;
    };
    let bytes = body.as_bytes();
    // The first char carries only 3 bits of the 48-bit timestamp.
    bytes.len() == BODY_LEN
        && bytes
            .first()
            .is_some_and(|first| (b'0'..=b'7').contains(first))
        && bytes.iter().all(|b| ALPHABET.contains(b))
}

/// `s` itself when it is an id of `kind`, else `400 invalid_id` naming `field`.
pub fn parse<'a>(kind: IdKind, s: &'a str, field: &str) -> Result<&'a str, ApiError> {
    if is_valid(kind, s) {
        Ok(s)
    } else {
        Err(ApiError::bad_request(
            "invalid_id",
            format!("{field}: not a valid {} id", kind.noun()),
        ))
    }
}

/// The timestamp encoded in a valid id, for diagnostics and tests.
pub fn timestamp_ms(kind: IdKind, s: &str) -> Option<u64> {
    if !is_valid(kind, s) {
        return None;
    }
    let body = s.get(kind.prefix().len()..)?;
    body.bytes().take(TIME_CHARS).try_fold(0u64, |acc, b| {
        let digit = ALPHABET.iter().position(|a| *a == b)?;
        Some((acc << 5) | digit as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KINDS: [IdKind; 6] = [
        IdKind::Org,
        IdKind::Instance,
        IdKind::Project,
        IdKind::User,
        IdKind::Key,
        IdKind::Audit,
    ];

    #[test]
    fn layout_matches_ulid() {
        // Reference value from the ULID spec's encoding of time 1469918176385.
        let id = new_id(IdKind::Org, 1_469_918_176_385, &[0; 10]);
        assert_eq!(id, "org_01ARYZ6S410000000000000000");
        let id = new_id(IdKind::Key, 0, &[0xff; 10]);
        assert_eq!(id, "key_0000000000ZZZZZZZZZZZZZZZZ");
    }

    #[test]
    fn every_kind_round_trips() {
        for kind in KINDS {
            let id = new_id(kind, 1_700_000_000_000, &[7, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
            assert!(id.starts_with(kind.prefix()));
            assert_eq!(id.len(), 4 + BODY_LEN);
            assert!(is_valid(kind, &id), "{id}");
            assert_eq!(parse(kind, &id, "id").unwrap(), id);
            assert_eq!(timestamp_ms(kind, &id), Some(1_700_000_000_000));
            for other in KINDS.iter().filter(|k| **k != kind) {
                assert!(!is_valid(*other, &id));
            }
        }
    }

    #[test]
    fn ids_sort_by_creation_time() {
        let random = [0xab; 10];
        let mut ids: Vec<String> = [5u64, 1_000, 999, 1_700_000_000_000, 64, 32]
            .iter()
            .map(|t| new_id(IdKind::Project, *t, &random))
            .collect();
        ids.sort();
        let times: Vec<u64> = ids
            .iter()
            .map(|id| timestamp_ms(IdKind::Project, id).unwrap())
            .collect();
        assert_eq!(times, vec![5, 32, 64, 999, 1_000, 1_700_000_000_000]);
        let later_smaller_random = new_id(IdKind::Project, 6, &[0; 10]);
        assert!(later_smaller_random > new_id(IdKind::Project, 5, &[0xff; 10]));
    }

    #[test]
    fn rejects_malformed_ids() {
        let good = new_id(IdKind::User, 42, &[1; 10]);
        let body = &good[4..];
        let bad = [
            String::new(),
            "usr_".to_string(),
            body.to_string(),
            format!("usr_{}", &body[1..]),
            format!("usr_{body}0"),
            format!("usr_{}", body.to_lowercase()),
            format!("usr_8{}", &body[1..]),
            format!("usr_{}U", &body[..25]),
            format!("usr_{}é", &body[..25]),
            format!("USR_{body}"),
            format!("org_{body}"),
        ];
        for s in bad {
            assert!(!is_valid(IdKind::User, &s), "{s:?}");
        }
    }

    #[test]
    fn parse_names_the_field() {
        let err = parse(IdKind::Instance, "ins_nope", "instance_id").unwrap_err();
        assert_eq!(err.status(), 400);
        assert_eq!(err.code, "invalid_id");
        assert_eq!(err.message, "instance_id: not a valid instance id");
    }
}
