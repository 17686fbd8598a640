//! The masked hint shown for a stored provider key (`"sk-…wxyz"`).

/// Masks a provider key for display: 12+ chars → first 3 + `…` + last 4; 6–11 chars → `…` + last
/// 2; shorter → `…`. Short keys reveal less because a few chars would be a large share of them.
/// Counts chars, not bytes, so odd input cannot split a UTF-8 sequence.
pub fn hint(api_key: &str) -> String {
    let chars: Vec<char> = api_key.chars().collect();
    let n = chars.len();
    let (head, tail) = match n {
        12.. => (3, 4),
        6..=11 => (0, 2),
        _ => (0, 0),
    };
    let mut out: String = chars.iter().take(head).collect();
    out.push('…');
    out.extend(chars.iter().skip(n.saturating_sub(tail)));
    out
}

#[cfg(test)]
mod tests {
    use super::hint;

    #[test]
    fn long_keys_show_head_and_tail() {
        assert_eq!(hint("sk-abcdefghijklmnopqrstuvwxyz"), "sk-…wxyz");
        assert_eq!(hint("abcdefghijkl"), "abc…ijkl");
    }

    #[test]
    fn medium_keys_show_only_the_last_two() {
        assert_eq!(hint("abcdefghijk"), "…jk");
        assert_eq!(hint("abcdef"), "…ef");
    }

    #[test]
    fn short_keys_show_nothing() {
        assert_eq!(hint("abcde"), "…");
        assert_eq!(hint(""), "…");
    }

    #[test]
    fn counts_chars_not_bytes() {
        assert_eq!(hint("ééééééééééé€"), "ééé…ééé€");
        assert_eq!(hint("éééééé"), "…éé");
    }
}
