//! Revocation against cache fills in flight (issue 9): requests that read the key from D1 before the
//! revoke commits must not put it back in the KV or in-isolate caches after the revoke cleared them. The
//! local stack runs one isolate per worker, all told about the revoke, so the first request after the
//! revoke answered must be refused, in the config worker (`/v1/me`) and in text-gen (`/v1/models`).

use std::time::Duration;

use e2e::seed::{admin_key, seed_tenant};
use e2e::{case, expect_error, expect_status, Case, Ctx};
use futures_util::future::join_all;
use serde_json::json;

pub fn cases() -> Vec<Case> {
    vec![case!(revoke_wins_over_concurrent_cache_fills)]
}

/// Trials, each with a fresh (never cached) key.
const TRIALS: usize = 12;
/// Requests filling the caches while the revoke runs.
const FILLERS: usize = 8;

async fn revoke_wins_over_concurrent_cache_fills(ctx: &Ctx) -> Result<(), String> {
    let t = seed_tenant(ctx, "revoke-race").await?;
    for trial in 0..TRIALS {
        let key = admin_key(
            ctx,
            &t.instance_id,
            json!({"name": format!("race {trial}"), "scopes": ["generate", "admin:read"]}),
        )
        .await?;
        let as_key = ctx.with_key(&key.secret);
        // Cold caches: every filler reads D1; the revoke starts while they are in flight (staggered a
        // little differently each trial).
        let fillers = (0..FILLERS).map(|i| {
            let as_key = as_key.clone();
            async move {
                let path = if i % 2 == 0 { "/v1/me" } else { "/v1/models" };
                as_key.get(path).await.map(|r| r.status)
            }
        });
        let revoke = async {
            tokio::time::sleep(Duration::from_millis((trial % 4) as u64 * 2)).await;
            ctx.admin()
                .post(&format!("/admin/keys/{}/revoke", key.id), json!({}))
                .await
        };
        let (statuses, revoked) = tokio::join!(join_all(fillers), revoke);
        expect_status(&revoked?, 200)?;
        for status in statuses {
            let status = status?;
            if status != 200 && status != 401 {
                return Err(format!(
                    "a filler got {status} (want 200 before, 401 after)"
                ));
            }
        }
        for round in 0..3 {
            for path in ["/v1/me", "/v1/models"] {
                expect_error(&as_key.get(path).await?, 401, "key_revoked").map_err(|e| {
                    format!("trial {trial}, round {round}, {path} after the revoke answered: {e}")
                })?;
            }
        }
    }
    Ok(())
}
