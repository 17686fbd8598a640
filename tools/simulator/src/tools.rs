//! Tool use, deterministically: which tools a request offers, whether the model calls them, and with
//! what arguments. The rule (README.md, "Tools"):
//!
//! - no tools, or `tool_choice` none → no call;
//! - `required`/`any` or a named tool → always a call (the named tool, else the first);
//! - `auto` → a call when the conversation ends with the user's turn, and text when it ends with tool
//!   results (the model answers from them);
//! - `[[sim: tool_calls=N]]` makes N calls (tools in order, cycling) unless parallel calls are disabled;
//! - arguments fill every property of the tool's schema: strings `"sim"`, numbers `1`, booleans `true`,
//!   arrays `[]`, objects `{}`;
//! - each call costs [`TOKENS_PER_CALL`] completion tokens and no text is generated alongside.

use serde_json::{json, Map, Value};

pub const TOKENS_PER_CALL: u64 = 8;

/// How the model may use the tools.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Choice {
    #[default]
    Auto,
    None,
    Required,
    Named(String),
}

/// A tool the request offers: its name and argument schema.
#[derive(Clone, Debug, PartialEq)]
pub struct Tool {
    pub name: String,
    pub schema: Value,
}

/// One call the model makes.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    pub name: String,
    /// A JSON object.
    pub arguments: Value,
}

/// What a request offers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Offer {
    pub tools: Vec<Tool>,
    pub choice: Choice,
    /// False when the caller disabled parallel calls.
    pub parallel: bool,
}

impl Offer {
    /// The calls for a conversation that ends with tool results (`after_results`) or not, when the
    /// directive asked for `wanted` calls (default 1).
    pub fn calls(&self, after_results: bool, wanted: Option<u64>) -> Vec<Call> {
        let first = match &self.choice {
            Choice::None => return Vec::new(),
            Choice::Auto if after_results => return Vec::new(),
            Choice::Named(name) => self.tools.iter().position(|t| &t.name == name),
            Choice::Auto | Choice::Required => Some(0),
        };
        let Some(first) = first.filter(|_| !self.tools.is_empty()) else {
            return Vec::new();
        };
        let count = if self.parallel {
            wanted.unwrap_or(1).clamp(1, 16)
        } else {
            1
        };
        (0..count)
            .filter_map(|i| {
                let at = (first + usize::try_from(i).unwrap_or(0)) % self.tools.len();
                self.tools.get(at)
            })
            .map(|tool| Call {
                name: tool.name.clone(),
                arguments: arguments(&tool.schema),
            })
            .collect()
    }
}

/// Arguments that fill every property of `schema`.
pub fn arguments(schema: &Value) -> Value {
    let mut out = Map::new();
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let value = match property.get("type").and_then(Value::as_str) {
                Some("string") => json!("sim"),
                Some("integer" | "number") => json!(1),
                Some("boolean") => json!(true),
                Some("array") => json!([]),
                _ => json!({}),
            };
            out.insert(name.clone(), value);
        }
    }
    Value::Object(out)
}

/// `text` in two pieces at a character boundary near its middle (how a stream sends arguments).
pub fn halves(text: &str) -> (&str, &str) {
    let mut at = text.len() / 2;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    text.split_at(at)
}

/// The id of the `index`-th call of the answer `answer_id` (`chatcmpl-sim…`, `msg_sim…`), with the
/// provider's prefix (`call_`, `toolu_`).
pub fn call_id(prefix: &str, answer_id: &str, index: usize) -> String {
    let tail: String = answer_id
        .chars()
        .rev()
        .take(12)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}sim{tail}{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(choice: Choice, parallel: bool) -> Offer {
        Offer {
            tools: vec![
                Tool {
                    name: "weather".into(),
                    schema: json!({"type": "object", "properties": {
                        "city": {"type": "string"}, "days": {"type": "integer"}, "metric": {"type": "boolean"}}}),
                },
                Tool {
                    name: "time".into(),
                    schema: json!({"type": "object"}),
                },
            ],
            choice,
            parallel,
        }
    }

    #[test]
    fn auto_calls_on_a_user_turn_and_answers_after_results() {
        let calls = offer(Choice::Auto, true).calls(false, None);
        assert_eq!(
            calls,
            [Call {
                name: "weather".into(),
                arguments: json!({"city": "sim", "days": 1, "metric": true})
            }]
        );
        assert!(offer(Choice::Auto, true).calls(true, None).is_empty());
        assert!(offer(Choice::None, true).calls(false, None).is_empty());
        assert!(Offer::default().calls(false, None).is_empty());
    }

    #[test]
    fn forced_and_named_choices_always_call() {
        assert_eq!(offer(Choice::Required, true).calls(true, None).len(), 1);
        let named = offer(Choice::Named("time".into()), true).calls(true, None);
        assert_eq!(named[0].name, "time");
        assert_eq!(named[0].arguments, json!({}));
    }

    #[test]
    fn several_calls_unless_parallel_is_disabled() {
        let names = |o: Offer| -> Vec<String> {
            o.calls(false, Some(3))
                .into_iter()
                .map(|c| c.name)
                .collect()
        };
        assert_eq!(
            names(offer(Choice::Auto, true)),
            ["weather", "time", "weather"]
        );
        assert_eq!(names(offer(Choice::Auto, false)), ["weather"]);
    }

    #[test]
    fn halves_split_at_a_character_boundary() {
        assert_eq!(halves("{\"é\":1}"), ("{\"é", "\":1}"));
        assert_eq!(halves("éé"), ("é", "é"));
        assert_eq!(halves("aé"), ("a", "é"));
        assert_eq!(halves(""), ("", ""));
    }

    #[test]
    fn call_ids_are_stable_per_answer() {
        assert_eq!(
            call_id("call_", "chatcmpl-sim0123456789abcdef", 1),
            "call_sim456789abcdef1"
        );
    }
}
