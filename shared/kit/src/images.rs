//! Generated images in R2: stored once under the key `providers::images::object_key` gives, with their
//! provenance as custom metadata (never the prompt itself, only its hash), listed per instance (or
//! project) page by page, served, and deleted.

use crate::bindings;
use crate::fault::Fault;
use std::collections::HashMap;
use worker::{Bucket, Env, HttpMetadata, Include, Object};

/// Where an image came from, kept with the object.
#[derive(Debug, Clone, PartialEq)]
pub struct Provenance {
    pub prompt_sha256: String,
    pub model: String,
    pub provider: String,
    pub upstream_model: String,
    /// `WxH`, `auto`, or empty when the caller did not say.
    pub size: String,
    pub request_id: String,
    pub key_id: String,
    pub created_ms: i64,
}

impl Provenance {
    fn to_metadata(&self) -> HashMap<String, String> {
        HashMap::from([
            ("prompt_sha256".to_owned(), self.prompt_sha256.clone()),
            ("model".to_owned(), self.model.clone()),
            ("provider".to_owned(), self.provider.clone()),
            ("upstream_model".to_owned(), self.upstream_model.clone()),
            ("size".to_owned(), self.size.clone()),
            ("request_id".to_owned(), self.request_id.clone()),
            ("key_id".to_owned(), self.key_id.clone()),
            ("created".to_owned(), self.created_ms.to_string()),
        ])
    }
}

/// One stored image as an operator sees it in a listing.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub object: &'static str,
    pub key: String,
    pub size_bytes: u64,
    pub content_type: Option<String>,
    pub etag: String,
    pub uploaded_ms: u64,
    /// The custom metadata as stored (see [`Provenance`]).
    pub metadata: HashMap<String, String>,
}

/// A page of a listing and where the next one starts.
pub struct Page {
    pub entries: Vec<Entry>,
    pub next_cursor: Option<String>,
}

pub fn bucket(env: &Env) -> Result<Bucket, Fault> {
    Ok(env.bucket(bindings::IMAGES)?)
}

/// Stores `bytes` at `key` (the caller's key is fresh: ids are random), immutable once written.
pub async fn put(
    bucket: &Bucket,
    key: &str,
    bytes: Vec<u8>,
    content_type: &str,
    provenance: &Provenance,
) -> Result<(), Fault> {
    bucket
        .put(key, bytes)
        .http_metadata(HttpMetadata {
            content_type: Some(content_type.to_owned()),
            cache_control: Some(IMMUTABLE.to_owned()),
            ..HttpMetadata::default()
        })
        .custom_metadata(provenance.to_metadata())
        .execute()
        .await?;
    Ok(())
}

/// Stored images never change: a URL names one set of bytes forever.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The object at `key` with its body, or `None`.
pub async fn get(bucket: &Bucket, key: &str) -> Result<Option<Object>, Fault> {
    Ok(bucket.get(key).execute().await?)
}

/// The object at `key` without its body, or `None`.
pub async fn head(bucket: &Bucket, key: &str) -> Result<Option<Object>, Fault> {
    Ok(bucket.head(key).await?)
}

/// Up to `limit` images under `prefix` (which ends in `/`), in key order, from `cursor`.
pub async fn list(
    bucket: &Bucket,
    prefix: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page, Fault> {
    let mut listing = bucket
        .list()
        .prefix(prefix)
        .limit(limit)
        .include(vec![Include::HttpMetadata, Include::CustomMetadata]);
    if let Some(cursor) = cursor {
        listing = listing.cursor(cursor);
    }
    let objects = listing.execute().await?;
    let entries = objects
        .objects()
        .iter()
        .map(|object| Entry {
            object: "image",
            key: object.key(),
            size_bytes: object.size(),
            content_type: object.http_metadata().content_type,
            etag: object.http_etag(),
            uploaded_ms: object.uploaded().as_millis(),
            metadata: object.custom_metadata().unwrap_or_default(),
        })
        .collect();
    let next_cursor = if objects.truncated() {
        objects.cursor()
    } else {
        None
    };
    Ok(Page {
        entries,
        next_cursor,
    })
}

pub async fn delete(bucket: &Bucket, key: &str) -> Result<(), Fault> {
    Ok(bucket.delete(key).await?)
}
