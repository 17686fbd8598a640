//! Browser sessions of the interfaces: an opaque token in an `HttpOnly; Secure; SameSite=Strict` cookie.
//!
//! The token is `des_` + 64 hex chars (256 random bits from the shell). Only its keyed hash is stored (the
//! session row's id), so a leaked table opens no session. The CSRF token a page must echo in `x-de-csrf`
//! on mutations is derived from the session token under the server secret: it needs no storage, differs per
//! session, and cannot be computed by a page that only holds the (unreadable) cookie.

use hmac::Mac;
use subtle::ConstantTimeEq;

use crate::hash::keyed_mac;

/// The cookie's name.
pub const COOKIE: &str = "de_session";
/// The header that carries the CSRF token on mutations.
pub const CSRF_HEADER: &str = "x-de-csrf";
/// How long a session lasts (and the cookie's `Max-Age`): short, an operator signs in again.
pub const TTL_SECS: i64 = 3_600;

const PREFIX: &str = "des_";
const HEX_LEN: usize = 64;

/// A session token as the cookie carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(String);

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(…)")
    }
}

impl SessionToken {
    /// A new token from 32 random bytes.
    pub fn generate(random: &[u8; 32]) -> SessionToken {
        SessionToken(format!("{PREFIX}{}", hex::encode(random)))
    }

    /// A token in the exact shape [`SessionToken::generate`] makes, or none.
    pub fn parse(text: &str) -> Option<SessionToken> {
        let hex = text.strip_prefix(PREFIX)?;
        let well_formed =
            hex.len() == HEX_LEN && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        well_formed.then(|| SessionToken(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stored id of the session: a keyed hash of the token.
    pub fn id_hash(&self, server_secret: &[u8]) -> String {
        self.mac(server_secret, b"session\n")
    }

    /// The CSRF token of this session.
    pub fn csrf_token(&self, server_secret: &[u8]) -> String {
        self.mac(server_secret, b"csrf\n")
    }

    /// Whether `given` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, server_secret: &[u8], given: &str) -> bool {
        let expected = self.csrf_token(server_secret);
        given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
    }

    fn mac(&self, server_secret: &[u8], purpose: &[u8]) -> String {
        let mut mac = keyed_mac(server_secret);
        mac.update(purpose);
        mac.update(self.0.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The `Set-Cookie` value that starts the session.
    pub fn set_cookie(&self) -> String {
        format!("{COOKIE}={}; {}; Max-Age={TTL_SECS}", self.0, ATTRIBUTES)
    }
}

const ATTRIBUTES: &str = "Path=/; HttpOnly; Secure; SameSite=Strict";

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; {ATTRIBUTES}; Max-Age=0")
}

/// The session cookie's value in a `Cookie` header, if there is one (the first, as browsers send the most
/// specific first).
pub fn from_cookie_header(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name.trim() == COOKIE).then(|| value.trim())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(byte: u8) -> SessionToken {
        SessionToken::generate(&[byte; 32])
    }

    #[test]
    fn generated_tokens_parse_and_nothing_else_does() {
        let t = token(7);
        assert_eq!(SessionToken::parse(t.as_str()), Some(t.clone()));
        let upper = t.as_str().to_uppercase();
        let short = t.as_str().get(..t.as_str().len() - 1).unwrap_or("");
        for bad in ["", "des_", "de_live_abc", upper.as_str(), short, "des_zz"] {
            assert!(SessionToken::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ids_and_csrf_tokens_depend_on_secret_token_and_purpose() {
        let t = token(1);
        assert_ne!(t.id_hash(b"s"), t.id_hash(b"t"));
        assert_ne!(t.id_hash(b"s"), token(2).id_hash(b"s"));
        assert_ne!(t.id_hash(b"s"), t.csrf_token(b"s"));
        assert_eq!(t.id_hash(b"s").len(), 64);
    }

    #[test]
    fn csrf_matches_only_its_own_token() {
        let t = token(3);
        let csrf = t.csrf_token(b"s");
        assert!(t.csrf_matches(b"s", &csrf));
        assert!(!t.csrf_matches(b"t", &csrf));
        assert!(!token(4).csrf_matches(b"s", &csrf));
        assert!(!t.csrf_matches(b"s", ""));
        assert!(!t.csrf_matches(b"s", &csrf[1..]));
    }

    #[test]
    fn cookies_are_http_only_secure_strict_and_short() {
        let t = token(5);
        let set = t.set_cookie();
        assert!(set.starts_with(&format!("de_session={};", t.as_str())));
        for attribute in [
            "HttpOnly",
            "Secure",
            "SameSite=Strict",
            "Path=/",
            "Max-Age=3600",
        ] {
            assert!(set.contains(attribute), "{set}");
            assert!(
                clear_cookie().contains(attribute) || attribute.starts_with("Max-Age"),
                "{attribute}"
            );
        }
        assert!(clear_cookie().ends_with("Max-Age=0"));
    }

    #[test]
    fn the_cookie_is_found_among_others() {
        assert_eq!(
            from_cookie_header("a=1; de_session=des_x ; b=2"),
            Some("des_x")
        );
        assert_eq!(from_cookie_header("de_session_old=1; x=2"), None);
        assert_eq!(from_cookie_header(""), None);
    }

    #[test]
    fn debug_hides_the_token() {
        assert_eq!(format!("{:?}", token(6)), "SessionToken(…)");
    }
}
