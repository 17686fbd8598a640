//! The one worker-bound crate: implements the ports the pure crates need with workers-rs — settings and
//! bindings, clock and randomness, request context and responses, principal resolution (KV + D1), and the D1
//! repositories. Shells (`workers/*`) build these and route; they hold no SQL and no business rule.

pub mod bindings;
pub mod budget;
pub mod call;
pub mod clock;
pub mod fault;
pub mod generate;
pub mod images;
pub mod limiter;
pub mod memo;
pub mod principal;
pub mod random;
pub mod raw;
pub mod settings;
pub mod store;
pub mod upstream;
pub mod usage;

pub use call::Call;
pub use fault::Fault;
