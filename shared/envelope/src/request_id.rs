//! Request ids: echo a sane caller-supplied `x-request-id`, else make one from random bytes.

const MAX_LEN: usize = 128;

/// Accepts a caller's `x-request-id` when it is 1–128 chars of `[A-Za-z0-9._:-]`; anything else
/// is dropped (not repaired) so that logs and headers never carry attacker-shaped text.
pub fn accept(header: Option<&str>) -> Option<String> {
    let id = header?;
    let sane = !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    sane.then(|| id.to_owned())
}

/// `"req_"` + 24 lowercase hex chars. The shell passes 12 random bytes (96 bits).
pub fn generate(random: &[u8; 12]) -> String {
    format!("req_{}", hex::encode(random))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sane_ids() {
        assert_eq!(
            accept(Some("abc-123_x.y:z")),
            Some("abc-123_x.y:z".to_owned())
        );
        assert_eq!(accept(Some("a")), Some("a".to_owned()));
        let max = "A".repeat(128);
        assert_eq!(accept(Some(&max)), Some(max.clone()));
    }

    #[test]
    fn rejects_everything_else() {
        assert_eq!(accept(None), None);
        assert_eq!(accept(Some("")), None);
        assert_eq!(accept(Some(&"A".repeat(129))), None);
        for bad in ["a b", "a\nb", "a/b", "a\"b", "é", "<script>", "a,b"] {
            assert_eq!(accept(Some(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn generate_is_prefixed_lowercase_hex() {
        let id = generate(&[0x00, 0x01, 0xab, 0xff, 0, 0, 0, 0, 0, 0, 0x10, 0x9c]);
        assert_eq!(id, "req_0001abff000000000000109c");
        assert_eq!(id.len(), 4 + 24);
        assert_eq!(
            accept(Some(&id)),
            Some(id.clone()),
            "our own ids pass our own filter"
        );
        assert_ne!(generate(&[1; 12]), generate(&[2; 12]));
    }
}
