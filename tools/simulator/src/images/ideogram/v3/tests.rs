use super::*;
use crate::errors::Shape;
use serde_json::{json, Value};

fn fields(pairs: &[(&str, &str)]) -> Vec<Field> {
    pairs
        .iter()
        .map(|(name, value)| Field {
            name: (*name).to_string(),
            filename: None,
            content_type: None,
            data: value.as_bytes().to_vec(),
        })
        .collect()
}

/// The `detail` of the 400 `pairs` are refused with.
fn refusal(pairs: &[(&str, &str)]) -> String {
    let fields = fields(pairs);
    let error = Generation::read(&fields).expect_err("refused");
    assert_eq!(error.status.as_u16(), 400);
    error.body(Shape::Ideogram)["detail"]
        .as_str()
        .unwrap()
        .to_string()
}

fn answer(pairs: &[(&str, &str)], unsafe_count: u64) -> Value {
    let fields = fields(pairs);
    let generation = Generation::read(&fields).unwrap();
    generation.render(unsafe_count, "http://sim:9", 60_000, 1_714_564_800)
}

#[test]
fn reads_what_the_gateway_sends() {
    let fields = fields(&[
        ("prompt", "a red fox"),
        ("num_images", "2"),
        ("aspect_ratio", "16x9"),
        ("rendering_speed", "TURBO"),
        ("magic_prompt", "OFF"),
        ("negative_prompt", "blur"),
        ("seed", "42"),
        ("style_type", "REALISTIC"),
        ("color_palette", "ignored"),
    ]);
    assert_eq!(
        Generation::read(&fields).unwrap(),
        Generation {
            prompt: "a red fox",
            count: 2,
            resolution: "1312x736",
            rendering_speed: "TURBO",
            magic_prompt: "OFF",
            style_type: "REALISTIC",
            seed: Some(42),
        }
    );
}

#[test]
fn defaults_to_one_square_general_image() {
    let fields = fields(&[("prompt", "p")]);
    let generation = Generation::read(&fields).unwrap();
    assert_eq!(
        (
            generation.count,
            generation.resolution,
            generation.rendering_speed,
            generation.style_type
        ),
        (1, "1024x1024", "DEFAULT", "GENERAL")
    );
}

#[test]
fn answers_in_ideogram_3_shape() {
    let body = answer(
        &[
            ("prompt", "a red fox"),
            ("num_images", "2"),
            ("aspect_ratio", "9x16"),
            ("seed", "7"),
        ],
        0,
    );
    assert_eq!(body["created"], "2024-05-01T12:00:00+00:00");
    let image = &body["data"][0];
    assert_eq!(
        (
            &image["prompt"],
            &image["resolution"],
            &image["is_image_safe"],
            &image["seed"],
            &image["style_type"]
        ),
        (
            &json!("a red fox"),
            &json!("736x1312"),
            &json!(true),
            &json!(7),
            &json!("GENERAL")
        )
    );
    assert_eq!(body["data"][1]["seed"], 8);
    let url = image["url"].as_str().unwrap();
    assert!(url.starts_with("http://sim:9/_sim/images/") && url.contains(".png?exp_ms=60000&sig="));
    assert_ne!(body["data"][0]["url"], body["data"][1]["url"]);
}

#[test]
fn the_same_form_gets_the_same_answer() {
    let pairs = [("prompt", "same"), ("num_images", "3")];
    assert_eq!(answer(&pairs, 0), answer(&pairs, 0));
    let other = answer(
        &[
            ("prompt", "same"),
            ("num_images", "3"),
            ("rendering_speed", "QUALITY"),
        ],
        0,
    );
    assert_ne!(answer(&pairs, 0)["data"][0]["url"], other["data"][0]["url"]);
}

#[test]
fn marks_the_first_images_unsafe() {
    let body = answer(&[("prompt", "p"), ("num_images", "3")], 2);
    let data = body["data"].as_array().unwrap();
    assert_eq!(data[0]["is_image_safe"], false);
    assert!(data[0].get("url").is_none() && data[1].get("url").is_none());
    assert_eq!(data[2]["is_image_safe"], true);
    assert!(data[2]["url"].is_string());
}

#[test]
fn magic_prompt_on_reports_a_rewritten_prompt() {
    let body = answer(&[("prompt", "p"), ("magic_prompt", "ON")], 0);
    assert_eq!(body["data"][0]["prompt"], "p (magic prompt)");
}

#[test]
fn takes_a_resolution_instead_of_an_aspect_ratio() {
    let body = answer(&[("prompt", "p"), ("resolution", "1280x704")], 0);
    assert_eq!(body["data"][0]["resolution"], "1280x704");
    assert!(refusal(&[("prompt", "p"), ("resolution", "1280x700")]).starts_with("resolution:"));
    assert!(refusal(&[("prompt", "p"), ("resolution", "big")]).starts_with("resolution:"));
    assert!(refusal(&[
        ("prompt", "p"),
        ("resolution", "1024x1024"),
        ("aspect_ratio", "1x1")
    ])
    .contains("cannot be used together"));
}

#[test]
fn refuses_bad_fields_with_a_detail() {
    assert_eq!(refusal(&[]), "prompt: Field required");
    assert_eq!(refusal(&[("prompt", "")]), "prompt: Field required");
    for n in ["0", "9", "two", "-1"] {
        assert!(refusal(&[("prompt", "p"), ("num_images", n)]).starts_with("num_images:"));
    }
    // Ideogram 3.0 ratios only: not the legacy enum, not a colon.
    for ratio in ["ASPECT_16_9", "16:9", "7x5"] {
        assert!(refusal(&[("prompt", "p"), ("aspect_ratio", ratio)]).starts_with("aspect_ratio:"));
    }
    assert!(
        refusal(&[("prompt", "p"), ("rendering_speed", "FAST")]).starts_with("rendering_speed:")
    );
    assert!(refusal(&[("prompt", "p"), ("magic_prompt", "YES")]).starts_with("magic_prompt:"));
    assert!(refusal(&[("prompt", "p"), ("style_type", "ANIME")]).starts_with("style_type:"));
    assert!(refusal(&[("prompt", "p"), ("seed", "2147483648")]).starts_with("seed:"));
}

#[test]
fn a_file_where_text_belongs_is_refused() {
    let mut fields = fields(&[("num_images", "1")]);
    fields.push(Field {
        name: "prompt".into(),
        filename: Some("p.txt".into()),
        content_type: None,
        data: b"p".to_vec(),
    });
    let error = Generation::read(&fields).expect_err("refused");
    assert_eq!(
        error.body(Shape::Ideogram)["detail"],
        "prompt: must be a text field"
    );
}

#[test]
fn every_aspect_ratio_matches_its_resolution() {
    for (ratio, pixels) in ASPECT_RATIOS {
        let (w, h) = ratio.split_once('x').unwrap();
        let (pw, ph) = pixels.split_once('x').unwrap();
        let want = w.parse::<f64>().unwrap() / h.parse::<f64>().unwrap();
        let got = pw.parse::<f64>().unwrap() / ph.parse::<f64>().unwrap();
        assert!((want / got - 1.0).abs() < 0.02, "{ratio} vs {pixels}");
    }
}
