//! AES-256-GCM sealing of provider keys under a key derived from the vault secret.

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::VaultError;

const MIN_SECRET_CHARS: usize = 32;
/// Domain separation: the same deploy secret used elsewhere never yields this AES key.
const KEY_CONTEXT: &[u8] = b"de-vault-v1\0";
const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Seals and opens provider keys. `Debug` shows no key material.
#[derive(Clone)]
pub struct Vault {
    cipher: Aes256Gcm,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault").finish_non_exhaustive()
    }
}

impl Vault {
    /// Derives the AES-256 key as SHA-256(`"de-vault-v1\0"` ‖ secret). The secret is a deploy
    /// secret of at least 32 chars; a shorter one is refused rather than silently weak.
    pub fn from_secret(secret: &str) -> Result<Vault, VaultError> {
        if secret.chars().count() < MIN_SECRET_CHARS {
            return Err(VaultError::WeakSecret);
        }
        let key = Sha256::new()
            .chain_update(KEY_CONTEXT)
            .chain_update(secret.as_bytes())
            .finalize();
        Ok(Vault {
            cipher: Aes256Gcm::new(&key),
        })
    }

    /// Encrypts `plaintext` bound to `aad` (the row, `"<instance_id>/<name>"`).
    /// `nonce` must be fresh random bytes: reusing one under the same secret breaks GCM.
    pub fn seal(&self, plaintext: &str, nonce: [u8; 12], aad: &str) -> Result<String, VaultError> {
        let payload = Payload {
            msg: plaintext.as_bytes(),
            aad: aad.as_bytes(),
        };
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), payload)
            .map_err(|_| VaultError::Encrypt)?;
        Ok(format!(
            "{VERSION}.{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(sealed)
        ))
    }

    /// Decrypts a value from [`Vault::seal`]; `aad` must be the one it was sealed with.
    pub fn open(&self, sealed: &str, aad: &str) -> Result<String, VaultError> {
        let (nonce, ciphertext) = split(sealed)?;
        let payload = Payload {
            msg: &ciphertext,
            aad: aad.as_bytes(),
        };
        let plaintext = self
            .cipher
            .decrypt(&Nonce::from(nonce), payload)
            .map_err(|_| VaultError::Decrypt)?;
        // Authentic bytes that are not UTF-8 were not produced by `seal`.
        String::from_utf8(plaintext).map_err(|_| VaultError::Malformed)
    }
}

/// `v1.<nonce>.<ciphertext+tag>` → (nonce, ciphertext+tag), checking sizes before any crypto.
fn split(sealed: &str) -> Result<([u8; NONCE_LEN], Vec<u8>), VaultError> {
    let mut parts = sealed.split('.');
    let (Some(VERSION), Some(nonce), Some(body), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VaultError::Malformed);
    };
    let nonce: [u8; NONCE_LEN] = decode(nonce)?
        .try_into()
        .map_err(|_| VaultError::Malformed)?;
    let body = decode(body)?;
    if body.len() < TAG_LEN {
        return Err(VaultError::Malformed);
    }
    Ok((nonce, body))
}

fn decode(part: &str) -> Result<Vec<u8>, VaultError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VaultError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const AAD: &str = "ins_01HZX/openai";
    const PLAIN: &str = "sk-proj-abcdefghijklmnopqrstuvwxyz";

    fn vault() -> Vault {
        Vault::from_secret(SECRET).unwrap()
    }

    #[test]
    fn round_trips() {
        let v = vault();
        let sealed = v.seal(PLAIN, [7; 12], AAD).unwrap();
        assert_eq!(v.open(&sealed, AAD).unwrap(), PLAIN);
        // A second vault from the same secret (another isolate) opens it too.
        assert_eq!(vault().open(&sealed, AAD).unwrap(), PLAIN);
        assert_eq!(v.open(&v.seal("", [0; 12], AAD).unwrap(), AAD).unwrap(), "");
    }

    #[test]
    fn sealed_format_is_versioned_base64url() {
        let sealed = vault().seal(PLAIN, [0xfb; 12], AAD).unwrap();
        let parts: Vec<&str> = sealed.split('.').collect();
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0], "v1");
        assert_eq!(parts[1], "-_v7-_v7-_v7-_v7");
        assert_eq!(
            URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(),
            PLAIN.len() + TAG_LEN
        );
        assert!(!sealed.contains('=') && !sealed.contains('+') && !sealed.contains('/'));
    }

    #[test]
    fn never_contains_the_plaintext() {
        let sealed = vault().seal(PLAIN, [1; 12], AAD).unwrap();
        assert!(!sealed.contains(PLAIN));
        assert!(!sealed.contains("abcdefgh"));
        assert!(!sealed.contains(&URL_SAFE_NO_PAD.encode(PLAIN)));
    }

    #[test]
    fn different_nonces_give_different_ciphertexts() {
        let v = vault();
        let a = v.seal(PLAIN, [1; 12], AAD).unwrap();
        let b = v.seal(PLAIN, [2; 12], AAD).unwrap();
        assert_ne!(a.split('.').nth(2), b.split('.').nth(2));
        assert_eq!(v.open(&b, AAD).unwrap(), PLAIN);
    }

    #[test]
    fn wrong_aad_fails() {
        let v = vault();
        let sealed = v.seal(PLAIN, [1; 12], AAD).unwrap();
        assert_eq!(
            v.open(&sealed, "ins_other/openai"),
            Err(VaultError::Decrypt)
        );
        assert_eq!(v.open(&sealed, ""), Err(VaultError::Decrypt));
    }

    #[test]
    fn wrong_secret_fails() {
        let sealed = vault().seal(PLAIN, [1; 12], AAD).unwrap();
        let other = Vault::from_secret("0123456789abcdef0123456789abcdeF").unwrap();
        assert_eq!(other.open(&sealed, AAD), Err(VaultError::Decrypt));
    }

    #[test]
    fn tampering_fails() {
        let v = vault();
        let sealed = v.seal(PLAIN, [1; 12], AAD).unwrap();
        let (head, body) = sealed.rsplit_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        bytes[0] ^= 1;
        let flipped = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(v.open(&flipped, AAD), Err(VaultError::Decrypt));
        let other_nonce = sealed.replacen(".AQEBAQEBAQEBAQEB.", ".AgEBAQEBAQEBAQEB.", 1);
        assert_ne!(other_nonce, sealed);
        assert_eq!(v.open(&other_nonce, AAD), Err(VaultError::Decrypt));
    }

    #[test]
    fn malformed_input_is_reported_as_such() {
        let v = vault();
        let sealed = v.seal(PLAIN, [1; 12], AAD).unwrap();
        let body = sealed.rsplit_once('.').unwrap().1;
        for bad in [
            String::new(),
            "v1".to_owned(),
            sealed.replacen("v1.", "v2.", 1),
            format!("{sealed}.x"),
            format!("v1.AQEB.{body}"),
            format!("v1.AQEBAQEBAQEBAQEB.{}", URL_SAFE_NO_PAD.encode([0u8; 15])),
            format!("v1.AQEBAQEBAQEBAQEB.{body}!"),
            sealed.replace('.', "+"),
        ] {
            assert_eq!(v.open(&bad, AAD), Err(VaultError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn short_secret_is_refused() {
        assert_eq!(
            Vault::from_secret(&"x".repeat(31)).unwrap_err(),
            VaultError::WeakSecret
        );
        assert_eq!(Vault::from_secret("").unwrap_err(), VaultError::WeakSecret);
        assert!(Vault::from_secret(&"x".repeat(32)).is_ok());
    }

    #[test]
    fn debug_shows_no_key_material() {
        assert_eq!(format!("{:?}", vault()), "Vault { .. }");
    }

    #[test]
    fn key_is_derived_with_the_context_prefix() {
        // A cipher keyed with plain SHA-256(secret) must not open our values.
        let sealed = vault().seal(PLAIN, [1; 12], AAD).unwrap();
        let plain_key = Sha256::digest(SECRET.as_bytes());
        let naive = Vault {
            cipher: Aes256Gcm::new(&plain_key),
        };
        assert_eq!(naive.open(&sealed, AAD), Err(VaultError::Decrypt));
        let ctx_key = Sha256::digest([KEY_CONTEXT, SECRET.as_bytes()].concat());
        let expected = Vault {
            cipher: Aes256Gcm::new(&ctx_key),
        };
        assert_eq!(expected.open(&sealed, AAD).unwrap(), PLAIN);
    }
}
