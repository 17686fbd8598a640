//! Signed, expiring image URLs: `<base>/_sim/images/<id>.png?exp_ms=<unix ms>&sig=<16 hex>`, like the
//! real providers' short-lived download links, so a gateway that keeps a URL instead of copying the
//! image at once is caught when it fetches too late. No clock here: the time comes in.
//!
//! The signature only makes an edited `exp_ms` detectable (it is no secret); a bare `<id>.png` with
//! no query never expires, for links written by hand.

use super::IMAGE_PATH;
use crate::digest;

/// How long a URL stays fetchable unless `url_ttl_ms=` says otherwise: an hour, as OpenAI's do.
pub const DEFAULT_TTL_MS: u64 = 3_600_000;
/// Mixed into every signature so that it is not just a hash of the visible fields.
const SALT: &str = "distributed-electrons-simulator";

/// What a request for an image may see.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A bare `<id>.png`: served.
    Open,
    /// Signed and not yet expired: served.
    Fresh,
    /// Signed, but `exp_ms` has passed: 410.
    Expired,
    /// An `exp_ms`/`sig` that do not match: 403.
    Forged,
}

/// The URL of image `id` under `base` (`http://host:port`), valid until `expires_ms`.
pub fn url(base: &str, id: &str, expires_ms: u64) -> String {
    let sig = signature(id, expires_ms);
    format!("{base}{IMAGE_PATH}{id}.png?exp_ms={expires_ms}&sig={sig}")
}

/// When a URL handed out at `now_ms` with a `ttl_ms` lifetime stops working.
pub fn expiry(now_ms: u64, ttl_ms: Option<u64>) -> u64 {
    now_ms.saturating_add(ttl_ms.unwrap_or(DEFAULT_TTL_MS))
}

/// Whether image `id`, asked for with `query` at `now_ms`, may be served.
pub fn check(id: &str, query: Option<&str>, now_ms: u64) -> Access {
    let value = |key: &str| {
        query?
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| *name == key)
            .map(|(_, value)| value)
    };
    let (exp, sig) = (value("exp_ms"), value("sig"));
    if exp.is_none() && sig.is_none() {
        return Access::Open;
    }
    let Some(expires_ms) = exp.and_then(|e| e.parse::<u64>().ok()) else {
        return Access::Forged;
    };
    if sig != Some(signature(id, expires_ms).as_str()) {
        Access::Forged
    } else if now_ms >= expires_ms {
        Access::Expired
    } else {
        Access::Fresh
    }
}

fn signature(id: &str, expires_ms: u64) -> String {
    digest::hex_id(format!("{SALT}\u{0}{id}\u{0}{expires_ms}").as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query_of(url: &str) -> &str {
        url.split_once('?').unwrap().1
    }

    #[test]
    fn a_url_is_fresh_until_it_expires() {
        let url = url("http://h:1", "abc", 5_000);
        assert!(url.starts_with("http://h:1/_sim/images/abc.png?exp_ms=5000&sig="));
        let query = Some(query_of(&url));
        assert_eq!(check("abc", query, 4_999), Access::Fresh);
        assert_eq!(check("abc", query, 5_000), Access::Expired);
        assert_eq!(check("abc", query, 9_000), Access::Expired);
    }

    #[test]
    fn edits_are_forgeries() {
        let url = url("http://h", "abc", 5_000);
        let query = query_of(&url);
        assert_eq!(check("abd", Some(query), 0), Access::Forged);
        let later = query.replace("exp_ms=5000", "exp_ms=9000");
        assert_eq!(check("abc", Some(&later), 0), Access::Forged);
        assert_eq!(check("abc", Some("exp_ms=5000"), 0), Access::Forged);
        assert_eq!(check("abc", Some("sig=00"), 0), Access::Forged);
        assert_eq!(check("abc", Some("exp_ms=x&sig=00"), 0), Access::Forged);
    }

    #[test]
    fn bare_urls_never_expire() {
        assert_eq!(check("abc", None, u64::MAX), Access::Open);
        assert_eq!(check("abc", Some("cache=no"), u64::MAX), Access::Open);
    }

    #[test]
    fn expiry_defaults_to_an_hour_and_saturates() {
        assert_eq!(expiry(10, None), 10 + DEFAULT_TTL_MS);
        assert_eq!(expiry(10, Some(0)), 10);
        assert_eq!(expiry(u64::MAX, Some(5)), u64::MAX);
    }
}
