//! The reply: N words cycling through a fixed list, so the same request always gets the same text.

/// The words a reply is made of, in order, cycling.
const WORDS: [&str; 24] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma", "tau", "upsilon", "phi", "chi",
    "psi", "omega",
];

/// Reply length when the request asks for none (`tokens=` absent).
pub const DEFAULT_WORDS: u64 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reply {
    pub words: u64,
    /// The caller's `max_tokens` cut the reply short ("length" / "max_tokens").
    pub truncated: bool,
}

impl Reply {
    /// `requested` words (`tokens=`, default 16), capped by `max_tokens` when the caller set one.
    pub fn plan(requested: Option<u64>, max_tokens: Option<u64>) -> Reply {
        let wanted = requested.unwrap_or(DEFAULT_WORDS);
        match max_tokens {
            Some(cap) if cap < wanted => Reply {
                words: cap,
                truncated: true,
            },
            _ => Reply {
                words: wanted,
                truncated: false,
            },
        }
    }

    /// What a stream sends, one piece per word: the word, with a leading space after the first,
    /// so the pieces concatenate to [`Reply::text`].
    pub fn pieces(&self) -> impl Iterator<Item = String> {
        WORDS
            .iter()
            .cycle()
            .take(self.count())
            .enumerate()
            .map(|(i, word)| {
                if i == 0 {
                    (*word).to_string()
                } else {
                    format!(" {word}")
                }
            })
    }

    pub fn text(&self) -> String {
        self.pieces().collect()
    }

    fn count(&self) -> usize {
        usize::try_from(self.words).unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_length_and_truncation() {
        assert_eq!(
            Reply::plan(None, None),
            Reply {
                words: 16,
                truncated: false
            }
        );
        assert_eq!(
            Reply::plan(Some(40), None),
            Reply {
                words: 40,
                truncated: false
            }
        );
        assert_eq!(
            Reply::plan(Some(40), Some(10)),
            Reply {
                words: 10,
                truncated: true
            }
        );
        assert_eq!(
            Reply::plan(None, Some(16)),
            Reply {
                words: 16,
                truncated: false
            }
        );
        assert_eq!(
            Reply::plan(Some(3), Some(100)),
            Reply {
                words: 3,
                truncated: false
            }
        );
    }

    #[test]
    fn cycles_the_word_list() {
        let reply = Reply::plan(Some(3), None);
        assert_eq!(reply.text(), "alpha beta gamma");
        assert_eq!(
            reply.pieces().collect::<Vec<_>>(),
            ["alpha", " beta", " gamma"]
        );
        let long = Reply::plan(Some(26), None).text();
        assert!(long.ends_with("omega alpha beta"));
        assert_eq!(Reply::plan(Some(0), None).text(), "");
    }
}
