//! The `[[sim: key=value, ...]]` directive: how a test asks for a fault through the gateway,
//! which forwards prompts but not custom headers.
//!
//! Lenient by design: unknown keys and unparsable values are ignored, so a typo degrades to
//! "no fault" rather than an error the gateway would have to explain.

const OPEN: &str = "[[sim:";
const CLOSE: &str = "]]";

/// Upper bounds that keep a directive from tying up the server (or its memory) for good.
const MAX_DELAY_MS: u64 = 600_000;
const MAX_CHUNK_DELAY_MS: u64 = 60_000;
pub const MAX_TOKENS: u64 = 100_000;
/// Longest image-URL lifetime a directive may ask for: 30 days.
const MAX_URL_TTL_MS: u64 = 30 * 86_400_000;

/// Everything a request's directives asked for; later keys override earlier ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directive {
    /// Answer with this error status (400..=599) and the provider's error body.
    pub status: Option<u16>,
    /// Only the first `times` requests carrying `key` get the faults.
    pub times: Option<u64>,
    pub key: Option<String>,
    pub retry_after: Option<u64>,
    pub delay_ms: Option<u64>,
    pub chunk_delay_ms: Option<u64>,
    pub malformed: bool,
    pub cut_after: Option<u64>,
    /// Reply length in words (not a fault: it applies on every attempt).
    pub tokens: Option<u64>,
    pub content_policy: bool,
    /// A 200 whose non-streamed body is padded past 16 MiB and sent chunked (no content-length).
    pub oversize: bool,
    /// How many tools the model calls when it calls tools (not a fault).
    pub tool_calls: Option<u64>,
    /// Ideogram: the first K images come back `is_image_safe: false`, without a URL.
    pub unsafe_images: Option<u64>,
    /// How long the image URLs of this answer stay fetchable (default: an hour).
    pub url_ttl_ms: Option<u64>,
}

impl Directive {
    /// Merges every directive found in `texts`, in order.
    pub fn scan<'a>(texts: impl IntoIterator<Item = &'a str>) -> Directive {
        let mut directive = Directive::default();
        for text in texts {
            let mut rest = text;
            while let Some(start) = rest.find(OPEN) {
                let after = rest.get(start + OPEN.len()..).unwrap_or("");
                let Some(end) = after.find(CLOSE) else { break };
                directive.apply_all(after.get(..end).unwrap_or(""));
                rest = after.get(end + CLOSE.len()..).unwrap_or("");
            }
        }
        directive
    }

    /// The same directive once its `times` budget is spent: only the reply length survives.
    pub fn without_faults(&self) -> Directive {
        Directive {
            tokens: self.tokens,
            tool_calls: self.tool_calls,
            ..Directive::default()
        }
    }

    fn apply_all(&mut self, inner: &str) {
        let pairs = inner
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter_map(|pair| pair.split_once('='));
        for (key, value) in pairs {
            self.apply(key.trim(), value.trim());
        }
    }

    fn apply(&mut self, key: &str, value: &str) {
        let number = value.parse::<u64>().ok();
        let flag = matches!(value, "1" | "true" | "yes");
        match key {
            "status" => {
                if let Some(status) = number.and_then(|n| u16::try_from(n).ok()) {
                    if (400..=599).contains(&status) {
                        self.status = Some(status);
                    }
                }
            }
            "times" => self.times = number.or(self.times),
            "key" if !value.is_empty() => self.key = Some(value.to_string()),
            "retry_after" => self.retry_after = number.or(self.retry_after),
            "delay_ms" => self.delay_ms = number.map(|n| n.min(MAX_DELAY_MS)).or(self.delay_ms),
            "chunk_delay_ms" => {
                self.chunk_delay_ms = number
                    .map(|n| n.min(MAX_CHUNK_DELAY_MS))
                    .or(self.chunk_delay_ms);
            }
            "malformed" => self.malformed = flag,
            "cut_after" => self.cut_after = number.or(self.cut_after),
            "tokens" => self.tokens = number.map(|n| n.min(MAX_TOKENS)).or(self.tokens),
            "content_policy" => self.content_policy = flag,
            "oversize" => self.oversize = flag,
            "tool_calls" => self.tool_calls = number.map(|n| n.min(16)).or(self.tool_calls),
            "unsafe" => self.unsafe_images = number.or(self.unsafe_images),
            "url_ttl_ms" => {
                self.url_ttl_ms = number.map(|n| n.min(MAX_URL_TTL_MS)).or(self.url_ttl_ms);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_key() {
        let d = Directive::scan(["hi [[sim: status=429, retry_after=3, times=2, key=k1]] there"]);
        assert_eq!(d.status, Some(429));
        assert_eq!(d.retry_after, Some(3));
        assert_eq!(d.times, Some(2));
        assert_eq!(d.key.as_deref(), Some("k1"));
        let d = Directive::scan([
            "[[sim:delay_ms=5 chunk_delay_ms=7,malformed=1,cut_after=2,tokens=9,content_policy=true,oversize=1]]",
        ]);
        assert_eq!(
            (d.delay_ms, d.chunk_delay_ms, d.cut_after, d.tokens),
            (Some(5), Some(7), Some(2), Some(9))
        );
        assert!(d.malformed && d.content_policy && d.oversize);
        let d = Directive::scan(["[[sim: unsafe=2 url_ttl_ms=0]]"]);
        assert_eq!((d.unsafe_images, d.url_ttl_ms), (Some(2), Some(0)));
    }

    #[test]
    fn merges_directives_across_texts_in_order() {
        let d = Directive::scan([
            "[[sim: tokens=3]] a [[sim: status=500]]",
            "[[sim: tokens=4]]",
        ]);
        assert_eq!((d.status, d.tokens), (Some(500), Some(4)));
    }

    #[test]
    fn ignores_junk() {
        let d = Directive::scan(["[[sim: status=200, bogus=1, tokens=x, key=]] [[sim: status=503"]);
        assert_eq!(d, Directive::default());
        assert_eq!(Directive::scan(["no directive here"]), Directive::default());
    }

    #[test]
    fn caps_large_values() {
        let d = Directive::scan([
            "[[sim: tokens=99999999, delay_ms=99999999999, url_ttl_ms=99999999999999]]",
        ]);
        assert_eq!(
            (d.tokens, d.delay_ms, d.url_ttl_ms),
            (Some(MAX_TOKENS), Some(MAX_DELAY_MS), Some(MAX_URL_TTL_MS))
        );
    }

    #[test]
    fn tokens_alone_is_not_a_fault() {
        let d = Directive::scan(["[[sim: tokens=2]]"]);
        assert_eq!(d.without_faults(), d);
    }
}
