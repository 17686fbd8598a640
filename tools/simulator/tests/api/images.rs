//! `POST /v1/images/generations`, `POST /generate` (Ideogram) and `GET /_sim/images/<id>.png`.

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

    let missing = sim
        .http
        .get(sim.url("/_sim/images/not-an-image"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
