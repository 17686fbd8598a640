//! The API key format: generation from caller-supplied randomness, parsing and display.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::KeyError;

/// Base62 chars after the prefix: 43 × log2(62) ≈ 256.1 bits.
pub const SECRET_CHARS: usize = 43;
/// Stored and shown in listings, e.g. `de_live_AbCd`: the 8-char prefix + 4 secret chars.
pub const DISPLAY_PREFIX_LEN: usize = 12;

const LIVE_PREFIX: &str = "de_live_";
const TEST_PREFIX: &str = "de_test_";
const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// The largest multiple of 62 that fits in a byte (4 × 62): bytes below it map onto the
/// alphabet evenly, the 8 above it would favour the first 8 chars and are skipped.
const ACCEPT_BELOW: u8 = 248;

/// Which kind of key: `live` keys reach real providers, `test` keys are for CI and sandboxes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Live,
    Test,
}

impl Environment {
    /// `"de_live_"` or `"de_test_"`.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Live => LIVE_PREFIX,
            Self::Test => TEST_PREFIX,
        }
    }

    /// `"live"` or `"test"`, as stored and serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }
}

/// A well-formed full API key (a secret). Built only by [`generate`] and [`parse`], so the
/// format is an invariant. Deliberately neither `Display` nor `PartialEq`: printing needs
/// [`ApiKey::as_str`], and comparing goes through [`crate::KeyHash::verify`] (constant time).
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 12 chars (`de_live_AbCd`), safe to store and show.
    pub fn display_prefix(&self) -> &str {
        self.0.get(..DISPLAY_PREFIX_LEN).unwrap_or(&self.0)
    }

    pub fn environment(&self) -> Environment {
        if self.0.starts_with(TEST_PREFIX) {
            Environment::Test
        } else {
            Environment::Live
        }
    }
}

/// Shows only the display prefix, so a key in a log line or a panic message leaks nothing.
impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({}…)", self.display_prefix())
    }
}

/// Makes a new key from random bytes by rejection sampling (unbiased base62).
///
/// Pass 64 random bytes: each is accepted with probability 248/256, so 43 of 64 fall short only
/// with probability ≈ 2·10⁻¹⁷ (22+ rejections). Should it happen, [`KeyError::NotEnoughRandomness`]
/// tells the shell to retry with fresh bytes.
pub fn generate(env: Environment, random: &[u8]) -> Result<ApiKey, KeyError> {
    let secret: String = base62(random).take(SECRET_CHARS).collect();
    if secret.len() < SECRET_CHARS {
        return Err(KeyError::NotEnoughRandomness);
    }
    Ok(ApiKey(format!("{}{secret}", env.prefix())))
}

/// Maps every accepted byte to a base62 char, skipping bytes ≥ 248.
fn base62(random: &[u8]) -> impl Iterator<Item = char> + '_ {
    random
        .iter()
        .filter(|&&b| b < ACCEPT_BELOW)
        .filter_map(|&b| ALPHABET.get(usize::from(b % 62)).copied().map(char::from))
}

/// Accepts exactly a known prefix + 43 base62 chars; anything else is [`KeyError::Malformed`].
pub fn parse(token: &str) -> Result<ApiKey, KeyError> {
    let secret = token
        .strip_prefix(LIVE_PREFIX)
        .or_else(|| token.strip_prefix(TEST_PREFIX))
        .ok_or(KeyError::Malformed)?;
    if secret.len() != SECRET_CHARS || !secret.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(KeyError::Malformed);
    }
    Ok(ApiKey(token.to_owned()))
}

/// Cheap routing test: is this token meant to be an API key (rather than the admin token)?
pub fn looks_like_api_key(token: &str) -> bool {
    token.starts_with(LIVE_PREFIX) || token.starts_with(TEST_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 64 bytes that are all accepted, so the output is predictable.
    fn bytes(seed: u8) -> Vec<u8> {
        (0..64u8)
            .map(|i| i.wrapping_mul(7).wrapping_add(seed) % 248)
            .collect()
    }

    #[test]
    fn generate_then_parse_round_trips() {
        for env in [Environment::Live, Environment::Test] {
            let key = generate(env, &bytes(3)).unwrap();
            assert_eq!(key.as_str().len(), 8 + SECRET_CHARS);
            assert!(key.as_str().starts_with(env.prefix()));
            assert_eq!(key.environment(), env);
            let parsed = parse(key.as_str()).unwrap();
            assert_eq!(parsed.as_str(), key.as_str());
            assert_eq!(parsed.environment(), env);
        }
    }

    #[test]
    fn different_randomness_gives_different_keys() {
        let a = generate(Environment::Live, &bytes(1)).unwrap();
        let b = generate(Environment::Live, &bytes(2)).unwrap();
        assert_ne!(a.as_str(), b.as_str());
    }

    #[test]
    fn maps_bytes_onto_the_alphabet() {
        let mut random = vec![0, 9, 10, 35, 36, 61, 62, 247];
        random.extend([0u8; 40]);
        let key = generate(Environment::Test, &random).unwrap();
        assert!(key.as_str().starts_with("de_test_09AZaz0z000"), "{key:?}");
    }

    #[test]
    fn bytes_from_248_up_are_skipped() {
        let mut random: Vec<u8> = (248..=255).collect();
        random.push(1);
        random.extend([248, 255, 2]);
        random.extend([0u8; 41]);
        let key = generate(Environment::Live, &random).unwrap();
        assert!(
            key.as_str().starts_with("de_live_120000"),
            "{}",
            key.as_str()
        );
    }

    #[test]
    fn every_char_is_equally_likely() {
        // One full cycle of byte values: 248 accepted bytes spread exactly 4 per char.
        let all: Vec<u8> = (0..=255).collect();
        let chars: Vec<char> = base62(&all).collect();
        assert_eq!(chars.len(), 248);
        for &c in ALPHABET {
            let n = chars.iter().filter(|&&x| x == char::from(c)).count();
            assert_eq!(n, 4, "char {}", char::from(c));
        }
    }

    #[test]
    fn too_few_usable_bytes_is_an_error() {
        assert_eq!(
            generate(Environment::Live, &[0u8; 42]).unwrap_err(),
            KeyError::NotEnoughRandomness
        );
        let mut random = vec![255u8; 100];
        random.extend([5u8; 42]);
        assert_eq!(
            generate(Environment::Live, &random).unwrap_err(),
            KeyError::NotEnoughRandomness
        );
        random.push(5);
        assert!(generate(Environment::Live, &random).is_ok());
    }

    #[test]
    fn parse_rejects_bad_prefix_length_and_alphabet() {
        let good = "a".repeat(SECRET_CHARS);
        assert!(parse(&format!("de_live_{good}")).is_ok());
        for bad in [
            format!("de_prod_{good}"),
            format!("DE_LIVE_{good}"),
            format!("live_{good}"),
            format!("de_live_{}", "a".repeat(SECRET_CHARS - 1)),
            format!("de_live_{}", "a".repeat(SECRET_CHARS + 1)),
            format!("de_live_{}-", "a".repeat(SECRET_CHARS - 1)),
            format!("de_live_{}é", "a".repeat(SECRET_CHARS - 2)),
            format!(" de_live_{good}"),
            "de_live_".to_owned(),
            String::new(),
        ] {
            assert_eq!(parse(&bad).unwrap_err(), KeyError::Malformed, "{bad:?}");
        }
    }

    #[test]
    fn display_prefix_is_twelve_chars() {
        let key = parse(&format!("de_test_AbCd{}", "x".repeat(39))).unwrap();
        assert_eq!(key.display_prefix(), "de_test_AbCd");
        assert_eq!(DISPLAY_PREFIX_LEN, key.display_prefix().len());
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = parse(&format!("de_live_AbCd{}", "S".repeat(39))).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "ApiKey(de_live_AbCd…)");
        assert!(!shown.contains("SSSS"));
    }

    #[test]
    fn looks_like_api_key_checks_only_the_prefix() {
        assert!(looks_like_api_key("de_live_"));
        assert!(looks_like_api_key("de_test_x"));
        assert!(!looks_like_api_key("de_prod_x"));
        assert!(!looks_like_api_key("some-admin-token"));
    }

    #[test]
    fn environment_serializes_lowercase() {
        assert_eq!(
            serde_json::to_string(&Environment::Live).unwrap(),
            "\"live\""
        );
        let env: Environment = serde_json::from_str("\"test\"").unwrap();
        assert_eq!(env, Environment::Test);
        assert!(serde_json::from_str::<Environment>("\"Live\"").is_err());
        assert_eq!(Environment::Test.as_str(), "test");
    }
}
