//! `POST /v1/images/generations`, `POST /generate` (Ideogram legacy) and `GET /_sim/images/<id>.png`
//! with its expiring links. Ideogram 3.0 has its own module.

use base64::Engine as _;
use serde_json::{json, Value};

use crate::support::Sim;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

async fn fetch_png(sim: &Sim, url: &str) -> Vec<u8> {
    let response = sim.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/png");
    response.bytes().await.unwrap().to_vec()
}

#[tokio::test]
async fn openai_images_return_fetchable_pngs() {
    let sim = Sim::start().await;
    let request =
        json!({ "model": "dall-e-2", "prompt": "a lighthouse", "n": 2, "size": "1024x1024" });
    let response = sim
        .http
        .post(sim.url("/v1/images/generations"))
        .bearer_auth("sk-test")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["created"].is_u64());
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let url = data[0]["url"].as_str().unwrap();
    assert!(url.starts_with(&sim.base) && url.contains(".png?exp_ms="));
    assert_ne!(data[0]["url"], data[1]["url"]);
    let png = fetch_png(&sim, url).await;
    assert!(png.starts_with(PNG_SIGNATURE));
    assert_eq!(
        png,
        fetch_png(&sim, url).await,
        "the same id gives the same bytes"
    );
}

#[tokio::test]
async fn openai_images_inline_base64() {
    let sim = Sim::start().await;
    let request = json!({ "prompt": "a fox", "response_format": "b64_json" });
    let body: Value = sim
        .http
        .post(sim.url("/v1/images/generations"))
        .bearer_auth("sk-test")
        .json(&request)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let encoded = body["data"][0]["b64_json"].as_str().unwrap();
    let png = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap();
    assert!(png.starts_with(PNG_SIGNATURE));
}

#[tokio::test]
async fn ideogram_generate_returns_a_fetchable_png() {
    let sim = Sim::start().await;
    let request = json!({ "image_request": { "prompt": "a red bicycle", "aspect_ratio": "ASPECT_16_9", "model": "V_2" } });
    let response = sim
        .http
        .post(sim.url("/generate"))
        .header("Api-Key", "ideo-test")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["created"].as_str().unwrap().contains('T'));
    let image = &body["data"][0];
    assert_eq!(image["prompt"], "a red bicycle");
    assert_eq!(image["resolution"], "1312x736");
    assert_eq!(image["is_image_safe"], true);
    assert!(image["seed"].is_u64());
    let png = fetch_png(&sim, image["url"].as_str().unwrap()).await;
    assert!(png.starts_with(PNG_SIGNATURE));
}

#[tokio::test]
async fn image_endpoints_check_keys_and_take_faults() {
    let sim = Sim::start().await;
    let request = json!({ "image_request": { "prompt": "x" } });
    let response = sim
        .http
        .post(sim.url("/generate"))
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let request = json!({ "image_request": { "prompt": "x [[sim: status=500]]" } });
    let response = sim
        .http
        .post(sim.url("/generate"))
        .header("Api-Key", "k")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);

    let request = json!({ "prompt": "x [[sim: content_policy=1]]" });
    let response = sim
        .http
        .post(sim.url("/v1/images/generations"))
        .bearer_auth("sk-test")
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "content_policy_violation");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["param"].is_null());
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .starts_with("Your request was rejected as a result of our safety system"));

    let missing = sim
        .http
        .get(sim.url("/_sim/images/not-an-image"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}

async fn openai_image(sim: &Sim, request: &Value) -> reqwest::Response {
    sim.http
        .post(sim.url("/v1/images/generations"))
        .bearer_auth("sk-test")
        .json(request)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn image_links_expire_and_refuse_edits() {
    let sim = Sim::start().await;
    let body: Value = openai_image(&sim, &json!({ "prompt": "now [[sim: url_ttl_ms=0]]" }))
        .await
        .json()
        .await
        .unwrap();
    let expired = body["data"][0]["url"].as_str().unwrap();
    let response = sim.http.get(expired).send().await.unwrap();
    assert_eq!(response.status(), 410);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "url_expired");

    let body: Value = openai_image(&sim, &json!({ "prompt": "an hour" }))
        .await
        .json()
        .await
        .unwrap();
    let fresh = body["data"][0]["url"].as_str().unwrap();
    assert_eq!(fetch_png(&sim, fresh).await, fetch_png(&sim, fresh).await);
    let (bare, query) = fresh.split_once('?').unwrap();
    assert!(query.starts_with("exp_ms=") && query.contains("&sig="));
    let edited = format!(
        "{bare}?exp_ms=99999999999999&{}",
        query.split_once('&').unwrap().1
    );
    assert_eq!(sim.http.get(edited).send().await.unwrap().status(), 403);
    // The bare form never expires (for hand-written links).
    assert!(fetch_png(&sim, bare).await.starts_with(PNG_SIGNATURE));
}

#[tokio::test]
async fn gpt_image_answers_base64_with_usage() {
    let sim = Sim::start().await;
    let request = json!({
        "model": "gpt-image-1", "prompt": "a calm lake [[sim: key=gpt]]", "n": 1,
        "quality": "medium", "size": "1024x1536", "output_format": "jpeg", "background": "auto",
        "moderation": "auto", "output_compression": 80,
    });
    let response = openai_image(&sim, &request).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (
            &body["output_format"],
            &body["quality"],
            &body["size"],
            &body["background"]
        ),
        (
            &json!("jpeg"),
            &json!("medium"),
            &json!("1024x1536"),
            &json!("opaque")
        )
    );
    assert_eq!(body["usage"]["input_tokens"], 5, "words, the directive too");
    assert_eq!(body["usage"]["output_tokens"], 1584);
    assert_eq!(body["usage"]["total_tokens"], 1589);
    assert!(body["usage"]["input_tokens_details"]["text_tokens"].is_u64());
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(body["data"][0]["b64_json"].as_str().unwrap())
        .unwrap();
    assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) && jpeg.ends_with(&[0xFF, 0xD9]));
    assert_eq!(sim.last_request("gpt").await, request);

    for (format, magic) in [("webp", &b"RIFF"[..]), ("png", PNG_SIGNATURE)] {
        let request = json!({ "model": "gpt-image-1", "prompt": "x", "output_format": format });
        let body: Value = openai_image(&sim, &request).await.json().await.unwrap();
        assert_eq!(body["output_format"], format);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body["data"][0]["b64_json"].as_str().unwrap())
            .unwrap();
        assert!(bytes.starts_with(magic), "{format}");
    }

    let refused = openai_image(
        &sim,
        &json!({ "model": "gpt-image-1", "prompt": "x", "response_format": "b64_json" }),
    )
    .await;
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_parameter");
    assert_eq!(body["error"]["param"], "response_format");
}

#[tokio::test]
async fn image_faults_count_attempts_and_record_bodies() {
    let sim = Sim::start().await;
    let request = json!({ "prompt": "x [[sim: status=500, times=2, key=img]]", "response_format": "b64_json" });
    assert_eq!(openai_image(&sim, &request).await.status(), 500);
    assert_eq!(openai_image(&sim, &request).await.status(), 500);
    assert_eq!(openai_image(&sim, &request).await.status(), 200);
    assert_eq!(sim.attempts("img").await, 3);
    assert_eq!(sim.last_request("img").await, request);

    let legacy = json!({ "image_request": { "prompt": "x [[sim: unsafe=1, key=legacy]]", "num_images": 2 } });
    let response = sim
        .http
        .post(sim.url("/generate"))
        .header("Api-Key", "k")
        .json(&legacy)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"][0]["is_image_safe"], false);
    assert!(body["data"][0].get("url").is_none() && body["data"][1]["url"].is_string());
    assert_eq!(sim.last_request("legacy").await, legacy);
}
