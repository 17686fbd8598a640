use envelope::ApiError;
use serde_json::{json, Value};

use super::*;
use crate::upstream::{Credentials, HttpRequest, ProviderKind, UpstreamError};

const CREDS: Credentials = Credentials {
    api_key: "key-test",
    base_url: None,
};

fn parse(body: Value) -> Result<ImageRequest, ApiError> {
    parse_request(body.to_string().as_bytes())
}

fn request(body: Value) -> ImageRequest {
    parse(body).unwrap()
}

fn json_body(http: &HttpRequest) -> Value {
    serde_json::from_slice(&http.body).unwrap()
}

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/",
            $path
        ))
    };
}

/// A multipart body read back: the fields in order, checking the framing on the way.
fn read_multipart(content_type: &str, body: &[u8]) -> Vec<(String, String)> {
    let boundary = content_type
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap();
    let text = std::str::from_utf8(body).unwrap();
    let closing = format!("--{boundary}--\r\n");
    assert!(text.ends_with(&closing), "ends with the closing delimiter");
    let text = &text[..text.len() - closing.len()];
    let delimiter = format!("--{boundary}\r\n");
    assert!(text.starts_with(&delimiter));
    text[delimiter.len()..]
        .split(&format!("\r\n{delimiter}"))
        .map(|part| {
            let part = part.strip_suffix("\r\n").unwrap_or(part);
            let (head, value) = part.split_once("\r\n\r\n").unwrap();
            let name = head
                .strip_prefix("Content-Disposition: form-data; name=\"")
                .and_then(|rest| rest.strip_suffix('"'))
                .unwrap();
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

#[test]
fn reads_a_full_request_and_defaults() {
    let req = request(json!({
        "prompt": "an otter", "model": "gpt-image-1", "n": 2, "size": "1536x1024",
        "quality": "high", "response_format": "b64_json", "background": "transparent",
        "output_format": "webp", "output_compression": 80, "moderation": "low",
        "style": "vivid", "user": "u1"
    }));
    assert_eq!(req.n, 2);
    assert_eq!(
        req.size,
        Some(Size::Pixels {
            width: 1536,
            height: 1024
        })
    );
    assert_eq!(req.quality, Some(Quality::High));
    assert_eq!(req.response_format, ResponseFormat::B64Json);
    assert_eq!(req.background, Some(Background::Transparent));
    assert_eq!(req.output_format, Some(OutputFormat::Webp));
    assert_eq!(req.output_compression, Some(80));
    assert_eq!(req.moderation, Some(Moderation::Low));
    assert_eq!(req.style, Some(Style::Vivid));
    assert_eq!(req.user.as_deref(), Some("u1"));

    let small = request(json!({"prompt": "p", "model": "dall-e-2", "size": "auto", "n": null}));
    assert_eq!(
        (small.n, small.size, small.response_format),
        (1, Some(Size::Auto), ResponseFormat::Url)
    );
    assert!(small.extra.is_empty());
    for size in ["256x256", "512x512", "1792x1024", "1024x1792", "1024x1536"] {
        assert!(parse(json!({"prompt": "p", "model": "m", "size": size})).is_ok());
    }
}

#[test]
fn every_validation_error_names_its_field() {
    let cases = [
        (json!({"model": "m"}), "prompt", "missing_field"),
        (
            json!({"prompt": "", "model": "m"}),
            "prompt",
            "invalid_field",
        ),
        (
            json!({"prompt": 3, "model": "m"}),
            "prompt",
            "invalid_field",
        ),
        (json!({"prompt": "p"}), "model", "missing_field"),
        (
            json!({"prompt": "p", "model": " "}),
            "model",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "n": 0}),
            "n",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "n": 11}),
            "n",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "n": 1.5}),
            "n",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "n": -1}),
            "n",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "size": "big"}),
            "size",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "size": "0x10"}),
            "size",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "size": "+5x10"}),
            "size",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "size": 1024}),
            "size",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "quality": "ultra"}),
            "quality",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "response_format": "png"}),
            "response_format",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "background": "red"}),
            "background",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "output_format": "gif"}),
            "output_format",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "output_compression": 101}),
            "output_compression",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "output_compression": -1}),
            "output_compression",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "output_compression": "9"}),
            "output_compression",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "moderation": "high"}),
            "moderation",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "style": "anime"}),
            "style",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "user": 5}),
            "user",
            "invalid_field",
        ),
        (
            json!({"prompt": "p", "model": "m", "seed": 5}),
            "seed",
            "unknown_field",
        ),
    ];
    for (body, param, code) in cases {
        let err = parse(body.clone()).unwrap_err();
        assert_eq!(err.status(), 400, "{body}");
        assert_eq!(err.param.as_deref(), Some(param), "{body}");
        assert_eq!(&*err.code, code, "{body}");
    }
    assert_eq!(parse_request(b"[1]").unwrap_err().status(), 400);
    assert_eq!(parse_request(b"{not json").unwrap_err().status(), 400);
}

#[test]
fn gpt_image_gets_its_options_and_no_response_format() {
    let req = request(json!({
        "prompt": "an otter", "model": "alias", "n": 2, "size": "1024x1536", "quality": "hd",
        "response_format": "url", "background": "opaque", "output_format": "jpeg",
        "output_compression": 50, "moderation": "auto", "style": "natural", "user": "u"
    }));
    let http = build_request(ProviderKind::OpenAi, &req, "gpt-image-1", &CREDS).unwrap();
    assert_eq!(http.url, "https://api.openai.com/v1/images/generations");
    assert_eq!(http.header("authorization"), Some("Bearer key-test"));
    assert_eq!(
        json_body(&http),
        json!({
            "model": "gpt-image-1", "prompt": "an otter", "n": 2, "size": "1024x1536",
            "quality": "high", "background": "opaque", "output_format": "jpeg",
            "output_compression": 50, "moderation": "auto", "user": "u"
        })
    );
}

#[test]
fn other_models_are_asked_for_bytes_without_gpt_image_options() {
    let req = request(json!({
        "prompt": "p", "model": "alias", "quality": "high", "background": "opaque",
        "output_format": "png", "output_compression": 5, "moderation": "low", "style": "vivid"
    }));
    let http = build_request(ProviderKind::OpenAi, &req, "dall-e-3", &CREDS).unwrap();
    assert_eq!(
        json_body(&http),
        json!({"model": "dall-e-3", "prompt": "p", "n": 1, "quality": "hd",
               "response_format": "b64_json", "style": "vivid"})
    );
    let local = Credentials {
        api_key: "",
        base_url: Some("http://localhost:8080/v1/"),
    };
    let http = build_request(ProviderKind::OpenAiCompatible, &req, "sdxl", &local).unwrap();
    assert_eq!(http.url, "http://localhost:8080/v1/images/generations");
    assert_eq!(http.header("authorization"), None);
    assert_eq!(json_body(&http)["quality"], "high");
    assert_eq!(json_body(&http)["response_format"], "b64_json");
    let no_base = Credentials {
        api_key: "k",
        base_url: None,
    };
    let err = build_request(ProviderKind::OpenAiCompatible, &req, "sdxl", &no_base).unwrap_err();
    assert_eq!(err.status(), 502);
}

#[test]
fn anthropic_has_no_image_generation() {
    let req = request(json!({"prompt": "p", "model": "claude"}));
    let err = build_request(ProviderKind::Anthropic, &req, "claude", &CREDS).unwrap_err();
    assert_eq!(
        (err.status(), &*err.code, err.param.as_deref()),
        (400, "invalid_field", Some("model"))
    );
}

#[test]
fn ideogram_request_is_multipart() {
    let mut req = request(json!({
        "prompt": "a cat in a \"tiny\" hat\r\nline two", "model": "ideogram", "n": 3,
        "size": "1792x1024", "quality": "low"
    }));
    req.extra.insert("negative_prompt".into(), json!("dogs"));
    req.extra.insert("seed".into(), json!(12345));
    req.extra.insert("magic_prompt".into(), json!("OFF"));
    req.extra.insert("unknown_option".into(), json!("x"));
    let http = build_request(ProviderKind::Ideogram, &req, "V_3", &CREDS).unwrap();
    assert_eq!(http.url, "https://api.ideogram.ai/v1/ideogram-v3/generate");
    assert_eq!(http.header("api-key"), Some("key-test"));
    assert_eq!(http.header("authorization"), None);
    let content_type = http.header("content-type").unwrap();
    let fields = read_multipart(content_type, &http.body);
    let expected: Vec<(String, String)> = [
        ("prompt", "a cat in a \"tiny\" hat\r\nline two"),
        ("num_images", "3"),
        ("aspect_ratio", "16x9"),
        ("rendering_speed", "TURBO"),
        ("magic_prompt", "OFF"),
        ("negative_prompt", "dogs"),
        ("seed", "12345"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(fields, expected);
    assert!(
        !format!("{http:?}").contains("key-test"),
        "the key is redacted"
    );

    // Deterministic: the same request gives the same bytes.
    let again = build_request(ProviderKind::Ideogram, &req, "V_3", &CREDS).unwrap();
    assert_eq!(again.body, http.body);
    let base = Credentials {
        api_key: "k",
        base_url: Some("http://sim:9000/"),
    };
    let http = build_request(ProviderKind::Ideogram, &req, "V_3", &base).unwrap();
    assert_eq!(http.url, "http://sim:9000/v1/ideogram-v3/generate");
}

#[test]
fn ideogram_limits_and_defaults() {
    let req = request(json!({"prompt": "p", "model": "m"}));
    let http = build_request(ProviderKind::Ideogram, &req, "V_3", &CREDS).unwrap();
    let fields = read_multipart(http.header("content-type").unwrap(), &http.body);
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["prompt", "num_images"]);
    let many = request(json!({"prompt": "p", "model": "m", "n": 9}));
    let err = build_request(ProviderKind::Ideogram, &many, "V_3", &CREDS).unwrap_err();
    assert_eq!((err.status(), err.param.as_deref()), (400, Some("n")));
    let keyless = Credentials {
        api_key: "",
        base_url: None,
    };
    let err = build_request(ProviderKind::Ideogram, &req, "V_3", &keyless).unwrap_err();
    assert_eq!(err.status(), 502);
}

#[test]
fn multipart_exact_bytes_and_boundary_avoidance() {
    let form = Multipart::encode(&[Part::new("a", "1"), Part::new("b", "")]);
    let b = &form.boundary;
    assert!(b.starts_with("----gateway-form-") && b.len() <= 70);
    let expected = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\n\r\n--{b}--\r\n"
    );
    assert_eq!(String::from_utf8(form.body.clone()).unwrap(), expected);
    assert_eq!(
        form.content_type(),
        format!("multipart/form-data; boundary={b}")
    );
    // A value holding a delimiter of another body round-trips: its own boundary differs.
    let parts = [
        Part::new("a", "1"),
        Part::new("b", format!("x\r\n--{b}--\r\ny")),
    ];
    let sneaky = Multipart::encode(&parts);
    assert!(!parts[1].value.contains(&sneaky.boundary));
    let fields = read_multipart(&sneaky.content_type(), &sneaky.body);
    assert_eq!(fields[1], ("b".to_owned(), parts[1].value.clone()));
    let empty = Multipart::encode(&[]);
    assert_eq!(
        empty.body,
        format!("--{}--\r\n", empty.boundary).into_bytes()
    );
}

#[test]
fn aspect_ratios() {
    let px = |width, height| Size::Pixels { width, height };
    let cases = [
        (px(1024, 1024), "1x1"),
        (px(1536, 1024), "3x2"),
        (px(1024, 1536), "2x3"),
        (px(1792, 1024), "16x9"),
        (px(1024, 1792), "9x16"),
        (px(256, 256), "1x1"),
        (px(3000, 1000), "3x1"),
        (px(1000, 5000), "1x3"),
        (px(1280, 800), "16x10"),
        (px(1200, 900), "4x3"),
        (px(1000, 1250), "4x5"),
        (px(2000, 1000), "2x1"),
    ];
    for (size, ratio) in cases {
        assert_eq!(aspect_ratio(size).as_deref(), Some(ratio), "{size:?}");
    }
    assert_eq!(aspect_ratio(Size::Auto), None);
    assert_eq!(IDEOGRAM_RATIOS.len(), 15);
}

mod answers;
mod files;
mod keys;
