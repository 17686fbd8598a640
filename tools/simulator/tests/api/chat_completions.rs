//! `POST /v1/chat/completions`.

use serde_json::{json, Value};

use crate::support::{drain, events, json, user, Sim};

#[tokio::test]
async fn answers_a_completion_with_counted_tokens() {
    let sim = Sim::start().await;
    let request = json!({
        "model": "gpt-4o-mini",
        "messages": [
            { "role": "system", "content": "You are terse." },
            { "role": "user", "content": [{ "type": "text", "text": "Say" }, { "type": "text", "text": "hi please" }] }
        ]
    });
    let response = sim.openai(&request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "gpt-4o-mini");
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    let choice = &body["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    let content = choice["message"]["content"].as_str().unwrap();
    assert!(content.starts_with("alpha beta gamma"));
    assert_eq!(content.split_whitespace().count(), 16);
    assert_eq!(choice["finish_reason"], "stop");
    // (3 words + 3) + (3 words + 3) + 3
    assert_eq!(
        body["usage"],
        json!({ "prompt_tokens": 15, "completion_tokens": 16, "total_tokens": 31 })
    );

    let again: Value = sim.openai(&request).await.json().await.unwrap();
    assert_eq!(again["id"], body["id"], "ids are deterministic per request");
    assert_eq!(again["choices"], body["choices"]);
}

#[tokio::test]
async fn max_tokens_cuts_the_reply_with_finish_reason_length() {
    let sim = Sim::start().await;
    let request =
        json!({ "model": "m", "max_tokens": 5, "messages": user("go [[sim: tokens=40]]") });
    let body: Value = sim.openai(&request).await.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "alpha beta gamma delta epsilon"
    );
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    assert_eq!(body["usage"]["completion_tokens"], 5);

    let request = json!({ "model": "m", "messages": user("go [[sim: tokens=40]]") });
    let body: Value = sim.openai(&request).await.json().await.unwrap();
    assert_eq!(body["usage"]["completion_tokens"], 40);
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
}

#[tokio::test]
async fn streams_chunks_then_usage_then_done() {
    let sim = Sim::start().await;
    let request = json!({
        "model": "gpt-4o",
        "stream": true,
        "stream_options": { "include_usage": true },
        "messages": user("hello [[sim: tokens=3]]")
    });
    let response = sim.openai(&request).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let drained = drain(response).await;
    assert!(drained.complete);
    let events = events(&drained.text);
    assert_eq!(events.len(), 1 + 3 + 1 + 1 + 1);
    assert!(
        events.iter().all(|(name, _)| name.is_empty()),
        "OpenAI sends no event: lines"
    );
    let (last, chunks) = events.split_last().unwrap();
    assert_eq!(last.1, "[DONE]");
    let chunks: Vec<Value> = chunks.iter().map(|(_, data)| json(data)).collect();

    let first = &chunks[0];
    assert_eq!(first["object"], "chat.completion.chunk");
    assert_eq!(first["model"], "gpt-4o");
    assert_eq!(first["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks[1..4]
        .iter()
        .map(|c| c["choices"][0]["delta"]["content"].as_str().unwrap())
        .collect();
    assert_eq!(text, "alpha beta gamma");
    assert_eq!(chunks[4]["choices"][0]["finish_reason"], "stop");
    assert!(chunks[..5]
        .iter()
        .all(|c| c["usage"].is_null() && c.get("usage").is_some()));
    assert!(chunks.iter().all(|c| c["id"] == first["id"]));

    let usage_chunk = &chunks[5];
    assert_eq!(usage_chunk["choices"], json!([]));
    // "hello", "[[sim:", "tokens=3]]": 3 words + 3 + 3
    assert_eq!(
        usage_chunk["usage"],
        json!({ "prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12 })
    );
}

#[tokio::test]
async fn streams_without_usage_unless_asked() {
    let sim = Sim::start().await;
    let request = json!({ "model": "m", "stream": true, "messages": user("hi [[sim: tokens=2]]") });
    let drained = drain(sim.openai(&request).await).await;
    let events = events(&drained.text);
    assert_eq!(events.len(), 1 + 2 + 1 + 1);
    assert_eq!(events.last().unwrap().1, "[DONE]");
    assert!(events[..4]
        .iter()
        .all(|(_, data)| json(data).get("usage").is_none()));
}

#[tokio::test]
async fn rejects_missing_and_invalid_keys_in_openai_shape() {
    let sim = Sim::start().await;
    let request = json!({ "model": "m", "messages": user("hi") });
    let url = sim.url("/v1/chat/completions");
    for response in [
        sim.http.post(&url).json(&request).send().await.unwrap(),
        sim.http
            .post(&url)
            .bearer_auth("sk-invalid")
            .json(&request)
            .send()
            .await
            .unwrap(),
    ] {
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        let error = &body["error"];
        assert_eq!(error["type"], "invalid_request_error");
        assert_eq!(error["code"], "invalid_api_key");
        assert!(error["message"].is_string() && error["param"].is_null());
    }
}

#[tokio::test]
async fn rejects_requests_without_a_model() {
    let sim = Sim::start().await;
    let response = sim.openai(&json!({ "messages": user("hi") })).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(body["error"]["param"], "model");
}
