//! Copies an upstream's images into R2 before the caller is answered: inline bytes are decoded, URLs
//! (Ideogram's expire within hours) are fetched at once — https only, loopback only in local development,
//! at most [`IMAGE_LIMIT`] bytes each, one retry — and every image is recognised by its bytes, stored
//! under a fresh unguessable key with its provenance, and given back as a URL on this platform. All of a
//! request's images are kept or none: the usage row, written after the answer, counts what was kept.

use crate::generate::Job;
use futures_util::future::join_all;
use generation::images::ImageLeg;
use kit::images::Provenance;
use kit::{clock, random, upstream, Fault};
use providers::images::{
    self, ImageContent, ImageFile, ImageResponse, ResponseFormat, StoredImage,
};
use providers::upstream::{HttpRequest, UpstreamError};
use worker::Env;

/// The most one image may weigh (gpt-image's largest PNGs are a few MB).
pub const IMAGE_LIMIT: usize = 16 * 1024 * 1024;

pub enum Failure {
    /// The upstream's image could not be had (fetch failed, not an image, too large).
    Upstream(UpstreamError),
    /// Ours (R2 refused, a binding is missing).
    Ours(Fault),
}

/// One image as stored.
pub struct Stored {
    pub key: String,
    pub image: StoredImage,
}

/// Stores every image of `answer`, in parallel; all or nothing from the caller's view (an image that
/// failed fails the request, so the caller is never shown fewer images than were stored and billed
/// silently).
pub async fn keep(
    env: &Env,
    job: &Job,
    leg: &ImageLeg,
    answer: &ImageResponse,
) -> Result<Vec<Stored>, Failure> {
    let bucket = kit::images::bucket(env).map_err(Failure::Ours)?;
    let created_ms = clock::now_ms();
    let provenance = Provenance {
        prompt_sha256: images::prompt_hash(&leg.request.prompt),
        model: leg.request.model.clone(),
        provider: leg.route.provider_key.clone(),
        upstream_model: leg.route.config.upstream_model.clone(),
        size: leg.request.size.map(|s| s.to_wire()).unwrap_or_default(),
        request_id: job.request_id.clone(),
        key_id: job.principal.key_id.clone(),
        created_ms,
    };
    let want_bytes = leg.request.response_format == ResponseFormat::B64Json;
    let each = answer.images.iter().map(|generated| {
        let (bucket, provenance) = (&bucket, &provenance);
        async move {
            let (file, b64) = bytes_of(job, &generated.content).await?;
            let id = images::image_id(&random::bytes::<16>());
            let key = images::object_key(
                &job.principal.instance_id,
                job.principal.project_id.as_deref(),
                created_ms,
                &id,
                file.format.ext(),
            );
            let b64 = match (want_bytes, b64) {
                (false, _) => None,
                (true, Some(b64)) => Some(b64),
                (true, None) => Some(images::encode_b64(&file.bytes)),
            };
            kit::images::put(bucket, &key, file.bytes, file.format.mime(), provenance)
                .await
                .map_err(Failure::Ours)?;
            let url = format!("{}{}{key}", job.origin, crate::routes::IMAGES_PREFIX);
            Ok(Stored {
                key,
                image: StoredImage {
                    url,
                    b64,
                    revised_prompt: generated.revised_prompt.clone(),
                },
            })
        }
    });
    let results: Vec<Result<Stored, Failure>> = join_all(each).await;
    if results.iter().all(Result::is_ok) {
        return results.into_iter().collect();
    }
    // Nothing half-written: the images already stored of a request that fails are deleted again (a
    // request's images are all kept, with their usage row, or none is).
    let mut failure = None;
    let mut orphans = Vec::new();
    for result in results {
        match result {
            Ok(stored) => orphans.push(stored.key),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    for key in orphans {
        if let Err(e) = kit::images::delete(&bucket, &key).await {
            worker::console_error!("deleting an image of a failed request failed: {}", e);
        }
    }
    Err(failure.unwrap_or(Failure::Ours(Fault::Data("a stored image failed".into()))))
}

/// The image's bytes, and its base64 when the upstream gave that (so it is not encoded again).
async fn bytes_of(
    job: &Job,
    content: &ImageContent,
) -> Result<(ImageFile, Option<String>), Failure> {
    match content {
        ImageContent::Bytes { b64, .. } => images::decode_b64(b64, IMAGE_LIMIT)
            .map(|file| (file, Some(b64.clone())))
            .map_err(Failure::Upstream),
        ImageContent::Url { url } => fetch(job, url).await.map(|file| (file, None)),
    }
}

/// Fetches an upstream's image URL, retrying once what may pass on a second try.
async fn fetch(job: &Job, url: &str) -> Result<ImageFile, Failure> {
    tenancy::inputs::check_upstream("url", url, job.settings.allow_loopback_upstreams).map_err(
        |e| {
            Failure::Upstream(UpstreamError::Malformed {
                detail: format!("the provider's image URL was refused: {}", e.message),
            })
        },
    )?;
    let http = HttpRequest {
        method: "GET",
        url: url.to_owned(),
        headers: Vec::new(),
        body: Vec::new(),
    };
    let mut tries = 0;
    loop {
        tries += 1;
        match upstream::fetch_within(&http, job.plan.timeout_ms, IMAGE_LIMIT).await {
            Ok(bytes) => {
                return images::image_file(bytes, IMAGE_LIMIT).map_err(Failure::Upstream);
            }
            Err(err) if tries < 2 && err.is_retryable() => continue,
            // Whatever the image host said (an expired link is a 403), it is the provider's answer that
            // failed, not the caller's key or request.
            Err(err) => {
                return Err(Failure::Upstream(UpstreamError::Malformed {
                    detail: format!(
                        "the provider's image could not be fetched ({})",
                        err.kind_name()
                    ),
                }))
            }
        }
    }
}
