//! `POST /v1/ideogram-v3/generate`: multipart in, Ideogram 3.0's answer out, faults and records.

use serde_json::{json, Value};

use crate::support::{drain, form, Sim};

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

#[tokio::test]
async fn generates_fetchable_images_in_the_real_shape() {
    let sim = Sim::start().await;
    let response = sim
        .ideogram_v3(&[
            ("prompt", "a red bicycle"),
            ("num_images", "2"),
            ("aspect_ratio", "16x9"),
            ("rendering_speed", "TURBO"),
            ("seed", "123"),
        ])
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert!(body["created"].as_str().unwrap().contains('T'));
    let data = body["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let image = &data[0];
    assert_eq!(image["prompt"], "a red bicycle");
    assert_eq!(image["resolution"], "1312x736");
    assert_eq!(image["is_image_safe"], true);
    assert_eq!(
        (&image["seed"], &data[1]["seed"]),
        (&json!(123), &json!(124))
    );
    assert_eq!(image["style_type"], "GENERAL");
    let url = image["url"].as_str().unwrap();
    assert!(
        url.starts_with(&sim.base),
        "absolute, at the address we used: {url}"
    );
    let png = sim.http.get(url).send().await.unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(png.bytes().await.unwrap().starts_with(PNG_SIGNATURE));
}

#[tokio::test]
async fn checks_the_key_in_ideograms_shape() {
    let sim = Sim::start().await;
    let body = form("b", &[("prompt", "x")]);
    for key in [None, Some("sk-invalid")] {
        let mut request = sim
            .http
            .post(sim.url("/v1/ideogram-v3/generate"))
            .header("content-type", "multipart/form-data; boundary=b")
            .body(body.clone());
        if let Some(key) = key {
            request = request.header("Api-Key", key);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        let body: Value = response.json().await.unwrap();
        assert!(body["detail"].is_string());
    }
}

#[tokio::test]
async fn refuses_what_is_not_a_proper_form() {
    let sim = Sim::start().await;
    let send = |content_type: &'static str, body: Vec<u8>| {
        sim.http
            .post(sim.url("/v1/ideogram-v3/generate"))
            .header("Api-Key", "k")
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let cases = [
        ("multipart/form-data", form("b", &[("prompt", "x")])),
        ("application/json", br#"{"prompt":"x"}"#.to_vec()),
        (
            "multipart/form-data; boundary=b",
            b"--b\nContent-Disposition: form-data; name=prompt\n\nx\n--b--\n".to_vec(),
        ),
        (
            "multipart/form-data; boundary=b",
            form("b", &[("num_images", "1")]),
        ),
        (
            "multipart/form-data; boundary=b",
            form("b", &[("prompt", "x"), ("aspect_ratio", "ASPECT_1_1")]),
        ),
    ];
    for (content_type, body) in cases {
        let response = send(content_type, body).await.unwrap();
        assert_eq!(response.status(), 400, "{content_type}");
        let body: Value = response.json().await.unwrap();
        assert!(body["detail"].is_string(), "{body}");
    }
}

#[tokio::test]
async fn records_the_form_and_counts_attempts() {
    let sim = Sim::start().await;
    let fields = [
        ("prompt", "retry me [[sim: status=503, times=1, key=v3]]"),
        ("num_images", "1"),
        ("rendering_speed", "QUALITY"),
        ("negative_prompt", "blur"),
    ];
    assert_eq!(sim.ideogram_v3(&fields).await.status(), 503);
    let recorded = sim.last_request("v3").await;
    assert_eq!(recorded["rendering_speed"], "QUALITY");
    assert_eq!(recorded["negative_prompt"], "blur");
    assert_eq!(recorded["num_images"], "1");
    assert_eq!(sim.ideogram_v3(&fields).await.status(), 200);
    assert_eq!(sim.attempts("v3").await, 2);
}

#[tokio::test]
async fn unsafe_images_come_back_without_a_url() {
    let sim = Sim::start().await;
    let response = sim
        .ideogram_v3(&[("prompt", "x [[sim: unsafe=1]]"), ("num_images", "2")])
        .await;
    let body: Value = response.json().await.unwrap();
    let data = body["data"].as_array().unwrap();
    assert_eq!(data[0]["is_image_safe"], false);
    assert!(data[0].get("url").is_none());
    assert_eq!(data[1]["is_image_safe"], true);
    assert!(data[1]["url"].is_string());
}

#[tokio::test]
async fn takes_the_body_faults() {
    let sim = Sim::start().await;
    let response = sim
        .ideogram_v3(&[("prompt", "[[sim: content_policy=1]]")])
        .await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("safety check"));

    let response = sim.ideogram_v3(&[("prompt", "[[sim: cut_after=1]]")]).await;
    assert_eq!(response.status(), 200);
    assert!(!drain(response).await.complete);

    let response = sim.ideogram_v3(&[("prompt", "[[sim: malformed=1]]")]).await;
    let text = response.text().await.unwrap();
    assert!(serde_json::from_str::<Value>(&text).is_err());

    let response = sim
        .ideogram_v3(&[("prompt", "[[sim: status=429, retry_after=2]]")])
        .await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
}
