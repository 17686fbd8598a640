//! What a request counts once it is over: the tokens on its usage row (and so its cost) and what settles
//! its rate-limit reservation. The upstream's own count wins when the request completed and the upstream
//! reported one. Otherwise — a stream the client or the upstream cut, a server that sends no usage — the
//! row counts what was sent (conservative estimates, never less than what the upstream reported so far),
//! and a cut request keeps its whole reservation: it may have generated up to its limit upstream.

use providers::chat::{Delta, Usage};
use providers::tokens::estimate_text_tokens;

use crate::plan::Leg;

/// How a request that reached the upstream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The whole answer arrived (and, for a stream, reached the caller).
    Complete,
    /// Cut before its end, by the caller or the upstream.
    Cut,
    /// Failed without generating anything the caller received.
    Failed,
}

/// The counts for the usage row and the settlement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub usage: Usage,
    /// Whether `usage` is our estimate rather than the upstream's count.
    pub estimated: bool,
    /// The tokens the reservation settles to.
    pub settle_tokens: u64,
}

/// Counts what a stream sent to the caller.
#[derive(Debug, Clone, Default)]
pub struct Meter {
    prompt_estimate: u64,
    reserved: u64,
    completion_estimate: u64,
}

impl Meter {
    pub fn new(leg: &Leg) -> Meter {
        Meter {
            prompt_estimate: leg.prompt_tokens,
            reserved: leg.reserved_tokens,
            completion_estimate: 0,
        }
    }

    /// Counts a delta on its way to the caller.
    pub fn sent(&mut self, delta: &Delta) {
        let text = match delta {
            Delta::Text(text) => text,
            Delta::ToolCall { name, .. } => name,
            Delta::ToolArgs { fragment, .. } => fragment,
            Delta::Start { .. } | Delta::Finish(_) | Delta::Usage(_) => return,
        };
        self.completion_estimate = self
            .completion_estimate
            .saturating_add(estimate_text_tokens(text));
    }

    /// Counts a whole answer's text (a non-streamed response).
    pub fn sent_text(&mut self, text: &str) {
        self.completion_estimate = self
            .completion_estimate
            .saturating_add(estimate_text_tokens(text));
    }

    /// The counts for a request that ended as `end`, with what the upstream reported (if anything).
    pub fn tally(&self, end: End, upstream: Option<Usage>) -> Tally {
        let reported = upstream.filter(|u| u.total_tokens() > 0);
        match (end, reported) {
            (End::Failed, _) => Tally::default(),
            (End::Complete, Some(usage)) => Tally {
                usage,
                estimated: false,
                settle_tokens: usage.total_tokens(),
            },
            (End::Complete, None) => {
                let usage = self.estimate(None);
                Tally {
                    usage,
                    estimated: true,
                    settle_tokens: usage.total_tokens(),
                }
            }
            (End::Cut, reported) => {
                let usage = self.estimate(reported);
                Tally {
                    usage,
                    estimated: true,
                    settle_tokens: usage.total_tokens().max(self.reserved),
                }
            }
        }
    }

    fn estimate(&self, reported: Option<Usage>) -> Usage {
        let reported = reported.unwrap_or_default();
        Usage {
            prompt_tokens: reported.prompt_tokens.max(self.prompt_estimate),
            completion_tokens: reported.completion_tokens.max(self.completion_estimate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meter() -> Meter {
        Meter {
            prompt_estimate: 20,
            reserved: 20 + 4096,
            completion_estimate: 0,
        }
    }

    fn usage(prompt: u64, completion: u64) -> Usage {
        Usage {
            prompt_tokens: prompt,
            completion_tokens: completion,
        }
    }

    #[test]
    fn a_complete_answer_settles_what_the_upstream_billed() {
        let t = meter().tally(End::Complete, Some(usage(12, 30)));
        assert_eq!(
            (t.usage, t.estimated, t.settle_tokens),
            (usage(12, 30), false, 42)
        );
    }

    #[test]
    fn a_stream_cut_by_the_client_keeps_its_reservation_and_counts_what_was_sent() {
        let mut m = meter();
        for _ in 0..10 {
            m.sent(&Delta::Text("word ".into()));
        }
        m.sent(&Delta::Finish(providers::chat::FinishReason::Stop));
        let t = m.tally(End::Cut, None);
        assert!(t.estimated);
        assert_eq!(t.usage.prompt_tokens, 20);
        assert_eq!(
            t.usage.completion_tokens, 20,
            "two tokens per 'word ' at 3 chars a token"
        );
        assert_eq!(t.settle_tokens, 4116, "the reservation stands");
        assert!(t.usage.total_tokens() > 0, "never zero");
    }

    #[test]
    fn a_cut_never_counts_less_than_the_upstream_reported() {
        let mut m = meter();
        m.sent(&Delta::Text("ab".into()));
        let t = m.tally(End::Cut, Some(usage(500, 0)));
        assert_eq!(t.usage, usage(500, 1));
    }

    #[test]
    fn a_server_without_usage_is_counted_from_the_text() {
        let mut m = meter();
        m.sent_text("一二三四五六");
        let t = m.tally(End::Complete, Some(usage(0, 0)));
        assert_eq!((t.usage, t.estimated), (usage(20, 6), true));
        assert_eq!(t.settle_tokens, 26);
    }

    #[test]
    fn a_failure_settles_nothing() {
        assert_eq!(meter().tally(End::Failed, None), Tally::default());
    }
}
