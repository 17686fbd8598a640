//! The image generation gateway. `POST /v1/images/generations` in the OpenAI wire format (and the seed's
//! `POST /generate` for image models, passed on by text-gen) through the same principals, rate limiter
//! and usage rows as text, to OpenAI, OpenAI-compatible servers or Ideogram 3.0. Upstream URLs expire, so
//! every image is copied at once into R2; the answer points at `GET /images/{key}`, which serves the
//! stored bytes to anyone holding the (unguessable) key.

mod generate;
mod routes;
mod serve;
mod store;

use kit::Call;
use worker::{event, Context, Env, Request, Response, Result};

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, ctx: Context) -> Result<Response> {
    let call = Call::begin(&req);
    let result = routes::handle(&mut req, &env, &ctx, &call).await;
    call.finish(result)
}
