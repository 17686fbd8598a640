//! Budgets on the generation path, as rules: a request's chain of scopes (key → project → instance →
//! org), whether the ledger must be asked at all, the worst case a route may cost (what is reserved), what
//! a finished request cost (what settles, taken from its usage row so the ledger and the usage summary
//! agree to the micro-dollar), and the 429 and headers a ledger's answer becomes.
//!
//! The worst case must never be below the real cost, or a budget could be overspent: prompts count by
//! `providers::tokens::prompt_tokens_bound` (a token per byte), completions by the `max_tokens` sent
//! upstream (which no provider exceeds), images by their price times `n`, and gpt-image's token-priced
//! images by the most tokens an image of the asked quality takes.

use budget::{format_usd, rfc3339, usd_to_micros, Cost, Dimension, Refusal, Remaining};
use envelope::ApiError;
use providers::images::{is_gpt_image, Quality};
use tenancy::principal::Principal;

use crate::catalog::Catalog;
use crate::embed::EmbedPlan;
use crate::images::ImageLeg;
use crate::plan::Leg;

/// The scopes a request of `principal` spends from, narrowest first.
pub fn chain(principal: &Principal) -> Vec<String> {
    let mut chain = vec![format!("key:{}", principal.key_id)];
    if let Some(project) = &principal.project_id {
        chain.push(format!("project:{project}"));
    }
    chain.push(format!("instance:{}", principal.instance_id));
    chain.push(format!("org:{}", principal.org_id));
    chain
}

/// The chain to reserve on, or `None` when none of its scopes has a budget (the ledger is not asked).
pub fn budget_chain(catalog: &Catalog, principal: &Principal) -> Option<Vec<String>> {
    let chain = chain(principal);
    catalog.has_budget(&chain).then_some(chain)
}

/// Dollars as micro-dollars, rounded to the nearest (as [`actual`] rounds a usage row's cost); an
/// amount that does not convert (not finite, negative, absurdly large) counts as `fallback`.
fn micros(usd: f64, fallback: u64) -> u64 {
    usd_to_micros(usd).unwrap_or(fallback)
}

/// What a chat route may cost at most: the prompt's bound and every completion token it may generate,
/// at the model's prices.
pub fn chat_worst(leg: &Leg) -> Cost {
    let config = &leg.route.config;
    let usd = config.cost_usd(leg.prompt_tokens_bound, leg.completion_tokens);
    Cost::new(
        micros(usd, u64::MAX),
        leg.prompt_tokens_bound
            .saturating_add(leg.completion_tokens),
    )
}

/// What an embeddings request may cost at most: its input's bound at the input price.
pub fn embed_worst(plan: &EmbedPlan) -> Cost {
    let usd = plan.route.config.cost_usd(plan.tokens_bound, 0);
    Cost::new(micros(usd, u64::MAX), plan.tokens_bound)
}

/// The most output tokens one gpt-image image takes, by quality (OpenAI's table: 1536×1024 is the
/// largest; `auto` and no quality may pick high).
fn gpt_image_tokens(quality: Option<Quality>) -> u64 {
    match quality {
        Some(Quality::Low) => 408,
        Some(Quality::Medium) => 1_584,
        _ => 6_240,
    }
}

/// What an image route may cost at most: `n` images at the route's price for the size and quality, or
/// for a token-priced gpt-image model the prompt's bound and the most tokens `n` images take.
pub fn image_worst(leg: &ImageLeg) -> Cost {
    let config = &leg.route.config;
    let n = u64::from(leg.request.n);
    let token_priced =
        config.input_price_per_mtok.is_some() || config.output_price_per_mtok.is_some();
    if token_priced && is_gpt_image(&config.upstream_model) {
        let prompt = providers::tokens::byte_tokens(&leg.request.prompt);
        let output = gpt_image_tokens(leg.request.quality).saturating_mul(n);
        let usd = config.cost_usd(prompt, output);
        // Whichever way the answer is billed (tokens, or per image when it has no usage).
        let per_image = leg.cost_usd(leg.request.n, None);
        return Cost::new(
            micros(usd.max(per_image), u64::MAX),
            prompt.saturating_add(output),
        );
    }
    Cost::new(micros(leg.cost_usd(leg.request.n, None), u64::MAX), 0)
}

/// What a request cost, from its usage row's figures.
pub fn actual(cost_usd: f64, prompt_tokens: u64, completion_tokens: u64) -> Cost {
    Cost::new(
        micros(cost_usd, 0),
        prompt_tokens.saturating_add(completion_tokens),
    )
}

/// A scope id as a message names it (`project prj_…`).
fn scope_words(scope: &str) -> String {
    match scope.split_once(':') {
        Some((kind, id)) => format!("{kind} {id}"),
        None => scope.to_string(),
    }
}

fn amount(dimension: Dimension, value: u64) -> String {
    match dimension {
        Dimension::Usd => format!("${}", format_usd(value)),
        Dimension::Tokens => format!("{value} tokens"),
    }
}

/// The 429 of a refusal: which budget, what is left of it against what the request may cost, and
/// when it resets (`Retry-After` then).
pub fn refusal_error(refusal: &Refusal, worst: Cost, now_ms: u64) -> ApiError {
    let dimension = refusal.dimension;
    let what = format!(
        "the {} budget of {} ({} {})",
        refusal.period.as_str(),
        scope_words(&refusal.scope),
        amount(dimension, refusal.limit),
        match dimension {
            Dimension::Usd => "in USD",
            Dimension::Tokens => "in tokens",
        }
    );
    let need = amount(dimension, worst.get(dimension));
    let message = if refusal.never {
        format!("budget exceeded: {what} is below what this request may cost (up to {need}), so it cannot be admitted until the budget is raised")
    } else {
        let left = amount(dimension, refusal.remaining);
        let reset = match refusal.resets_at_ms {
            Some(at) => format!("; it resets at {}", rfc3339(at)),
            None => "; it does not reset".to_string(),
        };
        format!("budget exceeded: {what} has {left} left, and this request may cost up to {need}{reset}")
    };
    ApiError::budget_exceeded(refusal.retry_after_secs(now_ms), message)
}

/// The response headers of the tightest budget of the chain, per dimension: its scope, what is left
/// and when it resets.
pub fn headers(remaining: &Remaining) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if let Some(usd) = &remaining.usd {
        out.push(("x-de-budget-scope", usd.scope.clone()));
        out.push(("x-de-budget-limit-usd", format_usd(usd.limit)));
        out.push(("x-de-budget-remaining-usd", format_usd(usd.remaining)));
        if let Some(at) = usd.resets_at_ms {
            out.push(("x-de-budget-reset-usd", rfc3339(at)));
        }
    }
    if let Some(tokens) = &remaining.tokens {
        if remaining.usd.is_none() {
            out.push(("x-de-budget-scope", tokens.scope.clone()));
        }
        out.push(("x-de-budget-limit-tokens", tokens.limit.to_string()));
        out.push(("x-de-budget-remaining-tokens", tokens.remaining.to_string()));
        if let Some(at) = tokens.resets_at_ms {
            out.push(("x-de-budget-reset-tokens", rfc3339(at)));
        }
    }
    out
}

#[cfg(test)]
mod tests;
