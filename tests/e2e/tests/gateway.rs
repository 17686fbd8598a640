//! End-to-end tests of the text generation gateway (docs/api.md, "Tenant API") against the local stack,
//! with the provider simulator (tools/simulator) standing in for OpenAI and Anthropic.
//!
//! `cargo test -p e2e --test gateway [-- <substring>...]` starts `scripts/stack up` and the simulator
//! once, runs the matching cases (each on a fresh tenant), stops both, then checks the stack log for
//! leaked secrets.

use std::process::ExitCode;

use e2e::sim::Sim;
use e2e::Case;

#[path = "gateway/access_changes.rs"]
mod access_changes;
#[path = "gateway/anthropic.rs"]
mod anthropic;
#[path = "gateway/bad_input.rs"]
mod bad_input;
#[path = "gateway/budgets.rs"]
mod budgets;
#[path = "gateway/cache.rs"]
mod cache;
#[path = "gateway/cross_format.rs"]
mod cross_format;
#[path = "gateway/cut_streams.rs"]
mod cut_streams;
#[path = "gateway/embeddings.rs"]
mod embeddings;
#[path = "gateway/fallbacks.rs"]
mod fallbacks;
#[path = "gateway/faults.rs"]
mod faults;
#[path = "gateway/generate.rs"]
mod generate;
#[path = "gateway/hardening.rs"]
mod hardening;
#[path = "gateway/hardening_usage.rs"]
mod hardening_usage;
#[path = "gateway/images.rs"]
mod images;
#[path = "gateway/models.rs"]
mod models;
#[path = "gateway/observe.rs"]
mod observe;
#[path = "gateway/openai.rs"]
mod openai;
#[path = "gateway/python.rs"]
mod python;
#[path = "gateway/rate_limits.rs"]
mod rate_limits;
#[path = "gateway/responses.rs"]
mod responses;
#[path = "gateway/stream_timing.rs"]
mod stream_timing;
#[path = "gateway/streams.rs"]
mod streams;
#[path = "gateway/tenant.rs"]
mod tenant;
#[path = "gateway/token_limits.rs"]
mod token_limits;
#[path = "gateway/tools.rs"]
mod tools;
#[path = "gateway/usage.rs"]
mod usage;
#[path = "gateway/wire.rs"]
mod wire;

/// Cases wait on retries, backoff and timeouts more than on the CPU.
fn all_cases() -> Vec<Case> {
    [
        openai::cases(),
        anthropic::cases(),
        cross_format::cases(),
        generate::cases(),
        models::cases(),
        usage::cases(),
        rate_limits::cases(),
        token_limits::cases(),
        faults::cases(),
        cut_streams::cases(),
        hardening::cases(),
        stream_timing::cases(),
        fallbacks::cases(),
        cache::cases(),
        bad_input::cases(),
        hardening_usage::cases(),
        tools::cases(),
        embeddings::cases(),
        images::cases(),
        budgets::cases(),
        responses::cases(),
        python::cases(),
        access_changes::cases(),
        observe::cases(),
    ]
    .concat()
}

fn main() -> ExitCode {
    e2e::suite::main(all_cases(), start_simulator)
}

/// The provider simulator every tenant's provider keys point at; stopped when the guard drops.
fn start_simulator(root: &std::path::Path) -> Result<Box<dyn std::any::Any>, String> {
    let sim = Sim::start(root)?;
    println!("simulator: {}", sim.upstream().base);
    tenant::set_upstream(sim.upstream());
    Ok(Box::new(sim))
}
