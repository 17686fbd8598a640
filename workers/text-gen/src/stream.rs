//! Streaming responses: the upstream's SSE is decoded into provider-neutral deltas and re-encoded in the
//! caller's format as it arrives, each delta counted on its way out. A stream the upstream cuts ends with
//! an error event, never a clean finish. When the stream ends — completely, cut by the upstream, or
//! dropped by the caller — its usage row and settlement are recorded (see `generation::meter`: a cut
//! stream keeps its reservation and counts at least what was sent, never zero).

use crate::job::{Finish, Job};
use crate::reply::{self, Outcome};
use futures_channel::oneshot;
use futures_util::StreamExt;
use generation::meter::{End, Meter};
use generation::render::response_id;
use generation::Format;
use kit::call::Reply;
use kit::upstream::Answer;
use limits::Admission;
use providers::chat::Delta;
use providers::upstream::{ProviderKind, StreamDecoder, UpstreamError};
use worker::{ByteStream, Context, Env, Response};

/// A piece stops taking more chunks at this size (latency and memory stay bounded).
const COALESCE_BYTES: usize = 64 * 1024;

/// How a stream ended, for the usage row.
struct StreamEnd {
    status: u16,
    error_code: Option<String>,
    end: End,
    usage: Option<providers::chat::Usage>,
    meter: Meter,
}

enum Encoder {
    OpenAi(providers::openai::ChunkEncoder),
    Anthropic(providers::anthropic::EventEncoder),
    Responses(providers::responses::ResponseEncoder),
}

impl Encoder {
    fn new(job: &Job, model: &str) -> Encoder {
        let created = kit::clock::now_ms() / 1000;
        let id = response_id(job.plan.format, &job.request_id);
        match job.plan.format {
            Format::Anthropic => {
                Encoder::Anthropic(providers::anthropic::EventEncoder::new(id, model))
            }
            Format::Responses => Encoder::Responses(providers::responses::ResponseEncoder::new(
                id, model, created,
            )),
            Format::OpenAi | Format::Seed => {
                let include_usage = job.leg(0).is_some_and(|l| l.request.include_usage());
                Encoder::OpenAi(providers::openai::ChunkEncoder::new(
                    id,
                    model,
                    created,
                    include_usage,
                ))
            }
        }
    }

    fn encode(&mut self, delta: &Delta, out: &mut String) {
        let frames = match self {
            Encoder::OpenAi(e) => e.encode(delta),
            Encoder::Anthropic(e) => e.encode(delta),
            Encoder::Responses(e) => e.encode(delta),
        };
        frames.iter().for_each(|f| out.push_str(f));
    }

    /// The frames that close a complete stream.
    fn close(&mut self, out: &mut String) {
        match self {
            Encoder::OpenAi(e) => out.push_str(&e.done()),
            Encoder::Anthropic(e) => e.finish().iter().for_each(|f| out.push_str(f)),
            Encoder::Responses(e) => e.finish().iter().for_each(|f| out.push_str(f)),
        }
    }

    fn error(&self, error: &envelope::ApiError, request_id: &str) -> String {
        match self {
            Encoder::OpenAi(_) => providers::openai::ChunkEncoder::error_frame(error, request_id),
            Encoder::Anthropic(_) => {
                providers::anthropic::EventEncoder::error_frame(error, request_id)
            }
            Encoder::Responses(e) => e.error_frame(error, request_id),
        }
    }
}

/// Moves bytes from the upstream to the caller, translating and counting on the way.
struct Pump {
    upstream: ByteStream,
    decoder: StreamDecoder,
    encoder: Encoder,
    meter: Meter,
    end: Option<oneshot::Sender<StreamEnd>>,
    request_id: String,
}

impl Pump {
    fn report(&mut self, status: u16, error_code: Option<String>, end: End) {
        if let Some(sender) = self.end.take() {
            let _ = sender.send(StreamEnd {
                status,
                error_code,
                end,
                usage: self.decoder.usage(),
                meter: self.meter.clone(),
            });
        }
    }

    fn encode(&mut self, deltas: &[Delta], out: &mut String) {
        for delta in deltas {
            self.meter.sent(delta);
            self.encoder.encode(delta, out);
        }
    }

    /// The next non-empty piece of our stream, or `None` once it has ended. It waits for the upstream's next
    /// chunk, then takes every chunk that is already there (the read of a queued chunk settles before a
    /// zero timer fires): events that arrive together leave together, so every hop after us moves one
    /// piece instead of one per event. A read cut short by the timer is not lost: the stream keeps it
    /// pending for the next call.
    async fn next_piece(mut self) -> Option<(worker::Result<Vec<u8>>, Pump)> {
        self.end.as_ref()?;
        let mut out = String::new();
        loop {
            let chunk = if out.is_empty() {
                self.upstream.next().await
            } else {
                let more = std::pin::pin!(self.upstream.next());
                let idle = std::pin::pin!(worker::Delay::from(std::time::Duration::ZERO));
                match futures_util::future::select(more, idle).await {
                    futures_util::future::Either::Left((chunk, _)) => chunk,
                    futures_util::future::Either::Right(_) => break,
                }
            };
            let deltas = match chunk {
                Some(Ok(bytes)) => self.decoder.feed(&bytes),
                Some(Err(_)) => Err(UpstreamError::Truncated),
                None => self.decoder.finish().map(|deltas| {
                    self.encode(&deltas, &mut out);
                    self.encoder.close(&mut out);
                    self.report(200, None, End::Complete);
                    Vec::new()
                }),
            };
            match deltas {
                Ok(deltas) => self.encode(&deltas, &mut out),
                Err(err) => {
                    let error = err.to_api_error();
                    out.push_str(&self.encoder.error(&error, &self.request_id));
                    self.report(error.status(), Some(error.code.to_string()), End::Cut);
                }
            }
            if self.end.is_none() || out.len() >= COALESCE_BYTES {
                break;
            }
        }
        Some((Ok(out.into_bytes()), self))
    }
}

impl Drop for Pump {
    /// The caller went away before the end: what was generated so far still counts.
    fn drop(&mut self) {
        self.report(499, Some("client_closed".to_string()), End::Cut);
    }
}

/// Streams `answer` (the upstream's accepted stream) to the caller; records when the stream ends.
pub fn respond(
    env: &Env,
    ctx: &Context,
    job: Job,
    admission: Option<Admission>,
    mut answer: Answer,
    kind: ProviderKind,
    mut finish: Finish,
) -> Reply {
    let Some(leg) = job.leg(finish.leg) else {
        return Err(kit::Fault::Data("a stream without a route".into()));
    };
    let meter = Meter::new(leg);
    let encoder = Encoder::new(&job, job.model());
    let upstream = match answer.response.stream() {
        Ok(upstream) => upstream,
        Err(e) => return Err(reply::fault(env, ctx, &job, admission, e.into(), finish)),
    };
    let (end_tx, end_rx) = oneshot::channel::<StreamEnd>();
    let pump = Pump {
        upstream,
        decoder: StreamDecoder::new(kind),
        encoder,
        meter: meter.clone(),
        end: Some(end_tx),
        request_id: job.request_id.clone(),
    };
    let body = futures_util::stream::unfold(pump, Pump::next_piece);
    let mut response = Response::from_stream(body)?;
    reply::decorate(
        response.headers_mut(),
        job.started_ms,
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
            end: End::Cut,
            usage: None,
            meter,
        });
        finish.upstream_ms = (kit::clock::tick_ms() - job.started_ms - overhead_ms).max(0.0);
        let tally = end.meter.tally(end.end, end.usage);
        let outcome = Outcome {
            status: end.status,
            error_code: end.error_code,
            tally,
            finish,
        };
        let event = reply::usage_event(&job, &outcome);
        let settle = reply::settle_call(admission, tally.settle_tokens);
        reply::record(&env, job.principal.instance_id.clone(), settle, event).await;
    });
    Ok(response)
}
