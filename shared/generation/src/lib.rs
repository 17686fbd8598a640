//! The generation pipeline as rules, sans-IO (in the style of quinn-proto and rustls): what one chat request
//! becomes before the upstream is called ([`plan()`]: the routes it may take, each with its checks, its
//! reservation and the exact upstream request; the cache key), what to do after each attempt ([`Run`]:
//! retry after a delay, fall back to the next route, or give up), and what a finished or cut request counts
//! ([`meter`]: the usage row and the rate-limit settlement). [`embed`] and [`images`] are the same
//! decisions for embeddings and image generation; [`spend`] is what a request may cost and did cost, for
//! the budgets.
//!
//! Contract: no I/O, no clock, no randomness. Time (`now_ms`) and jitter come in as arguments; the shell
//! (workers/text-gen, workers/image-gen) performs the admissions, fetches, sleeps and writes it is told to. No panics on any
//! input.

pub mod cache;
pub mod catalog;
pub mod embed;
pub mod images;
pub mod meter;
pub mod plan;
pub mod render;
pub mod run;
pub mod seed;
pub mod seed_images;
pub mod spend;

pub use catalog::{Catalog, ProviderKeyEntry, Route};
pub use images::{ImageLeg, ImagePlan};
pub use plan::{plan, Format, Leg, Plan, PlanInput};
pub use run::{Next, Run};
