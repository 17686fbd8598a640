//! The Responses API through the canonical request and back: what SDKs send, what they read.

use serde_json::{json, Value};

use super::*;
use crate::chat::{ChatResponse, Choice, Delta, FinishReason, Role, ToolCall, ToolChoice, Usage};

fn parse(body: Value) -> Result<crate::chat::ChatRequest, envelope::ApiError> {
    parse_request(body.to_string().as_bytes())
}

#[test]
fn a_string_input_with_instructions() {
    let req = parse(json!({"model": "m", "input": "hi", "instructions": "be brief",
                           "max_output_tokens": 50, "temperature": 0.5, "store": false, "stream": true}))
    .unwrap();
    assert_eq!(req.messages.len(), 2);
    assert_eq!(req.messages[0].role, Role::System);
    assert_eq!(req.messages[1].content.text(), "hi");
    assert_eq!(
        (req.max_tokens, req.temperature, req.stream),
        (Some(50), Some(0.5), true)
    );
}

#[test]
fn items_become_messages_tool_calls_and_tool_results() {
    let req = parse(json!({
        "model": "m",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "weather?"},
                                         {"type": "input_image", "image_url": "https://x/cat.png"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
            {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": "{\"city\":\"Rome\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
            {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "21C"}]},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Paris 18, Rome 21."}]},
        ],
        "tools": [{"type": "function", "name": "get_weather", "description": "now",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}, "strict": false}],
        "tool_choice": {"type": "function", "name": "get_weather"},
        "parallel_tool_calls": true,
        "text": {"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}}},
    }))
    .unwrap();
    let roles: Vec<Role> = req.messages.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [
            Role::User,
            Role::Assistant,
            Role::Tool,
            Role::Tool,
            Role::Assistant
        ]
    );
    assert_eq!(
        req.messages[1].tool_calls,
        [
            ToolCall {
                id: "call_1".into(),
                name: "get_weather".into(),
                arguments: "{\"city\":\"Paris\"}".into()
            },
            ToolCall {
                id: "call_2".into(),
                name: "get_weather".into(),
                arguments: "{\"city\":\"Rome\"}".into()
            },
        ]
    );
    assert_eq!(req.messages[3].tool_call_id.as_deref(), Some("call_2"));
    assert_eq!(req.messages[3].content.text(), "21C");
    assert_eq!(req.tools[0].name, "get_weather");
    assert_eq!(req.tools[0].strict, Some(false));
    assert_eq!(
        req.tool_choice,
        Some(ToolChoice::Named("get_weather".into()))
    );
    assert_eq!(
        req.extra["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}})
    );
    match &req.messages[0].content {
        crate::chat::Content::Parts(parts) => {
            assert_eq!(
                parts[1],
                json!({"type": "image_url", "image_url": {"url": "https://x/cat.png"}})
            )
        }
        other => panic!("parts expected: {other:?}"),
    }
}

#[test]
fn stateful_and_unknown_features_are_400_naming_the_field() {
    let param = |body: Value| parse(body).unwrap_err().param;
    let base = || json!({"model": "m", "input": "x"});
    let with = |key: &str, value: Value| {
        let mut b = base();
        b[key] = value;
        b
    };
    assert_eq!(
        param(with("previous_response_id", json!("resp_1"))).as_deref(),
        Some("previous_response_id")
    );
    assert_eq!(
        param(with("conversation", json!("conv_1"))).as_deref(),
        Some("conversation")
    );
    assert_eq!(
        param(with("background", json!(true))).as_deref(),
        Some("background")
    );
    assert_eq!(
        param(with("tools", json!([{"type": "web_search"}]))).as_deref(),
        Some("tools[0].type")
    );
    assert_eq!(
        param(with(
            "tools",
            json!([{"type": "function", "name": "bad name"}])
        ))
        .as_deref(),
        Some("tools[0].name")
    );
    assert_eq!(
        param(with(
            "input",
            json!([{"type": "item_reference", "id": "x"}])
        ))
        .as_deref(),
        Some("input[0].type")
    );
    assert_eq!(
        param(with("frequency_penalty", json!(1))).as_deref(),
        Some("frequency_penalty")
    );
    assert_eq!(param(json!({"model": "m"})).as_deref(), Some("input"));
    assert!(parse(with("metadata", json!({"a": "b"}))).is_ok());
}

fn answer(text: &str, calls: Vec<ToolCall>, finish: FinishReason) -> ChatResponse {
    ChatResponse {
        id: "resp_abc".into(),
        model: "up".into(),
        created: 1,
        choices: vec![Choice {
            index: 0,
            text: text.into(),
            tool_calls: calls,
            finish_reason: finish,
        }],
        usage: Usage {
            prompt_tokens: 9,
            completion_tokens: 4,
        },
    }
}

#[test]
fn whole_responses_render_text_calls_and_incomplete() {
    let body = render_response(&answer("Hello", vec![], FinishReason::Stop), "alias", 7);
    assert_eq!(body["object"], "response");
    assert_eq!(
        (body["id"].as_str(), body["status"].as_str()),
        (Some("resp_abc"), Some("completed"))
    );
    assert_eq!(
        body["output"][0]["content"][0],
        json!({"type": "output_text", "text": "Hello", "annotations": []})
    );
    assert_eq!(body["usage"]["input_tokens"], 9);
    assert_eq!(body["usage"]["total_tokens"], 13);
    let call = ToolCall {
        id: "call_1".into(),
        name: "f".into(),
        arguments: "{}".into(),
    };
    let body = render_response(&answer("", vec![call], FinishReason::ToolCalls), "alias", 7);
    assert_eq!(body["output"].as_array().unwrap().len(), 1);
    assert_eq!(body["output"][0]["type"], "function_call");
    assert_eq!(body["output"][0]["call_id"], "call_1");
    let body = render_response(&answer("cut", vec![], FinishReason::Length), "alias", 7);
    assert_eq!(body["status"], "incomplete");
    assert_eq!(
        body["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
}

fn events(frames: &[String]) -> Vec<(String, Value)> {
    let joined: String = frames.concat();
    sse::Decoder::new()
        .feed(joined.as_bytes())
        .unwrap()
        .into_iter()
        .map(|e| (e.event.unwrap(), serde_json::from_str(&e.data).unwrap()))
        .collect()
}

#[test]
fn streams_text_then_a_call_with_sequence_numbers() {
    let mut encoder = ResponseEncoder::new("resp_abc", "alias", 7);
    let deltas = [
        Delta::Start {
            id: "x".into(),
            model: "up".into(),
        },
        Delta::Text("Hel".into()),
        Delta::Text("lo".into()),
        Delta::ToolCall {
            index: 0,
            id: "call_1".into(),
            name: "f".into(),
        },
        Delta::ToolArgs {
            index: 0,
            fragment: "{\"a\":".into(),
        },
        Delta::ToolArgs {
            index: 0,
            fragment: "1}".into(),
        },
        Delta::Finish(FinishReason::ToolCalls),
        Delta::Usage(Usage {
            prompt_tokens: 9,
            completion_tokens: 4,
        }),
    ];
    let mut frames: Vec<String> = deltas.iter().flat_map(|d| encoder.encode(d)).collect();
    frames.extend(encoder.finish());
    let events = events(&frames);
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    for (i, (name, payload)) in events.iter().enumerate() {
        assert_eq!(payload["type"], name.as_str());
        assert_eq!(payload["sequence_number"], i as u64);
    }
    assert_eq!(events[6].1["text"], "Hello");
    assert_eq!(events[12].1["arguments"], "{\"a\":1}");
    let done = &events[14].1["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(done["output"][0]["content"][0]["text"], "Hello");
    assert_eq!(done["output"][1]["arguments"], "{\"a\":1}");
    assert_eq!(done["output"][1]["id"], events[9].1["item"]["id"]);
    assert_eq!(done["usage"]["output_tokens"], 4);
    // The same response whole: the same item ids.
    let call = ToolCall {
        id: "call_1".into(),
        name: "f".into(),
        arguments: "{\"a\":1}".into(),
    };
    let whole = render_response(
        &answer("Hello", vec![call], FinishReason::ToolCalls),
        "alias",
        7,
    );
    assert_eq!(whole["output"], done["output"]);
}

#[test]
fn a_cut_stream_ends_with_an_error_event_and_an_empty_one_with_an_empty_message() {
    let mut encoder = ResponseEncoder::new("resp_abc", "alias", 7);
    let frames = encoder.encode(&Delta::Text("partial".into()));
    let error = envelope::ApiError::upstream("the upstream stream was cut");
    let frame = encoder.error_frame(&error, "req_1");
    let last = events(&[frame]);
    assert_eq!(last[0].0, "error");
    assert_eq!(last[0].1["code"], "upstream_error");
    assert_eq!(last[0].1["sequence_number"], events(&frames).len() as u64);
    let mut empty = ResponseEncoder::new("resp_x", "alias", 7);
    let events = events(&empty.finish());
    let done = &events.last().unwrap().1["response"];
    assert_eq!(done["output"][0]["content"][0]["text"], "");
}
