//! Streaming responses: the upstream's SSE is decoded into provider-neutral deltas and re-encoded in the
//! caller's format as it arrives. A stream the upstream cuts ends with an error event, never a clean
//! finish; usage (what the upstream billed, even on a cut) is recorded when the stream ends.

use crate::job::{call_with_fallbacks, Format, Job};
use crate::reply::{self, Finish, Outcome};
use futures_channel::oneshot;
use futures_util::StreamExt;
use kit::call::Reply;
use kit::upstream;
use limits::Admission;
use providers::chat::{Delta, Usage};
use providers::upstream::{StreamDecoder, UpstreamError};
use worker::{ByteStream, Context, Env, Response};

/// How a stream ended, for the usage row.
struct StreamEnd {
    status: u16,
    error_code: Option<String>,
    usage: Usage,
}

enum Encoder {
    OpenAi(providers::openai::ChunkEncoder),
    Anthropic(providers::anthropic::EventEncoder),
}

impl Encoder {
    fn new(job: &Job) -> Encoder {
        let created = kit::clock::now_ms() / 1000;
        match job.format {
            Format::Anthropic => Encoder::Anthropic(providers::anthropic::EventEncoder::new(
                message_id(job),
                &job.route.model,
            )),
            Format::OpenAi | Format::Seed => Encoder::OpenAi(providers::openai::ChunkEncoder::new(
                format!("chatcmpl-{}", job.request_id),
                &job.route.model,
                created,
                include_usage(job),
            )),
        }
    }

    fn encode(&mut self, delta: &Delta, out: &mut String) {
        let frames = match self {
            Encoder::OpenAi(e) => e.encode(delta),
            Encoder::Anthropic(e) => e.encode(delta),
        };
        frames.iter().for_each(|f| out.push_str(f));
    }

    /// The frames that close a complete stream.
    fn close(&mut self, out: &mut String) {
        match self {
            Encoder::OpenAi(e) => out.push_str(&e.done()),
            Encoder::Anthropic(e) => e.finish().iter().for_each(|f| out.push_str(f)),
        }
    }

    fn error(&self, error: &envelope::ApiError, request_id: &str) -> String {
        match self {
            Encoder::OpenAi(_) => providers::openai::ChunkEncoder::error_frame(error, request_id),
            Encoder::Anthropic(_) => {
                providers::anthropic::EventEncoder::error_frame(error, request_id)
            }
        }
    }
}

/// Anthropic message ids look like `msg_…`; ours carry the request id.
fn message_id(job: &Job) -> String {
    format!("msg_{}", job.request_id.trim_start_matches("req_"))
}

/// Whether an OpenAI caller asked for the final usage chunk (`stream_options.include_usage`).
fn include_usage(job: &Job) -> bool {
    let options = job.request.extra.get("stream_options");
    options
        .and_then(|o| o.get("include_usage"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false)
}

/// Moves bytes from the upstream to the caller, translating on the way.
struct Pump {
    upstream: ByteStream,
    decoder: StreamDecoder,
    encoder: Encoder,
    end: Option<oneshot::Sender<StreamEnd>>,
    request_id: String,
}

impl Pump {
    fn report(&mut self, status: u16, error_code: Option<String>) {
        if let Some(end) = self.end.take() {
            let usage = self.decoder.usage().unwrap_or_default();
            let _ = end.send(StreamEnd {
                status,
                error_code,
                usage,
            });
        }
    }

    /// The next non-empty piece of our stream, or `None` once it has ended.
    async fn next_piece(mut self) -> Option<(worker::Result<Vec<u8>>, Pump)> {
        self.end.as_ref()?;
        let mut out = String::new();
        while out.is_empty() {
            let deltas = match self.upstream.next().await {
                Some(Ok(bytes)) => self.decoder.feed(&bytes),
                Some(Err(_)) => Err(UpstreamError::Truncated),
                None => self.decoder.finish().map(|deltas| {
                    deltas.iter().for_each(|d| self.encoder.encode(d, &mut out));
                    self.encoder.close(&mut out);
                    self.report(200, None);
                    Vec::new()
                }),
            };
            match deltas {
                Ok(deltas) => deltas.iter().for_each(|d| self.encoder.encode(d, &mut out)),
                Err(err) => {
                    let error = err.to_api_error();
                    out.push_str(&self.encoder.error(&error, &self.request_id));
                    self.report(error.status(), Some(error.code.to_string()));
                }
            }
            if self.end.is_none() {
                break;
            }
        }
        Some((Ok(out.into_bytes()), self))
    }
}

impl Drop for Pump {
    /// The caller went away before the end: record what the upstream billed so far.
    fn drop(&mut self) {
        self.report(499, Some("client_closed".to_string()));
    }
}

pub async fn respond(env: &Env, ctx: &Context, job: Job, admission: Option<Admission>) -> Reply {
    let called = call_with_fallbacks(&job, |http, kind, timeout| async move {
        upstream::send(&http, timeout)
            .await
            .map(|answer| (answer, kind))
    })
    .await?;
    let mut finish = Finish {
        attempts: called.attempts,
        upstream_ms: called.upstream_ms,
        cached: false,
    };
    let ((mut answer, kind), route) = match called.result {
        Ok(value) => value,
        Err(err) => return reply::failure(env, ctx, &job, admission, &err, finish),
    };
    let (end_tx, end_rx) = oneshot::channel::<StreamEnd>();
    let pump = Pump {
        upstream: answer.response.stream()?,
        decoder: StreamDecoder::new(kind),
        encoder: Encoder::new(&job),
        end: Some(end_tx),
        request_id: job.request_id.clone(),
    };
    let body = futures_util::stream::unfold(pump, Pump::next_piece);
    let mut response = Response::from_stream(body)?;
    reply::decorate(
        response.headers_mut(),
        &job,
        admission.as_ref(),
        finish,
        "text/event-stream",
    )?;
    response.headers_mut().set("cache-control", "no-cache")?;
    // The platform's share of a stream is what it spent before the first byte; the rest is the upstream's.
    let overhead_ms = (kit::clock::tick_ms() - job.started_ms - finish.upstream_ms).max(0.0);
    let env = env.clone();
    ctx.wait_until(async move {
        let end = end_rx.await.unwrap_or(StreamEnd {
            status: 499,
            error_code: Some("client_closed".into()),
            usage: Usage::default(),
        });
        finish.upstream_ms = (kit::clock::tick_ms() - job.started_ms - overhead_ms).max(0.0);
        let outcome = Outcome {
            status: end.status,
            error_code: end.error_code,
            route: Some(&route),
            usage: end.usage,
            finish,
        };
        let event = reply::usage_event(&job, &outcome);
        let settle = reply::settle_call(admission, &end.usage);
        reply::record(&env, job.principal.instance_id.clone(), settle, event).await;
    });
    Ok(response)
}
