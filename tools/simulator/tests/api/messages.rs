//! `POST /v1/messages`.

use serde_json::{json, Value};

use crate::support::{drain, events, json, user, Sim};

#[tokio::test]
async fn answers_a_message_with_counted_tokens() {
    let sim = Sim::start().await;
    let request = json!({
        "model": "claude-sonnet-4",
        "max_tokens": 100,
        "system": [{ "type": "text", "text": "Be kind." }],
        "messages": [
            { "role": "user", "content": "hello there" },
            { "role": "assistant", "content": [{ "type": "text", "text": "hi" }] },
            { "role": "user", "content": "again [[sim: tokens=4]]" }
        ]
    });
    let response = sim.anthropic(&request).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "claude-sonnet-4");
    assert!(body["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        body["content"],
        json!([{ "type": "text", "text": "alpha beta gamma delta" }])
    );
    assert_eq!(body["stop_reason"], "end_turn");
    assert!(body["stop_sequence"].is_null());
    // system (2+3) + (2+3) + (1+3) + (3+3) + 3
    assert_eq!(
        body["usage"],
        json!({ "input_tokens": 23, "output_tokens": 4 })
    );
}

#[tokio::test]
async fn max_tokens_stops_with_max_tokens() {
    let sim = Sim::start().await;
    let request = json!({ "model": "c", "max_tokens": 3, "messages": user("hi") });
    let body: Value = sim.anthropic(&request).await.json().await.unwrap();
    assert_eq!(body["content"][0]["text"], "alpha beta gamma");
    assert_eq!(body["stop_reason"], "max_tokens");
    assert_eq!(body["usage"]["output_tokens"], 3);
}

#[tokio::test]
async fn streams_the_full_event_sequence_with_split_usage() {
    let sim = Sim::start().await;
    let request = json!({
        "model": "claude-haiku",
        "max_tokens": 50,
        "stream": true,
        "system": "sys",
        "messages": user("stream it [[sim: tokens=3]]")
    });
    let response = sim.anthropic(&request).await;
    assert_eq!(response.status(), 200);
    let drained = drain(response).await;
    assert!(drained.complete);
    let events = events(&drained.text);
    let names: Vec<&str> = events.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    for (name, data) in &events {
        assert_eq!(
            json(data)["type"],
            name.as_str(),
            "data.type matches the event line"
        );
    }
    let start = json(&events[0].1);
    assert_eq!(start["message"]["model"], "claude-haiku");
    assert_eq!(start["message"]["content"], json!([]));
    // (1+3) + (4+3) + 3
    assert_eq!(start["message"]["usage"]["input_tokens"], 14);
    let text: String = events[3..6]
        .iter()
        .map(|(_, data)| json(data)["delta"]["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(text, "alpha beta gamma");
    assert_eq!(json(&events[3].1)["delta"]["type"], "text_delta");
    let delta = json(&events[7].1);
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(delta["usage"], json!({ "output_tokens": 3 }));
}

#[tokio::test]
async fn checks_headers_and_body_in_anthropic_shape() {
    let sim = Sim::start().await;
    let url = sim.url("/v1/messages");
    let request = json!({ "model": "c", "max_tokens": 5, "messages": user("hi") });

    let no_key = sim
        .http
        .post(&url)
        .header("anthropic-version", "2023-06-01")
        .json(&request);
    let bad_key = no_key
        .try_clone()
        .unwrap()
        .header("x-api-key", "sk-invalid");
    for builder in [no_key, bad_key] {
        let response = builder.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["type"], "error");
        assert_eq!(body["error"]["type"], "authentication_error");
    }

    let no_version = sim.http.post(&url).header("x-api-key", "k").json(&request);
    assert_eq!(no_version.send().await.unwrap().status(), 400);

    let response = sim
        .anthropic(&json!({ "model": "c", "messages": user("hi") }))
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("max_tokens"));
}
