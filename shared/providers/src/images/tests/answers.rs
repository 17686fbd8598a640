//! Reading upstream answers, rendering ours, storage keys and prompt hashes.

use super::*;

#[test]
fn reads_gpt_image_bytes_and_usage() {
    let resp = parse_response(
        ProviderKind::OpenAi,
        200,
        fixture!("openai/images_gpt_image_1.json"),
    )
    .unwrap();
    assert_eq!(resp.images.len(), 1);
    assert!(matches!(
        &resp.images[0].content,
        ImageContent::Bytes { b64, mime: "image/webp" } if b64.starts_with("iVBOR")
    ));
    assert_eq!(
        resp.usage,
        Some(ImageUsage {
            input_tokens: 50,
            output_tokens: 4160
        })
    );
    assert_eq!(resp.unsafe_skipped, 0);
}

#[test]
fn reads_dall_e_bytes_with_revised_prompt() {
    let resp = parse_response(
        ProviderKind::OpenAi,
        200,
        fixture!("openai/images_dall_e_3.json"),
    )
    .unwrap();
    let image = &resp.images[0];
    assert!(matches!(
        image.content,
        ImageContent::Bytes {
            mime: "image/png",
            ..
        }
    ));
    assert!(image.revised_prompt.as_deref().unwrap().contains("otter"));
    assert_eq!(resp.usage, None);
}

#[test]
fn reads_ideogram_urls_and_skips_unsafe_images() {
    let resp = parse_response(
        ProviderKind::Ideogram,
        200,
        fixture!("ideogram/generate_v3.json"),
    )
    .unwrap();
    assert_eq!(resp.images.len(), 1);
    assert_eq!(resp.unsafe_skipped, 1);
    assert!(matches!(
        &resp.images[0].content,
        ImageContent::Url { url } if url.starts_with("https://ideogram.ai/api/images/")
    ));
    let err = parse_response(
        ProviderKind::Ideogram,
        200,
        fixture!("ideogram/generate_v3_all_unsafe.json"),
    )
    .unwrap_err();
    assert!(matches!(err, UpstreamError::ContentPolicy { .. }));
    let api = err.to_api_error();
    assert_eq!(
        (api.status(), &*api.code),
        (400, "content_policy_violation")
    );
}

#[test]
fn malformed_answers() {
    let bad: [(&[u8], ProviderKind); 6] = [
        (b"not json", ProviderKind::OpenAi),
        (br#"{"created": 1}"#, ProviderKind::OpenAi),
        (br#"{"data": []}"#, ProviderKind::OpenAi),
        (
            br#"{"data": [{"revised_prompt": "x"}]}"#,
            ProviderKind::OpenAi,
        ),
        (
            br#"{"data": [{"b64_json": "x"}], "usage": {"input_tokens": "a"}}"#,
            ProviderKind::OpenAi,
        ),
        (
            br#"{"data": [{"is_image_safe": true}]}"#,
            ProviderKind::Ideogram,
        ),
    ];
    for (body, kind) in bad {
        let err = parse_response(kind, 200, body).unwrap_err();
        assert!(matches!(err, UpstreamError::Malformed { .. }), "{err:?}");
    }
    let url = parse_response(
        ProviderKind::OpenAiCompatible,
        200,
        br#"{"data": [{"url": "http://x/1.png"}]}"#,
    )
    .unwrap();
    assert!(matches!(url.images[0].content, ImageContent::Url { .. }));
}

#[test]
fn content_policy_refusals_reach_the_client_as_400() {
    let cases: [(ProviderKind, u16, &[u8]); 4] = [
        (ProviderKind::OpenAi, 400, fixture!("openai/images_error_moderation.json")),
        (ProviderKind::OpenAi, 400, fixture!("openai/error_400_content_policy.json")),
        (
            ProviderKind::OpenAi,
            400,
            br#"{"error": {"code": "content_policy_violation", "message": "Your request was rejected as a result of our safety system.", "type": "invalid_request_error"}}"#,
        ),
        (ProviderKind::Ideogram, 422, fixture!("ideogram/error_422_safety.json")),
    ];
    for (kind, status, body) in cases {
        let err = parse_response(kind, status, body).unwrap_err();
        assert!(
            matches!(err, UpstreamError::ContentPolicy { .. }),
            "{err:?}"
        );
        let api = err.to_api_error();
        assert_eq!(
            (api.status(), &*api.code),
            (400, "content_policy_violation")
        );
    }
    let auth = parse_response(ProviderKind::Ideogram, 401, br#"{"detail": "bad key"}"#);
    assert!(matches!(auth, Err(UpstreamError::Auth { .. })));
    let other = parse_response(
        ProviderKind::Ideogram,
        422,
        br#"{"detail": "num_images: bad"}"#,
    );
    assert!(matches!(
        other,
        Err(UpstreamError::BadRequest { status: 422, .. })
    ));
}

#[test]
fn renders_the_openai_shape() {
    let images = [
        StoredImage {
            url: "https://gw/i/1.png".into(),
            b64: Some("AAAA".into()),
            revised_prompt: Some("better".into()),
        },
        StoredImage {
            url: "https://gw/i/2.png".into(),
            b64: None,
            revised_prompt: None,
        },
    ];
    let usage = ImageUsage {
        input_tokens: 5,
        output_tokens: 7,
    };
    assert_eq!(
        render_response(&images, 1700, ResponseFormat::Url, Some(usage)),
        json!({
            "created": 1700,
            "data": [{"url": "https://gw/i/1.png", "revised_prompt": "better"}, {"url": "https://gw/i/2.png"}],
            "usage": {"input_tokens": 5, "output_tokens": 7, "total_tokens": 12}
        })
    );
    assert_eq!(
        render_response(&images, 1700, ResponseFormat::B64Json, None),
        json!({
            "created": 1700,
            "data": [{"b64_json": "AAAA", "revised_prompt": "better"}, {"url": "https://gw/i/2.png"}]
        })
    );
}

#[test]
fn object_keys_are_dated_in_utc() {
    let key = |ms| object_key("inst", Some("proj"), ms, "img_1", "png");
    assert_eq!(key(0), "inst/proj/1970/01/01/img_1.png");
    assert_eq!(key(86_399_999), "inst/proj/1970/01/01/img_1.png");
    assert_eq!(key(-1), "inst/proj/1969/12/31/img_1.png");
    // 2024-02-29T00:00:00Z and the last millisecond of that day.
    assert_eq!(key(1_709_164_800_000), "inst/proj/2024/02/29/img_1.png");
    assert_eq!(key(1_709_251_199_999), "inst/proj/2024/02/29/img_1.png");
    assert_eq!(key(1_709_251_200_000), "inst/proj/2024/03/01/img_1.png");
    // 2000-02-29 (a leap century) and 2100-03-01 (2100 is not leap).
    assert_eq!(key(951_782_400_000), "inst/proj/2000/02/29/img_1.png");
    assert_eq!(key(4_107_542_400_000), "inst/proj/2100/03/01/img_1.png");
    assert_eq!(key(1_735_689_599_999), "inst/proj/2024/12/31/img_1.png");
    assert_eq!(
        object_key("inst", None, 1_735_689_600_000, "x", "webp"),
        "inst/_/2025/01/01/x.webp"
    );
    // No panic at the extremes.
    assert!(!object_key("i", None, i64::MIN, "x", "png").is_empty());
    assert!(!object_key("i", None, i64::MAX, "x", "png").is_empty());
}

#[test]
fn prompt_hash_is_sha256_hex() {
    assert_eq!(
        prompt_hash(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        prompt_hash("abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
