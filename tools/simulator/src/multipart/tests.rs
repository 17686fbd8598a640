use super::*;

fn form(boundary: &str, parts: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in parts {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    body.into_bytes()
}

fn texts(fields: &[Field]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|f| (f.name.as_str(), f.text().unwrap()))
        .collect()
}

#[test]
fn reads_quoted_and_unquoted_boundaries() {
    assert_eq!(
        boundary("multipart/form-data; boundary=abc").unwrap(),
        "abc"
    );
    assert_eq!(
        boundary("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a;b c\"").unwrap(),
        "a;b c"
    );
    assert_eq!(
        boundary("multipart/form-data;boundary=----gateway-form-1").unwrap(),
        "----gateway-form-1"
    );
}

#[test]
fn refuses_missing_or_bad_boundaries() {
    assert_eq!(
        boundary("multipart/form-data"),
        Err(FormError::MissingBoundary)
    );
    assert_eq!(
        boundary("multipart/form-data; boundary="),
        Err(FormError::MissingBoundary)
    );
    assert_eq!(
        boundary(&format!("multipart/form-data; boundary={}", "x".repeat(71))),
        Err(FormError::MissingBoundary)
    );
    assert_eq!(
        boundary("application/json; boundary=abc"),
        Err(FormError::NotMultipart)
    );
}

#[test]
fn parses_text_fields_in_order() {
    let body = form("XyZ", &[("prompt", "a red fox"), ("num_images", "2")]);
    let fields = parse(&body, "XyZ").unwrap();
    assert_eq!(
        texts(&fields),
        [("prompt", "a red fox"), ("num_images", "2")]
    );
}

#[test]
fn keeps_crlf_inside_values_and_empty_values() {
    let body = form(
        "b",
        &[("prompt", "line one\r\nline two\r\n"), ("empty", "")],
    );
    let fields = parse(&body, "b").unwrap();
    assert_eq!(
        texts(&fields),
        [("prompt", "line one\r\nline two\r\n"), ("empty", "")]
    );
}

#[test]
fn a_boundary_lookalike_inside_a_value_does_not_end_the_part() {
    // Only CRLF + "--boundary" delimits; "--b" mid-line is content.
    let body = form("b", &[("prompt", "x --b y")]);
    assert_eq!(texts(&parse(&body, "b").unwrap()), [("prompt", "x --b y")]);
}

#[test]
fn ignores_preamble_epilogue_and_transport_padding() {
    let body = b"preamble\r\n--b  \r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b--\r\nepilogue";
    assert_eq!(texts(&parse(body, "b").unwrap()), [("a", "1")]);
}

#[test]
fn accepts_file_parts_and_their_content_type() {
    let body = b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a \\\"q\\\".png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n--b\r\ncontent-disposition: FORM-DATA; NAME=prompt\r\n\r\nhi\r\n--b--";
    let fields = parse(body, "b").unwrap();
    assert_eq!(fields.len(), 2);
    assert_eq!(fields[0].filename.as_deref(), Some("a \"q\".png"));
    assert_eq!(fields[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(fields[0].data, b"\x89PNG");
    assert_eq!(fields[0].text(), None);
    assert_eq!(fields[1].text(), Some("hi"));
}

#[test]
fn refuses_broken_bodies() {
    let ok = form("b", &[("a", "1")]);
    assert!(parse(&ok, "b").is_ok());
    assert_eq!(parse(&ok, "other"), Err(FormError::NoDelimiter));
    assert_eq!(parse(b"", "b"), Err(FormError::NoDelimiter));
    // Bare LF line ends are not a form.
    let lf = b"--b\nContent-Disposition: form-data; name=a\n\n1\n--b--\n";
    assert_eq!(parse(lf, "b"), Err(FormError::BadDelimiter));
    let unterminated = b"--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1";
    assert_eq!(parse(unterminated, "b"), Err(FormError::Unterminated));
    assert_eq!(parse(b"--b", "b"), Err(FormError::Unterminated));
    let headless = b"--b\r\n\r\n1\r\n--b--";
    assert_eq!(parse(headless, "b"), Err(FormError::BadHeaders));
    let nameless = b"--b\r\nContent-Disposition: form-data\r\n\r\n1\r\n--b--";
    assert_eq!(parse(nameless, "b"), Err(FormError::NoName));
    let attachment = b"--b\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--b--";
    assert_eq!(parse(attachment, "b"), Err(FormError::NoName));
    let garbage = b"--b\r\nnot a header\r\n\r\n1\r\n--b--";
    assert_eq!(parse(garbage, "b"), Err(FormError::BadHeaders));
}

#[test]
fn an_empty_form_has_no_fields() {
    assert_eq!(parse(b"--b--\r\n", "b").unwrap(), []);
}

#[test]
fn renders_fields_as_json() {
    let mut fields = parse(
        &form("b", &[("a", "1"), ("s", "x"), ("s", "y"), ("s", "z")]),
        "b",
    )
    .unwrap();
    fields.push(Field {
        name: "image".into(),
        filename: Some("f.png".into()),
        content_type: None,
        data: vec![1, 2, 3],
    });
    assert_eq!(
        as_json(&fields),
        json!({
            "a": "1",
            "s": ["x", "y", "z"],
            "image": {"filename": "f.png", "content_type": null, "bytes": 3},
        })
    );
}

#[test]
fn parses_the_gateways_encoding() {
    // The layout shared/providers' `Multipart::encode` writes: a derived boundary, one header per part.
    let sent = "----gateway-form-0123456789abcdef0123456789abcdef012";
    let content_type = format!("multipart/form-data; boundary={sent}");
    let body = form(
        sent,
        &[
            ("prompt", "un \"café\" [[sim: key=k]]"),
            ("num_images", "1"),
            ("aspect_ratio", "16x9"),
        ],
    );
    let fields = parse(&body, &boundary(&content_type).unwrap()).unwrap();
    assert_eq!(
        as_json(&fields),
        json!({"prompt": "un \"café\" [[sim: key=k]]", "num_images": "1", "aspect_ratio": "16x9"})
    );
}
