use super::*;
use serde_json::json;

fn body(value: Value) -> Vec<u8> {
    value.to_string().into_bytes()
}

#[test]
fn retry_after_forms() {
    let err = classify(429, Some("2"), b"");
    assert_eq!(err.retry_after_ms(), Some(2_000));
    assert_eq!(
        classify(429, Some(" 0.25 "), b"").retry_after_ms(),
        Some(250)
    );
    assert_eq!(
        classify(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), b"").retry_after_ms(),
        None
    );
    assert_eq!(classify(429, Some("-1"), b"").retry_after_ms(), None);
    assert_eq!(
        classify(429, Some("1e12"), b"").retry_after_ms(),
        Some(MAX_RETRY_AFTER_MS)
    );

    let headers = vec![
        ("Retry-After".to_owned(), "3".to_owned()),
        ("retry-after-ms".to_owned(), "1500.5".to_owned()),
    ];
    assert_eq!(
        classify_with_headers(429, &headers, b"").retry_after_ms(),
        Some(1_501)
    );
    let headers = vec![("retry-after".to_owned(), "3".to_owned())];
    assert_eq!(
        classify_with_headers(529, &headers, b"").retry_after_ms(),
        Some(3_000)
    );
}

#[test]
fn statuses() {
    assert!(matches!(
        classify(401, None, b""),
        UpstreamError::Auth { status: 401, .. }
    ));
    assert!(matches!(
        classify(403, None, b""),
        UpstreamError::Auth { status: 403, .. }
    ));
    assert!(matches!(
        classify(404, None, b""),
        UpstreamError::NotFound { .. }
    ));
    assert_eq!(classify(408, None, b""), UpstreamError::Timeout);
    assert!(matches!(
        classify(413, None, b""),
        UpstreamError::BadRequest { status: 413, .. }
    ));
    assert!(matches!(
        classify(502, None, b"<html>bad gateway</html>"),
        UpstreamError::Server { status: 502, .. }
    ));
    assert!(matches!(
        classify(503, None, b""),
        UpstreamError::Overloaded { status: 503, .. }
    ));
    assert!(matches!(
        classify(529, None, b""),
        UpstreamError::Overloaded { status: 529, .. }
    ));
    assert!(matches!(
        classify(302, None, b""),
        UpstreamError::Malformed { .. }
    ));
}

#[test]
fn other_error_body_shapes() {
    let err = classify(400, None, &body(json!({"error": "model 'x' not loaded"})));
    assert_eq!(
        err,
        UpstreamError::BadRequest {
            status: 400,
            message: "model 'x' not loaded".into()
        }
    );
    let err = classify(422, None, &body(json!({"detail": "bad field"})));
    assert_eq!(
        err,
        UpstreamError::BadRequest {
            status: 422,
            message: "bad field".into()
        }
    );
    let err = classify(
        400,
        None,
        &body(json!({"error": {"message": "x", "code": 1234}})),
    );
    assert!(matches!(err, UpstreamError::BadRequest { .. }));
    let long = "z".repeat(5000);
    let UpstreamError::BadRequest { message, .. } =
        classify(400, None, &body(json!({"error": {"message": long}})))
    else {
        panic!("expected a bad request");
    };
    assert_eq!(message.len(), MAX_MESSAGE_CHARS);
}

#[test]
fn content_policy() {
    let azure = json!({"error": {"code": "content_filter", "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."}});
    assert!(matches!(
        classify(400, None, &body(azure)),
        UpstreamError::ContentPolicy { .. }
    ));
    let images = json!({"error": {"code": "content_policy_violation", "message": "Your request was rejected as a result of our safety system.", "type": "invalid_request_error"}});
    assert!(matches!(
        classify(400, None, &body(images)),
        UpstreamError::ContentPolicy { .. }
    ));
    let moderation = json!({"error": {"code": "moderation_blocked", "message": "Rejected.", "type": "image_generation_user_error"}});
    let ideogram = json!({"detail": "Prompt failed the safety check."});
    for (status, refusal) in [(400, moderation), (422, ideogram)] {
        let err = classify(status, None, &body(refusal));
        assert!(matches!(err, UpstreamError::ContentPolicy { .. }));
        let api = err.to_api_error();
        assert_eq!(
            (api.status(), &*api.code),
            (400, "content_policy_violation")
        );
    }
    // Only a 4xx is a refusal: a 5xx mentioning the safety check is the provider failing.
    let failing = json!({"detail": "safety check service unavailable"});
    assert!(matches!(
        classify(500, None, &body(failing)),
        UpstreamError::Server { .. }
    ));
}

#[test]
fn errors_inside_bodies() {
    assert_eq!(error_in_body(&json!({"id": "x", "choices": []})), None);
    let overloaded =
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    assert!(matches!(
        error_in_body(&overloaded),
        Some(UpstreamError::Overloaded { status: 529, .. })
    ));
    let rate =
        json!({"error": {"type": "requests", "code": "rate_limit_exceeded", "message": "slow"}});
    assert!(matches!(
        error_in_body(&rate),
        Some(UpstreamError::RateLimited { .. })
    ));
    let server = json!({"error": {"type": "server_error", "message": "oops"}});
    assert!(matches!(
        error_in_body(&server),
        Some(UpstreamError::Server { status: 500, .. })
    ));
    let invalid =
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "no"}});
    assert!(matches!(
        error_in_body(&invalid),
        Some(UpstreamError::BadRequest { status: 400, .. })
    ));
}
