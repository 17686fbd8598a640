//! Reading the caller's token from request headers, and checking the bootstrap admin token.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Constant-time check of `given` against the bootstrap admin token.
///
/// Both sides are hashed first so the comparison is over 32 fixed bytes: neither the content nor
/// the length of `expected` shows in the timing. An empty `expected` (unset secret) never matches.
pub fn token_matches(given: &str, expected: &str) -> bool {
    if expected.is_empty() {
        return false;
    }
    let given = Sha256::digest(given.as_bytes());
    let expected = Sha256::digest(expected.as_bytes());
    given.as_slice().ct_eq(expected.as_slice()).into()
}

/// The token from `Authorization: Bearer <t>` (scheme case-insensitive), else from `x-api-key`.
/// Surrounding whitespace is ignored; an empty token counts as absent.
pub fn bearer_token<'a>(
    authorization: Option<&'a str>,
    x_api_key: Option<&'a str>,
) -> Option<&'a str> {
    authorization
        .and_then(from_authorization)
        .or_else(|| x_api_key.map(str::trim).filter(|t| !t.is_empty()))
}

fn from_authorization(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(char::is_whitespace)?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_matches_only_the_exact_token() {
        assert!(token_matches("s3cret-admin", "s3cret-admin"));
        assert!(!token_matches("s3cret-admiN", "s3cret-admin"));
        assert!(!token_matches("s3cret", "s3cret-admin"));
        assert!(!token_matches("s3cret-admin-and-more", "s3cret-admin"));
        assert!(!token_matches("", "s3cret-admin"));
    }

    #[test]
    fn empty_expected_never_matches() {
        assert!(!token_matches("", ""));
        assert!(!token_matches("anything", ""));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_trimmed() {
        assert_eq!(bearer_token(Some("Bearer abc"), None), Some("abc"));
        assert_eq!(bearer_token(Some("bearer abc"), None), Some("abc"));
        assert_eq!(bearer_token(Some("BEARER   abc  "), None), Some("abc"));
        assert_eq!(bearer_token(Some("  Bearer\tabc"), None), Some("abc"));
    }

    #[test]
    fn authorization_wins_over_x_api_key() {
        assert_eq!(bearer_token(Some("Bearer a"), Some("b")), Some("a"));
    }

    #[test]
    fn falls_back_to_x_api_key() {
        assert_eq!(bearer_token(None, Some(" key ")), Some("key"));
        assert_eq!(
            bearer_token(Some("Basic dXNlcjpwdw=="), Some("key")),
            Some("key")
        );
        assert_eq!(bearer_token(Some("Bearer "), Some("key")), Some("key"));
        assert_eq!(bearer_token(Some("Bearer"), Some("key")), Some("key"));
    }

    #[test]
    fn empty_or_missing_is_none() {
        assert_eq!(bearer_token(None, None), None);
        assert_eq!(bearer_token(Some(""), Some("")), None);
        assert_eq!(bearer_token(Some("Bearer   "), Some("  ")), None);
        assert_eq!(bearer_token(Some("Basic abc"), None), None);
        assert_eq!(bearer_token(Some("Bearerabc"), None), None);
    }
}
