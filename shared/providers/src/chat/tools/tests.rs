//! Tool calling translated both ways: requests (definitions, choices, history), complete answers and
//! streams, between the OpenAI and Anthropic wire formats.

use serde_json::{json, Value};

use crate::chat::{ChatResponse, Choice, Delta, FinishReason, Usage};
use crate::upstream::{build_request, parse_response, Credentials, ProviderKind, StreamDecoder};
use crate::{anthropic, openai};

const CREDS: Credentials = Credentials {
    api_key: "sk-test",
    base_url: None,
};

fn upstream_body(kind: ProviderKind, req: &crate::chat::ChatRequest) -> Value {
    let http = build_request(kind, req, "up-model", &CREDS).unwrap();
    serde_json::from_slice(&http.body).unwrap()
}

fn weather_schema() -> Value {
    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
}

#[test]
fn openai_tools_and_history_become_anthropic_tools_tool_use_and_tool_result() {
    let req = openai::parse_request(
        json!({
            "model": "m",
            "messages": [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "weather in Paris and Rome?"},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}},
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "21C"}]},
                {"role": "user", "content": "thanks"},
            ],
            "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather now", "parameters": weather_schema(), "strict": true}}],
            "tool_choice": {"type": "function", "function": {"name": "weather"}},
            "parallel_tool_calls": false,
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let body = upstream_body(ProviderKind::Anthropic, &req);
    assert_eq!(
        body["tools"],
        json!([{"name": "weather", "description": "Weather now", "input_schema": weather_schema()}])
    );
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "weather", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        body["messages"],
        json!([
            {"role": "user", "content": "weather in Paris and Rome?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "call_2", "name": "weather", "input": {"city": "Rome"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "18C"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "21C"},
                {"type": "text", "text": "thanks"},
            ]},
        ])
    );
    // To an OpenAI upstream the same request goes as it came.
    let body = upstream_body(ProviderKind::OpenAi, &req);
    assert_eq!(
        body["tool_choice"],
        json!({"type": "function", "function": {"name": "weather"}})
    );
    assert_eq!(body["parallel_tool_calls"], json!(false));
    assert_eq!(body["tools"][0]["function"]["strict"], json!(true));
    assert_eq!(
        body["messages"][2]["tool_calls"][1]["function"]["arguments"],
        "{\"city\":\"Rome\"}"
    );
    assert_eq!(
        body["messages"][3],
        json!({"role": "tool", "tool_call_id": "call_1", "content": "18C"})
    );
}

#[test]
fn anthropic_tools_and_history_become_openai_tools_tool_calls_and_tool_messages() {
    let req = anthropic::parse_request(
        json!({
            "model": "m",
            "max_tokens": 100,
            "system": "be brief",
            "messages": [
                {"role": "user", "content": "weather in Paris?"},
                {"role": "assistant", "content": [
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}]},
                    {"type": "text", "text": "and tomorrow?"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
                ]},
            ],
            "tools": [{"name": "weather", "description": "Weather now", "input_schema": weather_schema(), "cache_control": {"type": "ephemeral"}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let body = upstream_body(ProviderKind::OpenAi, &req);
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {"name": "weather", "description": "Weather now", "parameters": weather_schema()}}])
    );
    assert_eq!(body["tool_choice"], "required");
    assert_eq!(body["parallel_tool_calls"], false);
    assert_eq!(
        body["messages"],
        json!([
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "weather in Paris?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
            ]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
            {"role": "user", "content": [
                {"type": "text", "text": "and tomorrow?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
            ]},
        ])
    );
    // And back to Anthropic, the history is what the client sent.
    let body = upstream_body(ProviderKind::Anthropic, &req);
    assert_eq!(
        body["tool_choice"],
        json!({"type": "any", "disable_parallel_tool_use": true})
    );
    assert_eq!(
        body["messages"][2]["content"][0],
        json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"})
    );
    assert_eq!(
        body["messages"][2]["content"][2]["source"],
        json!({"type": "base64", "media_type": "image/png", "data": "iVBOR"})
    );
}

#[test]
fn bad_tool_requests_name_the_field() {
    let openai_err = |body: Value| openai::parse_request(body.to_string().as_bytes()).unwrap_err();
    let base = || json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
    let mut body = base();
    body["tool_choice"] = json!({"type": "function", "function": {"name": "nope"}});
    body["tools"] = json!([{"type": "function", "function": {"name": "f"}}]);
    assert_eq!(openai_err(body).param.as_deref(), Some("tool_choice"));
    let mut body = base();
    body["tools"] = json!([{"type": "function", "function": {"name": "bad name"}}]);
    assert_eq!(
        openai_err(body).param.as_deref(),
        Some("tools[0].function.name")
    );
    let mut body = base();
    body["tools"] = json!([{"type": "web_search"}]);
    let err = openai_err(body);
    assert_eq!(
        (&*err.code, err.param.as_deref()),
        ("unsupported_field", Some("tools[0].type"))
    );
    let mut body = base();
    body["tool_choice"] = json!("required");
    assert_eq!(openai_err(body).param.as_deref(), Some("tool_choice"));
    let mut body = base();
    body["messages"] = json!([{"role": "tool", "content": "42"}]);
    assert_eq!(
        openai_err(body).param.as_deref(),
        Some("messages[0].tool_call_id")
    );

    let anthropic_err =
        |body: Value| anthropic::parse_request(body.to_string().as_bytes()).unwrap_err();
    let base =
        || json!({"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]});
    let mut body = base();
    body["tools"] = json!([{"type": "web_search_20250305", "name": "web_search"}]);
    assert_eq!(anthropic_err(body).code, "unsupported_field");
    let mut body = base();
    body["tools"] = json!([{"name": "f"}]);
    assert_eq!(
        anthropic_err(body).param.as_deref(),
        Some("tools[0].input_schema")
    );
    let mut body = base();
    body["messages"] =
        json!([{"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]);
    assert_eq!(
        anthropic_err(body).param.as_deref(),
        Some("messages[0].content[0].type")
    );
}

fn response_with_calls(text: &str) -> ChatResponse {
    ChatResponse {
        id: "id_1".into(),
        model: "m".into(),
        created: 1,
        choices: vec![Choice {
            index: 0,
            text: text.into(),
            tool_calls: vec![crate::chat::ToolCall {
                id: "call_9".into(),
                name: "weather".into(),
                arguments: "{\"city\":\"Paris\"}".into(),
            }],
            finish_reason: FinishReason::ToolCalls,
        }],
        usage: Usage {
            prompt_tokens: 10,
            completion_tokens: 5,
        },
    }
}

#[test]
fn answers_with_tool_calls_read_and_render_in_both_formats() {
    let from_anthropic = parse_response(
        ProviderKind::Anthropic,
        200,
        json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
            "content": [{"type": "tool_use", "id": "call_9", "name": "weather", "input": {"city": "Paris"}}],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 5},
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let mut expected = response_with_calls("");
    expected.id = "msg_1".into();
    expected.model = "claude".into();
    expected.created = 0;
    assert_eq!(from_anthropic, expected);
    let rendered = openai::render_response(&from_anthropic, "alias");
    assert_eq!(
        rendered["choices"][0]["message"],
        json!({"role": "assistant", "content": null, "refusal": null, "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
        ]})
    );
    assert_eq!(rendered["choices"][0]["finish_reason"], "tool_calls");

    let from_openai = parse_response(
        ProviderKind::OpenAi,
        200,
        json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": "Let me look.", "tool_calls": [
                    {"id": "call_9", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                ]}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let mut expected = response_with_calls("Let me look.");
    expected.id = "chatcmpl-1".into();
    assert_eq!(from_openai, expected);
    let rendered = anthropic::render_response(&from_openai, "alias");
    assert_eq!(
        rendered["content"],
        json!([
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "call_9", "name": "weather", "input": {"city": "Paris"}},
        ])
    );
    assert_eq!(rendered["stop_reason"], "tool_use");
}

fn decode(kind: ProviderKind, sse: &str) -> Vec<Delta> {
    let mut decoder = StreamDecoder::new(kind);
    let mut deltas = decoder.feed(sse.as_bytes()).unwrap();
    deltas.extend(decoder.finish().unwrap());
    deltas
}

fn sse_data(values: &[Value]) -> String {
    let mut out: String = values.iter().map(|v| format!("data: {v}\n\n")).collect();
    out.push_str("data: [DONE]\n\n");
    out
}

#[test]
fn streamed_tool_calls_cross_formats() {
    let openai_stream = sse_data(&[
        json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant", "content": null}}]}),
        json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "weather", "arguments": ""}}]}}]}),
        json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]}}]}),
        json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]}}]}),
        json!({"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
        json!({"id": "c1", "model": "m", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}),
    ]);
    let deltas = decode(ProviderKind::OpenAi, &openai_stream);
    assert!(deltas.contains(&Delta::ToolCall {
        index: 0,
        id: "call_1".into(),
        name: "weather".into()
    }));
    let mut encoder = anthropic::EventEncoder::new("msg_x", "alias");
    let mut out: String = deltas.iter().flat_map(|d| encoder.encode(d)).collect();
    out.extend(encoder.finish());
    let events: Vec<(String, Value)> = sse::Decoder::new()
        .feed(out.as_bytes())
        .unwrap()
        .into_iter()
        .map(|e| {
            (
                e.event.unwrap_or_default(),
                serde_json::from_str(&e.data).unwrap(),
            )
        })
        .collect();
    let tool_start = events
        .iter()
        .find(|(name, v)| name == "content_block_start" && v["content_block"]["type"] == "tool_use")
        .unwrap();
    assert_eq!(
        tool_start.1,
        json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "call_1", "name": "weather", "input": {}}})
    );
    let json_text: String = events
        .iter()
        .filter(|(_, v)| v["delta"]["type"] == "input_json_delta" && v["index"] == 1)
        .filter_map(|(_, v)| v["delta"]["partial_json"].as_str())
        .collect();
    assert_eq!(json_text, "{\"city\":\"Paris\"}");
    let stops: Vec<&Value> = events
        .iter()
        .filter(|(name, _)| name == "content_block_stop")
        .map(|(_, v)| &v["index"])
        .collect();
    assert_eq!(stops, [&json!(0), &json!(1)]);
    let delta = events
        .iter()
        .find(|(name, _)| name == "message_delta")
        .unwrap();
    assert_eq!(delta.1["delta"]["stop_reason"], "tool_use");

    let anthropic_stream = [
        ("message_start", json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 9, "output_tokens": 1}}})),
        ("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
        ("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Looking."}})),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        ("content_block_start", json!({"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {}}})),
        ("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "{\"city\": "}})),
        ("content_block_delta", json!({"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": "\"Paris\"}"}})),
        ("content_block_stop", json!({"type": "content_block_stop", "index": 1})),
        ("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 12}})),
        ("message_stop", json!({"type": "message_stop"})),
    ]
    .iter()
    .map(|(name, v)| format!("event: {name}\ndata: {v}\n\n"))
    .collect::<String>();
    let deltas = decode(ProviderKind::Anthropic, &anthropic_stream);
    let mut encoder = openai::ChunkEncoder::new("chatcmpl-x", "alias", 1, true);
    let mut out: String = deltas.iter().flat_map(|d| encoder.encode(d)).collect();
    out.push_str(&encoder.done());
    let chunks: Vec<Value> = sse::Decoder::new()
        .feed(out.as_bytes())
        .unwrap()
        .into_iter()
        .filter(|e| e.data != "[DONE]")
        .map(|e| serde_json::from_str(&e.data).unwrap())
        .collect();
    let calls: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(
        calls[0],
        &json!([{"index": 0, "id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": ""}}])
    );
    let arguments: String = calls
        .iter()
        .filter_map(|c| c[0]["function"]["arguments"].as_str())
        .collect();
    assert_eq!(arguments, "{\"city\": \"Paris\"}");
    let finish = chunks
        .iter()
        .find_map(|c| c["choices"][0]["finish_reason"].as_str())
        .unwrap();
    assert_eq!(finish, "tool_calls");
    assert_eq!(chunks.last().unwrap()["usage"]["completion_tokens"], 12);
}
