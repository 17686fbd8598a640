//! The text generation gateway. A tenant app changes `base_url` and key in its OpenAI or Anthropic SDK and
//! keeps working: `POST /v1/chat/completions`, `POST /v1/messages`, `POST /v1/embeddings`, `GET /v1/models`,
//! and the seed's
//! `POST /generate`, through rate limits, retries and fallbacks, with usage recorded after the response.
//! Also hosts the rate limiter and budget ledger Durable Objects.

mod budgets;
mod cache;
mod embed;
mod generate;
mod job;
mod limiter;
mod models;
mod reply;
mod routes;
mod stream;

use kit::Call;
use worker::{event, Context, Env, Request, Response, Result};

pub use budgets::Budgets;
pub use limiter::Limiter;

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> Result<Response> {
    let call = Call::begin(&req);
    let result = routes::handle(&mut req, &env, &ctx, &call).await;
    call.finish(result)
}
