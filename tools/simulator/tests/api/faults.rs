//! `[[sim: ...]]` fault directives, and `GET /_sim/attempts/<key>`.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{drain, events, json, user, Sim};

fn chat(prompt: &str) -> Value {
    json!({ "model": "m", "max_tokens": 64, "messages": user(prompt) })
}

fn streamed(prompt: &str) -> Value {
    json!({ "model": "m", "max_tokens": 64, "stream": true, "messages": user(prompt) })
}

#[tokio::test]
async fn status_429_carries_retry_after_in_each_provider_shape() {
    let sim = Sim::start().await;
    let prompt = "hi [[sim: status=429, retry_after=7]]";

    let response = sim.openai(&chat(prompt)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert!(body["error"]["param"].is_null() && body["error"]["message"].is_string());

    let response = sim.anthropic(&chat(prompt)).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "rate_limit_error");

    let response = sim.anthropic(&chat("[[sim: status=529]]")).await;
    assert_eq!(response.status().as_u16(), 529);
    assert!(response.headers().get("retry-after").is_none());
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn times_fails_only_the_first_attempts_and_counts_them() {
    let sim = Sim::start().await;
    let request = chat("retry me [[sim: status=500, times=1, key=k]]");
    assert_eq!(sim.attempts("k").await, 0);
    assert_eq!(sim.openai(&request).await.status(), 500);
    let second = sim.openai(&request).await;
    assert_eq!(second.status(), 200);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(sim.attempts("k").await, 2);
    assert_eq!(sim.attempts("other").await, 0);
}

#[tokio::test]
async fn without_times_every_attempt_fails() {
    let sim = Sim::start().await;
    let request = chat("[[sim: status=503, key=always]]");
    for _ in 0..3 {
        assert_eq!(sim.anthropic(&request).await.status(), 503);
    }
    assert_eq!(sim.attempts("always").await, 3);
}

#[tokio::test]
async fn cut_after_closes_an_openai_stream_mid_way() {
    let sim = Sim::start().await;
    let response = sim
        .openai(&streamed("[[sim: cut_after=2, tokens=10]]"))
        .await;
    assert_eq!(response.status(), 200);
    let drained = drain(response).await;
    assert!(!drained.complete, "the connection is cut, not ended");
    let events = events(&drained.text);
    assert_eq!(events.len(), 1 + 2, "role chunk and two content deltas");
    assert!(events.iter().all(|(_, data)| data != "[DONE]"));
    assert!(events
        .iter()
        .all(|(_, data)| json(data)["choices"][0]["finish_reason"].is_null()));

    // The server stays healthy for the next request.
    assert_eq!(sim.openai(&chat("after")).await.status(), 200);
}

#[tokio::test]
async fn cut_after_closes_an_anthropic_stream_after_message_start() {
    let sim = Sim::start().await;
    let drained = drain(sim.anthropic(&streamed("[[sim: cut_after=1]]")).await).await;
    assert!(!drained.complete);
    let names: Vec<String> = events(&drained.text)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    assert_eq!(
        names,
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta"
        ]
    );
}

#[tokio::test]
async fn cut_after_truncates_a_whole_body_below_its_content_length() {
    let sim = Sim::start().await;
    let response = sim.openai(&chat("[[sim: cut_after=1]]")).await;
    assert_eq!(response.status(), 200);
    let promised: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let drained = drain(response).await;
    assert!(!drained.complete);
    assert!(drained.text.len() < promised);
}

#[tokio::test]
async fn malformed_breaks_the_json() {
    let sim = Sim::start().await;
    let response = sim.anthropic(&chat("[[sim: malformed=1]]")).await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());

    let drained = drain(
        sim.openai(&streamed("[[sim: malformed=1, tokens=3]]"))
            .await,
    )
    .await;
    assert!(drained.complete);
    let events = events(&drained.text);
    let broken = events
        .iter()
        .filter(|(_, data)| data != "[DONE]" && serde_json::from_str::<Value>(data).is_err())
        .count();
    assert_eq!(broken, 1);
}

#[tokio::test]
async fn content_policy_is_a_400_naming_the_policy() {
    let sim = Sim::start().await;
    let response = sim.openai(&chat("[[sim: content_policy=1]]")).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "content_policy_violation");

    let response = sim.anthropic(&chat("[[sim: content_policy=1]]")).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("policy"));
}

#[tokio::test]
async fn delays_the_answer_and_paces_the_stream() {
    let sim = Sim::start().await;
    let started = Instant::now();
    assert_eq!(
        sim.openai(&chat("[[sim: delay_ms=150]]")).await.status(),
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(150));

    let started = Instant::now();
    let drained = drain(
        sim.anthropic(&streamed("[[sim: chunk_delay_ms=20, tokens=3]]"))
            .await,
    )
    .await;
    assert!(drained.complete);
    // Nine events, so eight gaps.
    assert!(started.elapsed() >= Duration::from_millis(8 * 20));
}
