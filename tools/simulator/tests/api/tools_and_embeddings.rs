//! Tool calls in both wire formats (whole and streamed), the tool-turn validation of the real APIs,
//! `POST /v1/embeddings`, and `GET /_sim/requests/<key>`.

use serde_json::{json, Value};

use crate::support::{drain, events, json, Sim};

fn weather_tool_openai() -> Value {
    json!([{"type": "function", "function": {"name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}}])
}

fn weather_tool_anthropic() -> Value {
    json!([{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}])
}

#[tokio::test]
async fn openai_calls_the_tool_then_answers_its_result() {
    let sim = Sim::start().await;
    let request = json!({"model": "m", "tools": weather_tool_openai(),
                         "messages": [{"role": "user", "content": "weather? [[sim: key=oa-tools]]"}]});
    let body: Value = sim.openai(&request).await.json().await.unwrap();
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], Value::Null);
    let call = &message["tool_calls"][0];
    assert_eq!(call["type"], "function");
    assert_eq!(call["function"]["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(call["function"]["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "sim", "days": 1})
    );
    assert!(call["id"].as_str().unwrap().starts_with("call_sim"));
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(body["usage"]["completion_tokens"], 8);

    let answered = json!({"model": "m", "tools": weather_tool_openai(), "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": null, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call["id"], "content": "18 degrees"},
    ]});
    let body: Value = sim.openai(&answered).await.json().await.unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .starts_with("alpha"));

    // A tool message that answers no call is refused, as OpenAI refuses it.
    let orphan = json!({"model": "m", "messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]});
    let response = sim.openai(&orphan).await;
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"]["param"], "messages[0].role");

    let last: Value = reqwest::get(sim.url("/_sim/requests/oa-tools"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(last["last"]["tools"], weather_tool_openai());
    assert_eq!(
        reqwest::get(sim.url("/_sim/requests/never"))
            .await
            .unwrap()
            .status(),
        404
    );
}

#[tokio::test]
async fn openai_streams_calls_as_id_name_then_argument_fragments() {
    let sim = Sim::start().await;
    let request = json!({"model": "m", "stream": true, "tools": weather_tool_openai(),
                         "tool_choice": "required", "parallel_tool_calls": true,
                         "messages": [{"role": "user", "content": "two [[sim: tool_calls=2]]"}]});
    let text = drain(sim.openai(&request).await).await.text;
    let chunks: Vec<Value> = events(&text)
        .into_iter()
        .filter(|(_, data)| data != "[DONE]")
        .map(|(_, data)| json(&data))
        .collect();
    let deltas: Vec<&Value> = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"].get("tool_calls"))
        .collect();
    assert_eq!(
        deltas.len(),
        6,
        "per call: an opening delta and two fragments"
    );
    for index in 0..2 {
        let of_call: Vec<&Value> = deltas
            .iter()
            .map(|d| &d[0])
            .filter(|d| d["index"] == index)
            .collect();
        assert!(of_call[0]["id"].as_str().unwrap().starts_with("call_sim"));
        let arguments: String = of_call
            .iter()
            .filter_map(|d| d["function"]["arguments"].as_str())
            .collect();
        assert_eq!(
            serde_json::from_str::<Value>(&arguments).unwrap(),
            json!({"city": "sim", "days": 1})
        );
    }
    assert!(chunks
        .iter()
        .any(|c| c["choices"][0]["finish_reason"] == "tool_calls"));
}

#[tokio::test]
async fn anthropic_calls_the_tool_and_validates_tool_turns() {
    let sim = Sim::start().await;
    let request = json!({"model": "c", "max_tokens": 50, "tools": weather_tool_anthropic(),
                         "tool_choice": {"type": "any"},
                         "messages": [{"role": "user", "content": "weather?"}]});
    let body: Value = sim.anthropic(&request).await.json().await.unwrap();
    assert_eq!(body["stop_reason"], "tool_use");
    let block = &body["content"][0];
    assert_eq!(block["type"], "tool_use");
    assert_eq!(block["input"], json!({"city": "sim"}));
    let id = block["id"].as_str().unwrap();
    assert!(id.starts_with("toolu_sim"));

    let answered = |content: Value, tools: bool| {
        let mut body = json!({"model": "c", "max_tokens": 50, "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": [block]},
            {"role": "user", "content": content},
        ]});
        if tools {
            body["tools"] = weather_tool_anthropic();
        }
        body
    };
    let ok = answered(
        json!([{"type": "tool_result", "tool_use_id": id, "content": "18"}]),
        true,
    );
    let body: Value = sim.anthropic(&ok).await.json().await.unwrap();
    assert_eq!(body["stop_reason"], "end_turn");
    for refused in [
        answered(
            json!([{"type": "tool_result", "tool_use_id": id, "content": "18"}]),
            false,
        ),
        answered(
            json!([{"type": "tool_result", "tool_use_id": "toolu_other", "content": "18"}]),
            true,
        ),
        answered(
            json!([{"type": "text", "text": "first"}, {"type": "tool_result", "tool_use_id": id}]),
            true,
        ),
    ] {
        assert_eq!(sim.anthropic(&refused).await.status(), 400, "{refused}");
    }

    let mut streamed = request.clone();
    streamed["stream"] = json!(true);
    let text = drain(sim.anthropic(&streamed).await).await.text;
    let events = events(&text);
    let start = events
        .iter()
        .find(|(name, _)| name == "content_block_start")
        .map(|(_, data)| json(data))
        .unwrap();
    assert_eq!(start["content_block"]["type"], "tool_use");
    let input: String = events
        .iter()
        .map(|(_, data)| json(data))
        .filter(|e| e["delta"]["type"] == "input_json_delta")
        .filter_map(|e| e["delta"]["partial_json"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        serde_json::from_str::<Value>(&input).unwrap(),
        json!({"city": "sim"})
    );
}

async fn embed(sim: &Sim, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(sim.url("/v1/embeddings"))
        .bearer_auth("sk-test")
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn embeddings_are_deterministic_unit_vectors() {
    let sim = Sim::start().await;
    let body: Value = embed(&sim, json!({"model": "e", "input": ["one two", "three"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["object"], "list");
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 3, "total_tokens": 3})
    );
    let first: Vec<f64> = serde_json::from_value(body["data"][0]["embedding"].clone()).unwrap();
    assert_eq!(first.len(), 8);
    assert!((first.iter().map(|x| x * x).sum::<f64>().sqrt() - 1.0).abs() < 1e-5);
    let again: Value = embed(
        &sim,
        json!({"model": "e", "input": "one two", "dimensions": 8}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(again["data"][0]["embedding"], body["data"][0]["embedding"]);
    let b64: Value = embed(
        &sim,
        json!({"model": "e", "input": "one two", "encoding_format": "base64"}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(b64["data"][0]["embedding"].is_string());
    assert_eq!(
        embed(&sim, json!({"model": "e", "input": []}))
            .await
            .status(),
        400
    );
    let failed = embed(
        &sim,
        json!({"model": "e", "input": "x [[sim: status=503]]"}),
    )
    .await;
    assert_eq!(failed.status(), 503);
}
