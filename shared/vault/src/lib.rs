//! Provider API keys encrypted at rest with AES-256-GCM, and their masked display hint.
//!
//! Contract: no I/O and no randomness of its own; the shell passes a fresh random 12-byte nonce
//! to every [`Vault::seal`] (a nonce must never repeat under one secret). The sealed form is
//! `v1.<nonce>.<ciphertext+tag>` (base64url, unpadded). The associated data binds a ciphertext
//! to its row, so a value copied to another row fails to open.

mod hint;
mod seal;

pub use hint::hint;
pub use seal::Vault;

/// Why sealing or opening failed. Deliberately carries no detail: the cause of a failed
/// decryption (wrong secret, wrong row, tampering) is indistinguishable by design.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// The vault secret is shorter than 32 chars.
    #[error("vault secret must be at least 32 characters")]
    WeakSecret,
    /// Not a `v1.<nonce>.<ciphertext>` string.
    #[error("malformed sealed value")]
    Malformed,
    /// Authentication failed: wrong secret, wrong associated data, or tampered ciphertext.
    #[error("sealed value could not be decrypted")]
    Decrypt,
    /// AES-GCM refused the plaintext (only possible beyond its 64 GiB message limit).
    #[error("value could not be encrypted")]
    Encrypt,
}
