//! `POST /v1/images/generations` (and the seed's `/generate` for image models) through the platform:
//! every image is in R2 (real local R2) with its provenance, `GET /images/{key}` serves the same bytes
//! with immutable cache headers and 304s, the official SDKs read the answers, another tenant can neither
//! list, delete nor guess an image, images/min admits exactly what fits under concurrency, the usage row
//! counts images and their price, and faults are classified.

use std::collections::BTreeSet;

use base64::Engine;
use e2e::check::expect_error_in;
use e2e::client::Resp;
use e2e::seed::{field, unique};
use e2e::{case, ensure, ensure_eq, expect_error, expect_status, Case, Ctx};
use futures_util::future::join_all;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::tenant::{
    add_key, add_model, attempts, await_usage, count, group, put_policy, put_provider_key, tenant,
    upstream, Tenant, GPT,
};
use crate::wire::post;

pub const IMAGES: &str = "/v1/images/generations";
/// OpenAI (`dall-e-2` upstream: n up to 10), priced per image.
pub const IMG: &str = "img-test";
/// Ideogram 3.0, priced per image.
pub const IDEO: &str = "ideo-test";
const IMG_PRICE: f64 = 0.04;
const IDEO_PRICE: f64 = 0.06;

pub fn cases() -> Vec<Case> {
    vec![
        case!(openai_images_are_stored_and_served_in_both_formats),
        case!(ideogram_images_are_copied_at_once_and_unsafe_ones_withheld),
        case!(official_sdks_generate_images),
        case!(the_seed_generate_shape_serves_image_models),
        case!(usage_rows_count_images_and_their_price),
        case!(gpt_image_is_priced_by_its_tokens),
        case!(another_tenant_cannot_list_delete_or_guess_images),
        case!(a_project_key_sees_only_its_projects_images),
        case!(images_per_minute_admits_exactly_what_fits),
        case!(image_faults_are_classified_and_retried),
        case!(failed_image_requests_leave_nothing_half_written),
        case!(bad_image_requests_name_the_field),
    ]
}

/// A tenant with the image models `img-test` (openai) and `ideo-test` (an `ideogram` provider key on the
/// simulator), and an admin key that may delete images.
async fn image_tenant(ctx: &Ctx, label: &str) -> Result<Tenant, String> {
    let t = tenant(ctx, label).await?;
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": IMG, "provider": "openai", "upstream_model": "dall-e-2",
               "capabilities": ["image"], "price_per_image": IMG_PRICE}),
    )
    .await?;
    put_provider_key(
        ctx,
        &t.instance_id,
        "ideogram",
        json!({"api_key": format!("ideo-e2e-{}", unique("pk")), "base_url": upstream()?.base.clone()}),
    )
    .await?;
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": IDEO, "provider": "ideogram", "upstream_model": "ideogram-v3",
               "capabilities": ["image"], "price_per_image": IDEO_PRICE}),
    )
    .await?;
    Ok(t)
}

fn body(model: &str, prompt: &str, extra: Value) -> Value {
    let mut body = json!({"model": model, "prompt": prompt});
    if let (Some(fields), Value::Object(more)) = (body.as_object_mut(), extra) {
        fields.extend(more);
    }
    body
}

async fn generate(t: &Tenant, ctx: &Ctx, body: &Value) -> Result<Resp, String> {
    post(&t.api(ctx), IMAGES, body, &[]).await
}

/// A fetched stored image: status, headers, bytes.
struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    bytes: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// `GET url` with no credentials (a stored image is served to whoever holds its key).
async fn fetch(ctx: &Ctx, url: &str, headers: &[(&str, &str)]) -> Result<Fetched, String> {
    let mut req = ctx.http.get(url);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req.send().await.map_err(|e| format!("GET {url}: {e}"))?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: body: {e}"))?;
    Ok(Fetched {
        status,
        headers,
        bytes: bytes.to_vec(),
    })
}

fn images_of(resp: &Resp) -> Result<Vec<Value>, String> {
    expect_status(resp, 200)?
        .get("data")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| format!("no data array: {}", resp.describe()))
}

fn text<'v>(v: &'v Value, name: &str) -> Result<&'v str, String> {
    v.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no string `{name}` in {v}"))
}

fn decode(b64: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|e| format!("b64_json does not decode: {e}"))
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The URL of the first image of an answer.
fn first_url(resp: &Resp) -> Result<String, String> {
    let images = images_of(resp)?;
    let first = images
        .first()
        .ok_or_else(|| format!("no image: {}", resp.describe()))?;
    Ok(text(first, "url")?.to_owned())
}

/// The stored key of a platform URL.
fn key_of<'u>(ctx: &Ctx, url: &'u str) -> Result<&'u str, String> {
    url.strip_prefix(&format!("{}/images/", ctx.base))
        .ok_or_else(|| format!("{url} is not a URL of this platform's /images/"))
}

/// Every stored image of the instance, as `api` lists them (all pages).
async fn listed(
    api: &e2e::client::Api<'_>,
    instance_id: &str,
    query: &str,
) -> Result<Vec<Value>, String> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..50 {
        let mut path = format!("/admin/instances/{instance_id}/images?limit=2{query}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={}", urlencode(c)));
        }
        let resp = api.get(&path).await?;
        let page = expect_status(&resp, 200)?;
        all.extend(resp.data()?.iter().cloned());
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(all),
        }
    }
    Err("the listing did not end within 50 pages".into())
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn listed_keys(entries: &[Value]) -> BTreeSet<String> {
    entries
        .iter()
        .filter_map(|e| e.get("key").and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// n=2 as URLs, then n=2 as `b64_json`: every URL is this platform's `/images/{instance}/_/yyyy/mm/dd/
/// img_….png`, serves a PNG with an ETag and `immutable`, answers `If-None-Match` with a 304 and HEAD
/// with the length; the listing holds all four with their provenance (prompt hash, model, provider,
/// upstream model, size, request id, key); the inline bytes are the stored bytes.
async fn openai_images_are_stored_and_served_in_both_formats(ctx: &Ctx) -> Result<(), String> {
    let t = image_tenant(ctx, "img-store").await?;
    let prompt = format!("a red fox in snow {}", unique("p"));
    let by_url = generate(
        &t,
        ctx,
        &body(IMG, &prompt, json!({"n": 2, "size": "1024x1024"})),
    )
    .await?;
    let url_ids = by_url.request_id().unwrap_or_default().to_owned();
    let data = images_of(&by_url)?;
    ensure_eq!(data.len(), 2, "two images: {}", by_url.describe());
    let mut served = Vec::new();
    for image in &data {
        ensure!(
            image.get("b64_json").is_none(),
            "url format carries no bytes: {image}"
        );
        let url = text(image, "url")?;
        let key = key_of(ctx, url)?;
        let prefix = format!("{}/_/", t.instance_id);
        ensure!(
            key.starts_with(&prefix) && key.ends_with(".png"),
            "key shape: {key}"
        );
        let got = fetch(ctx, url, &[]).await?;
        ensure_eq!(got.status, 200, "GET {url}");
        ensure!(got.bytes.starts_with(PNG), "a PNG is served for {url}");
        ensure_eq!(got.header("content-type"), "image/png", "content type");
        ensure_eq!(
            got.header("cache-control"),
            "public, max-age=31536000, immutable",
            "cache-control"
        );
        let etag = got.header("etag").to_owned();
        ensure!(!etag.is_empty(), "an ETag");
        let again = fetch(ctx, url, &[("if-none-match", &etag)]).await?;
        ensure_eq!(again.status, 304, "If-None-Match with the ETag");
        ensure!(again.bytes.is_empty(), "a 304 has no body");
        ensure_eq!(again.header("etag"), etag, "the 304 names the ETag");
        let other = fetch(ctx, url, &[("if-none-match", "\"something-else\"")]).await?;
        ensure_eq!(other.status, 200, "another ETag gets the bytes");
        let head = ctx.http.head(url).send().await.map_err(|e| e.to_string())?;
        ensure_eq!(head.status().as_u16(), 200, "HEAD");
        ensure_eq!(
            head.headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok()),
            Some(got.bytes.len().to_string().as_str()),
            "HEAD content-length"
        );
        served.push((key.to_owned(), got.bytes));
    }
    let inline = generate(
        &t,
        ctx,
        &body(IMG, &prompt, json!({"n": 2, "response_format": "b64_json"})),
    )
    .await?;
    let inline_id = inline.request_id().unwrap_or_default().to_owned();
    let inline_bytes: Vec<Vec<u8>> = images_of(&inline)?
        .iter()
        .map(|image| {
            ensure!(
                image.get("url").is_none(),
                "b64_json format carries no url: {image}"
            );
            let bytes = decode(text(image, "b64_json")?)?;
            ensure!(bytes.starts_with(PNG), "b64_json is a PNG");
            Ok(bytes)
        })
        .collect::<Result<_, String>>()?;
    ensure_eq!(inline_bytes.len(), 2, "two inline images");
    let entries = listed(&t.api(ctx), &t.instance_id, "").await?;
    ensure_eq!(
        entries.len(),
        4,
        "four stored images: {}",
        Value::Array(entries.clone())
    );
    let hash = hex::encode(Sha256::digest(prompt.as_bytes()));
    for entry in &entries {
        let meta = entry.get("metadata").cloned().unwrap_or_default();
        ensure_eq!(
            text(&meta, "prompt_sha256")?,
            hash,
            "prompt hash in {entry}"
        );
        ensure_eq!(text(&meta, "model")?, IMG, "model in {entry}");
        ensure_eq!(text(&meta, "provider")?, "openai", "provider in {entry}");
        ensure_eq!(
            text(&meta, "upstream_model")?,
            "dall-e-2",
            "upstream model in {entry}"
        );
        ensure_eq!(text(&meta, "key_id")?, t.key.id, "key id in {entry}");
        ensure_eq!(
            text(entry, "content_type")?,
            "image/png",
            "content type in {entry}"
        );
        ensure!(
            !meta.to_string().contains(&prompt),
            "the prompt itself is never stored: {entry}"
        );
    }
    let request_ids: BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| e.pointer("/metadata/request_id").and_then(Value::as_str))
        .collect();
    ensure_eq!(
        request_ids,
        BTreeSet::from([url_ids.as_str(), inline_id.as_str()]),
        "request ids of the stored images"
    );
    // The inline images are stored too: their stored bytes equal what the caller got.
    let mut stored_inline = Vec::new();
    for entry in &entries {
        if entry
            .pointer("/metadata/request_id")
            .and_then(Value::as_str)
            == Some(inline_id.as_str())
        {
            let url = format!("{}/images/{}", ctx.base, text(entry, "key")?);
            stored_inline.push(fetch(ctx, &url, &[]).await?.bytes);
        }
    }
    stored_inline.sort();
    let mut want = inline_bytes;
    want.sort();
    ensure!(
        stored_inline == want,
        "the stored copies of the inline images are their bytes"
    );
    for (key, bytes) in served {
        ensure!(listed_keys(&entries).contains(&key), "{key} is listed");
        ensure!(!bytes.is_empty(), "served bytes");
    }
    Ok(())
}

/// Ideogram 3.0 (multipart, `Api-Key`): its URLs are fetched at once (the simulator's links expire after
/// 3 s here), stored and served from the platform — still after the provider's links died; the size maps
/// to an aspect ratio, the quality to a rendering speed; an image Ideogram marks unsafe is left out, and
/// all of them unsafe is a 400.
async fn ideogram_images_are_copied_at_once_and_unsafe_ones_withheld(
    ctx: &Ctx,
) -> Result<(), String> {
    let t = image_tenant(ctx, "img-ideo").await?;
    let key = unique("ideo");
    let prompt = format!("a lighthouse [[sim: key={key}, url_ttl_ms=3000]]");
    let resp = generate(
        &t,
        ctx,
        &body(
            IDEO,
            &prompt,
            json!({"n": 3, "size": "1792x1024", "quality": "high"}),
        ),
    )
    .await?;
    let data = images_of(&resp)?;
    ensure_eq!(data.len(), 3, "three images: {}", resp.describe());
    for image in &data {
        let url = text(image, "url")?;
        key_of(ctx, url)?;
        let got = fetch(ctx, url, &[]).await?;
        ensure_eq!(got.status, 200, "GET {url}");
        ensure!(got.bytes.starts_with(PNG), "the stored copy is the PNG");
    }
    tokio::time::sleep(std::time::Duration::from_millis(3_500)).await;
    for image in &data {
        let url = text(image, "url")?;
        ensure_eq!(
            fetch(ctx, url, &[]).await?.status,
            200,
            "{url} outlives the provider's link"
        );
    }
    let sent = upstream()?.last_request(&ctx.http, &key).await?;
    ensure_eq!(
        sent.get("num_images").and_then(Value::as_str),
        Some("3"),
        "num_images sent: {sent}"
    );
    ensure_eq!(
        sent.get("aspect_ratio").and_then(Value::as_str),
        Some("16x9"),
        "aspect ratio sent: {sent}"
    );
    ensure_eq!(
        sent.get("rendering_speed").and_then(Value::as_str),
        Some("QUALITY"),
        "rendering speed sent: {sent}"
    );
    let partly = generate(
        &t,
        ctx,
        &body(IDEO, "two boats [[sim: unsafe=1]]", json!({"n": 2})),
    )
    .await?;
    ensure_eq!(
        images_of(&partly)?.len(),
        1,
        "the unsafe image is withheld: {}",
        partly.describe()
    );
    let none = generate(
        &t,
        ctx,
        &body(IDEO, "two boats [[sim: unsafe=2]]", json!({"n": 2})),
    )
    .await?;
    expect_error(&none, 400, "content_policy_violation")?;
    let too_many = generate(&t, ctx, &body(IDEO, "boats", json!({"n": 9}))).await?;
    expect_error(&too_many, 400, "invalid_field")?.param_is("n")?;
    Ok(())
}

/// The openai SDKs (Node and Python) and Vercel's AI SDK generate images: URLs that serve PNGs, and
/// base64 that decodes to PNGs.
async fn official_sdks_generate_images(ctx: &Ctx) -> Result<(), String> {
    let t = image_tenant(ctx, "img-sdk").await?;
    let prompt = format!("a small boat {}", unique("sdk"));
    for (script, scenario) in [("images.mjs", "openai"), ("sdk.py", "openai-images")] {
        let got = e2e::sdk::run(
            ctx.root(),
            script,
            &[scenario, &ctx.base, &t.key.secret, IMG, &prompt],
        )
        .await?;
        let urls: Vec<&str> = got
            .get("urls")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        ensure_eq!(urls.len(), 2, "{script}: two urls in {got}");
        for url in urls {
            let fetched = fetch(ctx, url, &[]).await?;
            ensure!(
                fetched.status == 200 && fetched.bytes.starts_with(PNG),
                "{script}: {url} serves a PNG"
            );
        }
        let b64 = got.pointer("/b64/0").and_then(Value::as_str).unwrap_or("");
        ensure!(
            decode(b64)?.starts_with(PNG),
            "{script}: b64_json decodes to a PNG"
        );
    }
    let got = e2e::sdk::run(
        ctx.root(),
        "images.mjs",
        &["ai-sdk", &ctx.base, &t.key.secret, IMG, &prompt],
    )
    .await?;
    let b64 = got.pointer("/b64/0").and_then(Value::as_str).unwrap_or("");
    ensure!(
        decode(b64)?.starts_with(PNG),
        "ai-sdk: the image decodes to a PNG: {got}"
    );
    Ok(())
}

/// `POST /generate` with an image model answers the seed's shape with stored images; its request id
/// is the one the stored image and the usage row carry.
async fn the_seed_generate_shape_serves_image_models(ctx: &Ctx) -> Result<(), String> {
    let t = image_tenant(ctx, "img-seed").await?;
    let resp = post(
        &t.api(ctx),
        "/generate",
        &json!({"prompt": "a kite", "model_id": IMG, "options": {"n": 1}}),
        &[],
    )
    .await?;
    let got = expect_status(&resp, 200)?;
    ensure_eq!(
        got.get("object").and_then(Value::as_str),
        Some("generation"),
        "object"
    );
    ensure_eq!(got.get("model").and_then(Value::as_str), Some(IMG), "model");
    let url = got
        .pointer("/images/0/url")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no images[0].url: {got}"))?;
    ensure!(
        fetch(ctx, url, &[]).await?.bytes.starts_with(PNG),
        "the seed's image is served"
    );
    let request_id = resp.request_id().unwrap_or_default();
    ensure_eq!(
        got.get("request_id").and_then(Value::as_str),
        Some(request_id),
        "request id in the body"
    );
    let entries = listed(&t.api(ctx), &t.instance_id, "").await?;
    ensure_eq!(
        entries
            .first()
            .and_then(|e| e.pointer("/metadata/request_id"))
            .and_then(Value::as_str),
        Some(request_id),
        "the stored image carries the header's request id"
    );
    // A chat model still answers the seed's text shape.
    let text_resp = post(
        &t.api(ctx),
        "/generate",
        &json!({"prompt": "hi", "model_id": GPT}),
        &[],
    )
    .await?;
    ensure!(
        expect_status(&text_resp, 200)?.get("text").is_some(),
        "a chat model on /generate answers text: {}",
        text_resp.describe()
    );
    let bad = post(
        &t.api(ctx),
        "/generate",
        &json!({"prompt": "a kite", "model_id": IMG, "options": {"n": 50}}),
        &[],
    )
    .await?;
    expect_error(&bad, 400, "invalid_field")?.param_is("options.n")?;
    Ok(())
}

/// Images are usage rows of kind `image` counting the images made, priced per image, next to text.
async fn usage_rows_count_images_and_their_price(ctx: &Ctx) -> Result<(), String> {
    let t = image_tenant(ctx, "img-usage").await?;
    images_of(&generate(&t, ctx, &body(IMG, "three cats", json!({"n": 3}))).await?)?;
    images_of(&generate(&t, ctx, &body(IDEO, "two dogs", json!({"n": 2}))).await?)?;
    expect_status(
        &post(
            &t.api(ctx),
            "/v1/chat/completions",
            &crate::wire::chat_body(GPT, "hi"),
            &[],
        )
        .await?,
        200,
    )?;
    let rows = await_usage(&t.api(ctx), &t.instance_id, "kind", |rows| {
        count(group(rows, "image"), "requests") >= 2 && count(group(rows, "text"), "requests") >= 1
    })
    .await?;
    let image = group(&rows, "image");
    ensure_eq!(count(image, "images"), 5, "images counted: {rows:?}");
    ensure_eq!(
        count(group(&rows, "text"), "images"),
        0,
        "text rows count no images"
    );
    let cost = image
        .and_then(|r| r.get("cost_usd"))
        .and_then(Value::as_f64)
        .unwrap_or(-1.0);
    let want = 3.0 * IMG_PRICE + 2.0 * IDEO_PRICE;
    ensure!((cost - want).abs() < 1e-9, "image cost {cost} != {want}");
    let by_model = await_usage(&t.api(ctx), &t.instance_id, "model", |rows| {
        group(rows, IDEO).is_some()
    })
    .await?;
    ensure_eq!(count(group(&by_model, IMG), "images"), 3, "img-test images");
    ensure_eq!(
        count(group(&by_model, IDEO), "images"),
        2,
        "ideo-test images"
    );
    Ok(())
}

/// gpt-image answers bytes with token usage: the caller gets OpenAI's `usage`, the row counts those
/// tokens at the model's token prices; `output_format: jpeg` is stored and served as a JPEG (recognised by
/// its bytes).
async fn gpt_image_is_priced_by_its_tokens(ctx: &Ctx) -> Result<(), String> {
    let t = image_tenant(ctx, "img-gpt").await?;
    let (input_price, output_price) = (5.0, 40.0);
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": "gpt-img", "provider": "openai", "upstream_model": "gpt-image-1",
               "capabilities": ["image"], "input_price_per_mtok": input_price,
               "output_price_per_mtok": output_price}),
    )
    .await?;
    let key = unique("gpti");
    let prompt = format!("a teapot [[sim: key={key}]]");
    let resp = generate(
        &t,
        ctx,
        &body(
            "gpt-img",
            &prompt,
            json!({"n": 2, "quality": "low", "output_format": "jpeg"}),
        ),
    )
    .await?;
    let got = expect_status(&resp, 200)?.clone();
    let input = got
        .pointer("/usage/input_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let output = got
        .pointer("/usage/output_tokens")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    ensure!(
        input > 0 && output > 0,
        "OpenAI's usage reaches the caller: {got}"
    );
    for image in images_of(&resp)? {
        let fetched = fetch(ctx, text(&image, "url")?, &[]).await?;
        ensure!(
            fetched.bytes.starts_with(b"\xff\xd8\xff"),
            "a JPEG is served"
        );
        ensure_eq!(fetched.header("content-type"), "image/jpeg", "its type");
        ensure!(text(&image, "url")?.ends_with(".jpg"), "stored as .jpg");
    }
    let sent = upstream()?.last_request(&ctx.http, &key).await?;
    ensure!(
        sent.get("response_format").is_none(),
        "gpt-image is never sent response_format: {sent}"
    );
    ensure_eq!(
        sent.get("output_format").and_then(Value::as_str),
        Some("jpeg"),
        "output_format sent"
    );
    let rows = await_usage(&t.api(ctx), &t.instance_id, "model", |rows| {
        group(rows, "gpt-img").is_some()
    })
    .await?;
    let row = group(&rows, "gpt-img");
    ensure_eq!(count(row, "images"), 2, "images");
    ensure_eq!(
        (count(row, "prompt_tokens"), count(row, "completion_tokens")),
        (input, output),
        "tokens in {row:?}"
    );
    let cost = row
        .and_then(|r| r.get("cost_usd"))
        .and_then(Value::as_f64)
        .unwrap_or(-1.0);
    let want = (input as f64 * input_price + output as f64 * output_price) / 1e6;
    ensure!((cost - want).abs() < 1e-9, "cost {cost} != {want}");
    Ok(())
}

/// Tenant B, with full admin rights over its own instance, cannot list A's images (not even by asking
/// for A's instance), cannot delete one through its own instance or A's, and a guessed key (A's with one
/// hex digit changed, or a path trick) is the same 404 as no image. A's images stay served.
async fn another_tenant_cannot_list_delete_or_guess_images(ctx: &Ctx) -> Result<(), String> {
    let a = image_tenant(ctx, "img-a").await?;
    let b = image_tenant(ctx, "img-b").await?;
    let b_admin = add_key(
        ctx,
        &b.instance_id,
        json!({"name": "b admin", "scopes": ["generate", "admin:write"]}),
    )
    .await?;
    let b_api = ctx.with_key(&b_admin.secret);
    let url = first_url(&generate(&a, ctx, &body(IMG, "a secret map", json!({}))).await?)?;
    let key = key_of(ctx, &url)?.to_owned();
    images_of(&generate(&b, ctx, &body(IMG, "b's own", json!({}))).await?)?;

    let foreign_list = b_api
        .get(&format!("/admin/instances/{}/images", a.instance_id))
        .await?;
    expect_error_in(&foreign_list, &[403, 404])?;
    ensure!(
        !foreign_list.text.contains(&key),
        "A's key never appears to B"
    );
    let own = listed(&b_api, &b.instance_id, "").await?;
    ensure_eq!(own.len(), 1, "B lists only its own image");
    ensure!(
        !listed_keys(&own).contains(&key),
        "A's image is not in B's listing"
    );

    let through_own = b_api
        .delete(&format!(
            "/admin/instances/{}/images?key={}",
            b.instance_id,
            urlencode(&key)
        ))
        .await?;
    expect_error(&through_own, 404, "image_not_found")?;
    let through_theirs = b_api
        .delete(&format!(
            "/admin/instances/{}/images?key={}",
            a.instance_id,
            urlencode(&key)
        ))
        .await?;
    expect_error_in(&through_theirs, &[403, 404])?;
    ensure_eq!(
        fetch(ctx, &url, &[]).await?.status,
        200,
        "A's image is still served"
    );

    // One hex digit of the id changed (the one before ".png").
    let (stem, ext) = key.rsplit_once('.').unwrap_or((&key, ""));
    let (head, digit) = stem.split_at(stem.len() - 1);
    let guessed = format!("{head}{}.{ext}", if digit == "0" { "1" } else { "0" });
    for probe in [
        guessed.clone(),
        format!(
            "{}/_/2020/01/01/../{}",
            a.instance_id,
            key.rsplit('/').next().unwrap_or("")
        ),
        key.replace(".png", ".jpg"),
        format!("{}/", a.instance_id),
        String::new(),
    ] {
        let got = fetch(ctx, &format!("{}/images/{probe}", ctx.base), &[]).await?;
        ensure_eq!(got.status, 404, "GET /images/{probe}");
    }
    // A's own admin deletes it: the URL stops serving, the deletion is audited.
    let a_admin = add_key(
        ctx,
        &a.instance_id,
        json!({"name": "a admin", "scopes": ["admin:write"]}),
    )
    .await?;
    let deleted = ctx
        .with_key(&a_admin.secret)
        .delete(&format!(
            "/admin/instances/{}/images?key={}",
            a.instance_id,
            urlencode(&key)
        ))
        .await?;
    ensure_eq!(
        deleted.status,
        204,
        "A deletes its image: {}",
        deleted.describe()
    );
    ensure_eq!(
        fetch(ctx, &url, &[]).await?.status,
        404,
        "a deleted image is gone"
    );
    let again = ctx
        .with_key(&a_admin.secret)
        .delete(&format!(
            "/admin/instances/{}/images?key={}",
            a.instance_id,
            urlencode(&key)
        ))
        .await?;
    expect_error(&again, 404, "image_not_found")?;
    Ok(())
}

/// A key bound to a project stores under its project and lists only that project's images; asking for
/// another project is refused.
async fn a_project_key_sees_only_its_projects_images(ctx: &Ctx) -> Result<(), String> {
    let t = image_tenant(ctx, "img-prj").await?;
    let project = e2e::seed::create_project(ctx, &t.instance_id, "art").await?;
    let project_id = field(&project, "id")?;
    let other = field(
        &e2e::seed::create_project(ctx, &t.instance_id, "other").await?,
        "id",
    )?;
    let pk = add_key(
        ctx,
        &t.instance_id,
        json!({"name": "art", "scopes": ["generate", "admin:read"], "project_id": project_id}),
    )
    .await?;
    let p_api = ctx.with_key(&pk.secret);
    let resp = post(&p_api, IMAGES, &body(IMG, "a poster", json!({})), &[]).await?;
    let url = first_url(&resp)?;
    ensure!(
        key_of(ctx, &url)?.starts_with(&format!("{}/{project_id}/", t.instance_id)),
        "stored under the project: {url}"
    );
    images_of(&generate(&t, ctx, &body(IMG, "unscoped", json!({}))).await?)?;
    let seen = listed(&p_api, &t.instance_id, "").await?;
    ensure_eq!(
        seen.len(),
        1,
        "the project key sees its project's image only"
    );
    let all = listed(&t.api(ctx), &t.instance_id, "").await?;
    ensure_eq!(all.len(), 2, "the instance key sees both");
    let only = listed(
        &t.api(ctx),
        &t.instance_id,
        &format!("&project_id={project_id}"),
    )
    .await?;
    ensure_eq!(
        listed_keys(&only),
        listed_keys(&seen),
        "filtering by project"
    );
    let refused = p_api
        .get(&format!(
            "/admin/instances/{}/images?project_id={other}",
            t.instance_id
        ))
        .await?;
    expect_error(&refused, 403, "forbidden")?;
    Ok(())
}

/// images/min 10 for the key: 20 parallel single-image requests → exactly 10 pass and reach the
/// provider, 10 get 429 with Retry-After; requests/min counts images and text in separate windows.
async fn images_per_minute_admits_exactly_what_fits(ctx: &Ctx) -> Result<(), String> {
    let t = image_tenant(ctx, "img-ipm").await?;
    put_policy(
        ctx,
        &t.instance_id,
        "key",
        &t.key.id,
        json!({"images_per_minute": 10}),
    )
    .await?;
    let key = unique("ipm");
    let prompt = format!("a star [[sim: key={key}]]");
    let api = t.api(ctx);
    let shots = (0..20).map(|_| {
        let api = api.clone();
        let b = body(IMG, &prompt, json!({}));
        async move { post(&api, IMAGES, &b, &[]).await }
    });
    let answers: Vec<Resp> = join_all(shots)
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    let ok = answers.iter().filter(|r| r.status == 200).count();
    let limited: Vec<&Resp> = answers.iter().filter(|r| r.status == 429).collect();
    ensure_eq!(
        (ok, limited.len()),
        (10, 10),
        "statuses: {:?}",
        answers.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in &limited {
        expect_error(r, 429, "rate_limited")?;
        ensure!(
            r.header("retry-after").is_some(),
            "Retry-After on a refusal"
        );
    }
    ensure_eq!(
        attempts(ctx, &key).await?,
        10,
        "only the admitted reach the provider"
    );
    // Three more images cannot fit in the same minute; nor can one.
    expect_error(
        &generate(&t, ctx, &body(IMG, "more", json!({"n": 3}))).await?,
        429,
        "rate_limited",
    )?;
    // A policy in requests/min: images and text each have their own window.
    let u = image_tenant(ctx, "img-rpm").await?;
    put_policy(
        ctx,
        &u.instance_id,
        "key",
        &u.key.id,
        json!({"requests_per_minute": 2}),
    )
    .await?;
    for _ in 0..2 {
        images_of(&generate(&u, ctx, &body(IMG, "one", json!({}))).await?)?;
    }
    expect_error(
        &generate(&u, ctx, &body(IMG, "three", json!({}))).await?,
        429,
        "rate_limited",
    )?;
    let chat = post(
        &u.api(ctx),
        "/v1/chat/completions",
        &crate::wire::chat_body(GPT, "hi"),
        &[],
    )
    .await?;
    expect_status(&chat, 200)?;
    // More images than the limit allows in one request can never pass: 400 naming n.
    let w = image_tenant(ctx, "img-never").await?;
    put_policy(
        ctx,
        &w.instance_id,
        "key",
        "*",
        json!({"images_per_minute": 2}),
    )
    .await?;
    expect_error(
        &generate(&w, ctx, &body(IMG, "many", json!({"n": 3}))).await?,
        400,
        "invalid_field",
    )?
    .param_is("n")?;
    Ok(())
}

/// A refused prompt is a 400 `content_policy_violation` after one attempt; a 500 is retried and the
/// second attempt answers; a provider that keeps failing falls back to the next image model.
async fn image_faults_are_classified_and_retried(ctx: &Ctx) -> Result<(), String> {
    let t = image_tenant(ctx, "img-faults").await?;
    let key = unique("cp");
    let refused = generate(
        &t,
        ctx,
        &body(
            IMG,
            &format!("bad [[sim: key={key}, content_policy=1]]"),
            json!({}),
        ),
    )
    .await?;
    expect_error(&refused, 400, "content_policy_violation")?;
    ensure_eq!(
        attempts(ctx, &key).await?,
        1,
        "a refused prompt is not retried"
    );

    let key = unique("retry");
    let retried = generate(
        &t,
        ctx,
        &body(
            IMG,
            &format!("ok [[sim: key={key}, status=500, times=1]]"),
            json!({}),
        ),
    )
    .await?;
    images_of(&retried)?;
    ensure_eq!(retried.header("x-de-attempts"), Some("2"), "one retry");

    // The model keeps failing (3 attempts, its retries spent): the fallback answers the fourth.
    add_model(
        ctx,
        &t.instance_id,
        json!({"id": "img-main", "provider": "openai", "upstream_model": "dall-e-2",
               "capabilities": ["image"], "price_per_image": IMG_PRICE, "fallbacks": [IDEO]}),
    )
    .await?;
    let key = unique("fb");
    let prompt = format!("fb [[sim: key={key}, status=503, times=3]]");
    let fell_back = generate(&t, ctx, &body("img-main", &prompt, json!({}))).await?;
    images_of(&fell_back)?;
    ensure_eq!(
        fell_back.header("x-de-attempts"),
        Some("4"),
        "three failures, then the fallback"
    );
    ensure_eq!(attempts(ctx, &key).await?, 4, "four upstream calls");
    let rows = await_usage(&t.api(ctx), &t.instance_id, "model", |rows| {
        group(rows, "img-main").is_some()
    })
    .await?;
    let row = group(&rows, "img-main");
    ensure_eq!(
        count(row, "images"),
        1,
        "the fallback's image is counted under the caller's model"
    );
    let cost = row
        .and_then(|r| r.get("cost_usd"))
        .and_then(Value::as_f64)
        .unwrap_or(-1.0);
    ensure!(
        (cost - IDEO_PRICE).abs() < 1e-9,
        "priced at the fallback's price: {cost}"
    );
    Ok(())
}

/// A provider rate limit, a timeout, a malformed answer and image links that are dead when fetched end
/// in clean errors; a request that fails keeps none of its images (none listed, none served) and its
/// usage row counts no image and no cost — R2 first, then the row, all or nothing per request.
async fn failed_image_requests_leave_nothing_half_written(ctx: &Ctx) -> Result<(), String> {
    let t = image_tenant(ctx, "img-half").await?;
    let limited = generate(
        &t,
        ctx,
        &body(IMG, "x [[sim: status=429, retry_after=1]]", json!({})),
    )
    .await?;
    expect_error(&limited, 429, "rate_limited")?;
    ensure!(
        limited.header("retry-after").is_some(),
        "Retry-After passed on: {}",
        limited.describe()
    );
    let slow = post(
        &t.api(ctx),
        IMAGES,
        &body(IMG, "x [[sim: delay_ms=3000]]", json!({})),
        &[("x-de-timeout-ms", "300")],
    )
    .await?;
    expect_error(&slow, 504, "upstream_timeout")?;
    let broken = generate(&t, ctx, &body(IMG, "x [[sim: malformed=1]]", json!({}))).await?;
    expect_error(&broken, 502, "upstream_error")?;
    // Ideogram's links already dead when fetched (url_ttl_ms=0: the simulator answers 410).
    let dead = generate(
        &t,
        ctx,
        &body(IDEO, "x [[sim: url_ttl_ms=0]]", json!({"n": 2})),
    )
    .await?;
    expect_error(&dead, 502, "upstream_error")?;
    let dead_id = dead.request_id().unwrap_or_default().to_owned();
    ensure!(
        listed(&t.api(ctx), &t.instance_id, "").await?.is_empty(),
        "no image of a failed request is stored"
    );
    let query = format!(
        "SELECT status, kind, images, cost_usd FROM usage_events WHERE request_id = '{dead_id}'"
    );
    let mut rows = Vec::new();
    // The row is written after the response.
    for _ in 0..40 {
        rows = ctx.sql(&query).await?;
        if !rows.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let row = rows
        .first()
        .ok_or_else(|| format!("no usage row for {dead_id}"))?;
    ensure_eq!(
        row.get("status").and_then(Value::as_u64),
        Some(502),
        "status in {row}"
    );
    ensure_eq!(
        row.get("kind").and_then(Value::as_str),
        Some("image"),
        "kind in {row}"
    );
    ensure_eq!(
        row.get("images").and_then(Value::as_u64),
        Some(0),
        "no image counted in {row}"
    );
    ensure_eq!(
        row.get("cost_usd").and_then(Value::as_f64),
        Some(0.0),
        "no cost in {row}"
    );
    Ok(())
}

/// Malformed requests are 400s naming the field, before anything is generated.
async fn bad_image_requests_name_the_field(ctx: &Ctx) -> Result<(), String> {
    let t = image_tenant(ctx, "img-bad").await?;
    let cases = [
        (body(IMG, "x", json!({"n": 0})), "n"),
        (body(IMG, "x", json!({"n": 11})), "n"),
        (body(IMG, "x", json!({"size": "huge"})), "size"),
        (body(IMG, "x", json!({"quality": "ultra"})), "quality"),
        (
            body(IMG, "x", json!({"response_format": "png"})),
            "response_format",
        ),
        (body(IMG, "x", json!({"colour": "red"})), "colour"),
        (json!({"model": IMG}), "prompt"),
        (body(GPT, "x", json!({})), "model"),
    ];
    for (bad, param) in cases {
        let resp = generate(&t, ctx, &bad).await?;
        expect_error_in(&resp, &[400])?.param_is(param)?;
    }
    let chat_to_image = post(
        &t.api(ctx),
        "/v1/chat/completions",
        &crate::wire::chat_body(IMG, "hi"),
        &[],
    )
    .await?;
    expect_error_in(&chat_to_image, &[400])?.param_is("model")?;
    let unknown = generate(&t, ctx, &body("nope", "x", json!({}))).await?;
    expect_error(&unknown, 404, "model_not_found")?;
    let huge = body(IMG, &"x".repeat(300 * 1024), json!({}));
    expect_error_in(&generate(&t, ctx, &huge).await?, &[413])?;
    let admin = post(&ctx.admin(), IMAGES, &body(IMG, "x", json!({})), &[]).await?;
    expect_error(&admin, 403, "forbidden")?;
    let anon = post(&ctx.anon(), IMAGES, &body(IMG, "x", json!({})), &[]).await?;
    expect_error_in(&anon, &[401])?;
    Ok(())
}
