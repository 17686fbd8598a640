//! Keyed hashing of API keys: what the database stores and looks keys up by.

use hmac::digest::Key;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::{ApiKey, KeyError};

type HmacSha256 = Hmac<Sha256>;

const HASH_HEX_LEN: usize = 64;

/// HMAC-SHA-256 of a key under the server secret, as 64 lowercase hex chars. Keyed (not a plain
/// hash) so that a leaked table cannot be brute-forced without the secret too.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(String);

impl KeyHash {
    /// Accepts a stored hash (64 lowercase hex chars).
    pub fn parse(stored: &str) -> Result<KeyHash, KeyError> {
        let well_formed = stored.len() == HASH_HEX_LEN
            && stored
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if well_formed {
            Ok(KeyHash(stored.to_owned()))
        } else {
            Err(KeyError::MalformedHash)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Recomputes the MAC of `key` and compares in constant time (hmac's `verify_slice`).
    pub fn verify(&self, server_secret: &[u8], key: &ApiKey) -> bool {
        let mut expected = [0u8; 32];
        if hex::decode_to_slice(&self.0, &mut expected).is_err() {
            return false;
        }
        let mut mac = keyed_mac(server_secret);
        mac.update(key.as_str().as_bytes());
        mac.verify_slice(&expected).is_ok()
    }
}

/// The stored form of `key`: deterministic for one secret, unrelated across secrets.
pub fn hash(server_secret: &[u8], key: &ApiKey) -> KeyHash {
    let mut mac = keyed_mac(server_secret);
    mac.update(key.as_str().as_bytes());
    KeyHash(hex::encode(mac.finalize().into_bytes()))
}

/// An HMAC-SHA-256 keyed with `secret`, built without a fallible call.
///
/// `Mac::new_from_slice` returns a `Result` although HMAC takes keys of any length; doing the
/// RFC 2104 key normalisation here (hash if longer than a block, zero-pad to a block) gives the
/// identical MAC through the infallible block-sized constructor, with no panic path.
pub(crate) fn keyed_mac(secret: &[u8]) -> HmacSha256 {
    let mut block = Key::<HmacSha256>::default();
    let digest;
    let key = if secret.len() > block.len() {
        digest = Sha256::digest(secret);
        digest.as_slice()
    } else {
        secret
    };
    for (slot, byte) in block.iter_mut().zip(key) {
        *slot = *byte;
    }
    <HmacSha256 as Mac>::new(&block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, Environment};

    fn key(c: char) -> ApiKey {
        parse(&format!("de_live_{}", c.to_string().repeat(43))).unwrap()
    }

    #[test]
    fn hash_is_lowercase_hex_and_deterministic() {
        let h = hash(b"server-secret", &key('a'));
        assert_eq!(h.as_str().len(), 64);
        assert!(h
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(h, hash(b"server-secret", &key('a')));
    }

    #[test]
    fn hash_depends_on_secret_and_key() {
        let h = hash(b"secret-one", &key('a'));
        assert_ne!(h, hash(b"secret-two", &key('a')));
        assert_ne!(h, hash(b"secret-one", &key('b')));
    }

    #[test]
    fn matches_rfc_4231_test_case_2() {
        // RFC 4231 §4.3 — checks that our key handling is plain HMAC-SHA-256.
        let mut mac = keyed_mac(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn long_and_empty_secrets_match_the_library() {
        for secret in [vec![], vec![7u8; 64], vec![9u8; 65], vec![1u8; 200]] {
            let mut ours = keyed_mac(&secret);
            let mut theirs = HmacSha256::new_from_slice(&secret).unwrap();
            ours.update(b"msg");
            theirs.update(b"msg");
            assert_eq!(ours.finalize().into_bytes(), theirs.finalize().into_bytes());
        }
    }

    #[test]
    fn verify_accepts_only_the_right_key_and_secret() {
        let h = hash(b"s", &key('a'));
        assert!(h.verify(b"s", &key('a')));
        assert!(!h.verify(b"s", &key('b')));
        assert!(!h.verify(b"t", &key('a')));
    }

    #[test]
    fn parse_round_trips_and_rejects_garbage() {
        let k = crate::generate(Environment::Test, &[5u8; 64]).unwrap();
        let h = hash(b"s", &k);
        let stored = KeyHash::parse(h.as_str()).unwrap();
        assert!(stored.verify(b"s", &k));
        for bad in [
            "",
            "abc",
            &h.as_str().to_uppercase(),
            &format!("{}g", &h.as_str()[1..]),
        ] {
            assert_eq!(
                KeyHash::parse(bad).unwrap_err(),
                KeyError::MalformedHash,
                "{bad}"
            );
        }
    }
}
