use super::*;

fn input(base_url: Option<&str>) -> ProviderKeyInput {
    ProviderKeyInput {
        api_key: "sk-test".into(),
        provider: None,
        base_url: base_url.map(str::to_string),
    }
}

fn refusal(url: &str, allow_loopback: bool) -> Option<(u16, String)> {
    check_upstream("base_url", url, allow_loopback)
        .err()
        .map(|e| (e.status(), e.message))
}

#[test]
fn remote_upstreams_must_use_https() {
    assert_eq!(refusal("https://api.openai.com/v1", false), None);
    assert_eq!(refusal("https://llm.example.test:8443/v1", false), None);
    for url in ["http://api.openai.com/v1", "http://evil.example.test:80/v1"] {
        for allow in [false, true] {
            let (status, message) = refusal(url, allow).unwrap();
            assert_eq!(status, 422, "{url}");
            assert!(
                message.starts_with("base_url: must be an https:// URL"),
                "{message}"
            );
        }
    }
}

#[test]
fn loopback_upstreams_only_where_allowed() {
    let loopbacks = [
        "http://127.0.0.1:8080/v1",
        "http://localhost:11434/v1",
        "http://[::1]:9/v1",
        "https://localhost/v1",
        "http://127.1.2.3/v1",
        "http://LOCALHOST/v1",
        "http://sim.localhost:9/v1",
        "http://0.0.0.0:9",
    ];
    for url in loopbacks {
        assert_eq!(refusal(url, true), None, "{url}");
        let (status, message) = refusal(url, false).unwrap();
        assert_eq!(status, 422, "{url}");
        assert!(message.contains("loopback"), "{message}");
    }
    // Not loopback, whatever the name suggests: plain http is refused.
    for url in [
        "http://127.0.0.1.evil.test/v1",
        "http://localhost.evil.test/v1",
    ] {
        assert!(refusal(url, true).unwrap().1.contains("https"), "{url}");
    }
}

#[test]
fn credentials_in_the_url_are_refused() {
    for url in [
        "https://user:pw@api.example.test/v1",
        "http://x@127.0.0.1:9/v1",
    ] {
        let (status, message) = refusal(url, true).unwrap();
        assert_eq!(status, 422);
        assert!(message.contains("credentials"), "{message}");
    }
}

#[test]
fn hosts_for_the_audit_log() {
    let cases = [
        ("https://API.openai.com/v1?x=1", Some("api.openai.com")),
        ("http://127.0.0.1:9/v1", Some("127.0.0.1")),
        ("http://[::1]:9/v1", Some("::1")),
        ("https://user:pw@h.test:1/p", Some("h.test")),
        ("https://h.test#frag", Some("h.test")),
        ("https://", None),
        ("not a url", None),
    ];
    for (url, host) in cases {
        assert_eq!(url_host(url).as_deref(), host, "{url}");
    }
}

#[test]
fn openai_compatible_keys_need_a_base_url() {
    let err = input(None)
        .check_upstream(Provider::OpenaiCompatible, true)
        .unwrap_err();
    assert_eq!(
        (err.status(), err.message.as_str()),
        (422, "base_url: is required for provider openai_compatible")
    );
    assert!(input(None).check_upstream(Provider::Openai, false).is_ok());
    let local = input(Some("http://127.0.0.1:9/v1"));
    assert!(local
        .check_upstream(Provider::OpenaiCompatible, true)
        .is_ok());
    assert!(local.check_upstream(Provider::Openai, false).is_err());
}
