//! `GET /images/{key}` (and `HEAD`): a stored image, to anyone who holds its key — the key carries 128
//! random bits, so it cannot be guessed, and no tenant API lists another tenant's keys. A key of the wrong
//! shape, of another instance than a pinned deployment serves, or of no object is the same 404. Stored
//! images never change, so the answer is cacheable forever (`immutable`) and an `If-None-Match` with the
//! object's ETag gets a 304.

use envelope::{ApiError, ErrorKind};
use kit::call::Reply;
use kit::images::IMMUTABLE;
use kit::settings::Settings;
use providers::images::{parse_object_key, ImageFormat};
use worker::{Env, Request, Response};

pub async fn image(req: &Request, env: &Env, key: &str, body: bool) -> Reply {
    let settings = Settings::load(env)?;
    let Some(parts) = parse_object_key(key) else {
        return Err(no_image());
    };
    if settings
        .pinned_instance_id
        .as_deref()
        .is_some_and(|pinned| pinned != parts.instance_id)
    {
        return Err(no_image());
    }
    let bucket = kit::images::bucket(env)?;
    let if_none_match = req.headers().get("if-none-match")?;
    if if_none_match.is_some() || !body {
        let Some(object) = kit::images::head(&bucket, key).await? else {
            return Err(no_image());
        };
        let etag = object.http_etag();
        if if_none_match
            .as_deref()
            .is_some_and(|tags| matches(tags, &etag))
        {
            let mut reply = Response::empty()?.with_status(304);
            headers(&mut reply, &etag, None, None)?;
            return Ok(reply);
        }
        if !body {
            let mut reply = Response::empty()?;
            let content_type = object.http_metadata().content_type;
            headers(
                &mut reply,
                &etag,
                content_type.as_deref(),
                Some(object.size()),
            )?;
            return Ok(reply);
        }
    }
    let Some(object) = kit::images::get(&bucket, key).await? else {
        return Err(no_image());
    };
    let etag = object.http_etag();
    let size = object.size();
    let content_type = object
        .http_metadata()
        .content_type
        .or_else(|| ImageFormat::from_ext(parts.ext).map(|format| format.mime().to_owned()));
    let Some(stream) = object.body() else {
        return Err(no_image());
    };
    let mut reply = Response::from_body(stream.response_body()?)?;
    headers(&mut reply, &etag, content_type.as_deref(), Some(size))?;
    Ok(reply)
}

/// Whether an `If-None-Match` list names `etag` (or is `*`); weak and strong forms compare equal.
fn matches(header: &str, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let etag = bare(etag);
    header
        .split(',')
        .any(|tag| tag.trim() == "*" || bare(tag) == etag)
}

fn headers(
    reply: &mut Response,
    etag: &str,
    content_type: Option<&str>,
    size: Option<u64>,
) -> worker::Result<()> {
    let headers = reply.headers_mut();
    headers.set("etag", etag)?;
    headers.set("cache-control", IMMUTABLE)?;
    // The bytes are what their type says (checked when stored); never let a browser guess otherwise.
    headers.set("x-content-type-options", "nosniff")?;
    headers.set("content-security-policy", "default-src 'none'; sandbox")?;
    if let Some(content_type) = content_type {
        headers.set("content-type", content_type)?;
    }
    if let Some(size) = size {
        headers.set("content-length", &size.to_string())?;
    }
    Ok(())
}

fn no_image() -> kit::Fault {
    ApiError::new(
        ErrorKind::NotFound,
        "image_not_found",
        "no image has this key",
    )
    .into()
}
