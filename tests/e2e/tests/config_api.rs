//! End-to-end tests of the config API (docs/api.md) against the local stack.
//!
//! `cargo test -p e2e --test config_api [-- <substring>...]` starts `scripts/stack up` once, runs the
//! matching cases (4 at a time), stops the stack, then checks the stack log for leaked secrets.

use std::process::ExitCode;

use e2e::Case;

#[path = "config_api/access.rs"]
mod access;
#[path = "config_api/auth.rs"]
mod auth;
#[path = "config_api/bad_input.rs"]
mod bad_input;
#[path = "config_api/conflicts.rs"]
mod conflicts;
#[path = "config_api/escalation.rs"]
mod escalation;
#[path = "config_api/instances.rs"]
mod instances;
#[path = "config_api/isolation.rs"]
mod isolation;
#[path = "config_api/isolation_readonly.rs"]
mod isolation_readonly;
#[path = "config_api/isolation_roles.rs"]
mod isolation_roles;
#[path = "config_api/keys.rs"]
mod keys;
#[path = "config_api/keys_lifecycle.rs"]
mod keys_lifecycle;
#[path = "config_api/models.rs"]
mod models;
#[path = "config_api/ops.rs"]
mod ops;
#[path = "config_api/orgs.rs"]
mod orgs;
#[path = "config_api/pagination.rs"]
mod pagination;
#[path = "config_api/projects.rs"]
mod projects;
#[path = "config_api/provider_keys.rs"]
mod provider_keys;
#[path = "config_api/revocation.rs"]
mod revocation;
#[path = "config_api/sessions.rs"]
mod sessions;
#[path = "config_api/users.rs"]
mod users;

fn all_cases() -> Vec<Case> {
    [
        ops::cases(),
        auth::cases(),
        orgs::cases(),
        instances::cases(),
        projects::cases(),
        pagination::cases(),
        users::cases(),
        keys::cases(),
        keys_lifecycle::cases(),
        escalation::cases(),
        provider_keys::cases(),
        models::cases(),
        conflicts::cases(),
        isolation::cases(),
        isolation_roles::cases(),
        isolation_readonly::cases(),
        bad_input::cases(),
        revocation::cases(),
        sessions::cases(),
    ]
    .concat()
}

fn main() -> ExitCode {
    e2e::suite::main(all_cases(), |_| Ok(Box::new(())))
}
