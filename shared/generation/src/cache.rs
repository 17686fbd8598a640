//! The opt-in exact response cache's key: only deterministic requests (temperature 0, not streamed), and
//! scoped so that no two tenants, projects or configurations share an entry.

use sha2::{Digest, Sha256};

use crate::plan::Leg;

/// The key under which `leg`'s answer is cached, or `None` when the request is not deterministic. It
/// covers the instance and project (a project never reads another's answers), the model config and
/// provider key as they are now (any change to either starts new entries: the old ones are never read
/// again and expire), and the exact request as sent upstream.
pub fn key(instance_id: &str, project_id: Option<&str>, leg: &Leg) -> Option<String> {
    let request = &leg.request;
    if request.stream || request.temperature != Some(0.0) {
        return None;
    }
    let canonical = serde_json::to_vec(request).ok()?;
    let config = &leg.route.config;
    let mut hash = Sha256::new();
    for part in [
        project_id.unwrap_or("-").as_bytes(),
        leg.route.model.as_bytes(),
        config.id.as_bytes(),
        config.upstream_model.as_bytes(),
        leg.route.provider_key.as_bytes(),
        config.updated_at.to_string().as_bytes(),
        leg.route.key_updated_at.to_string().as_bytes(),
        &canonical,
    ] {
        hash.update(part);
        hash.update([0]);
    }
    Some(format!(
        "resp:v2:{instance_id}:{}",
        hex::encode(hash.finalize())
    ))
}
