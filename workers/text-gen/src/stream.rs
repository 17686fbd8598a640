//! Streaming responses: the upstream's SSE is decoded into provider-neutral deltas and re-encoded in the
//! caller's format as it arrives, each delta counted on its way out. The runtime pumps the bytes itself
//! (`kit::raw::pipe`: the upstream body `pipeTo` a `TransformStream` whose callbacks are [`Pump`]'s), so a
//! chunk costs one synchronous call here, no future or promise of ours. A stream the upstream cuts ends with
//! an error event, never a clean finish. When the stream ends — completely, cut by the upstream, or
//! dropped by the caller — its usage row and settlement are recorded (see `generation::meter`: a cut
//! stream keeps its reservation and counts at least what was sent, never zero).

use crate::job::Job;
use crate::reply::{self, Outcome};
use futures_channel::oneshot;
use generation::meter::{End, Meter};
use generation::render::response_id;
use generation::Format;
use kit::call::Reply;
use kit::generate::Finish;
use kit::generate::Hold;
use kit::upstream::Answer;
use providers::chat::Delta;
use providers::upstream::{ProviderKind, StreamDecoder, UpstreamError};
use worker::{Context, Env, Response};

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

/// Translates the upstream's bytes for the caller, counting on the way; the runtime calls it chunk by chunk
/// (see `kit::raw::pipe`).
struct Pump {
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

    /// A stream error: the caller gets the error frame, the row counts the stream as cut.
    fn fail_with(&mut self, err: &UpstreamError, out: &mut String) {
        let error = err.to_api_error();
        out.push_str(&self.encoder.error(&error, &self.request_id));
        self.report(error.status(), Some(error.code.to_string()), End::Cut);
    }
}

impl kit::raw::Transform for Pump {
    fn chunk(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = String::new();
        if self.end.is_none() {
            return Vec::new();
        }
        match self.decoder.feed(bytes) {
            Ok(deltas) => self.encode(&deltas, &mut out),
            Err(err) => self.fail_with(&err, &mut out),
        }
        out.into_bytes()
    }

    fn finished(&self) -> bool {
        self.end.is_none()
    }

    fn end(&mut self) -> Vec<u8> {
        let mut out = String::new();
        match self.decoder.finish() {
            Ok(deltas) => {
                self.encode(&deltas, &mut out);
                self.encoder.close(&mut out);
                self.report(200, None, End::Complete);
            }
            Err(err) => self.fail_with(&err, &mut out),
        }
        out.into_bytes()
    }

    fn fail(&mut self, caller_gone: bool) -> Vec<u8> {
        if caller_gone {
            self.report(499, Some("client_closed".to_string()), End::Cut);
            return Vec::new();
        }
        let mut out = String::new();
        self.fail_with(&UpstreamError::Truncated, &mut out);
        out.into_bytes()
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
    hold: Hold,
    answer: Answer,
    kind: ProviderKind,
    mut finish: Finish,
) -> Reply {
    let Some(leg) = job.leg(finish.leg) else {
        return Err(kit::Fault::Data("a stream without a route".into()));
    };
    let meter = Meter::new(leg);
    let encoder = Encoder::new(&job, job.model());
    let upstream = match answer.response.body() {
        worker::ResponseBody::Stream(stream) => stream.clone(),
        _ => {
            let fault = kit::Fault::Data("the upstream stream has no body".into());
            return Err(reply::fault(env, ctx, &job, hold, fault, finish));
        }
    };
    let (end_tx, end_rx) = oneshot::channel::<StreamEnd>();
    let pump = Pump {
        decoder: StreamDecoder::new(kind),
        encoder,
        meter: meter.clone(),
        end: Some(end_tx),
        request_id: job.request_id.clone(),
    };
    let (body, piping) = match kit::raw::pipe(upstream, pump) {
        Ok(piped) => piped,
        Err(e) => {
            let fault = kit::Fault::Data(format!("piping the stream: {}", kit::raw::describe(&e)));
            return Err(reply::fault(env, ctx, &job, hold, fault, finish));
        }
    };
    let mut response = Response::from_body(worker::ResponseBody::Stream(body))?;
    kit::generate::decorate(
        response.headers_mut(),
        job.started_ms,
        &hold,
        finish,
        "text/event-stream",
    )?;
    response.headers_mut().set("cache-control", "no-cache")?;
    // The platform's share of a stream is what it spent before the first byte; the rest is the upstream's.
    let overhead_ms = (kit::clock::tick_ms() - job.started_ms - finish.upstream_ms).max(0.0);
    let env = env.clone();
    ctx.wait_until(async move {
        piping.done().await;
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
        let instance_id = job.principal.instance_id.clone();
        kit::usage::record_now(&env, instance_id, hold, tally.settle_tokens, event).await;
    });
    Ok(response)
}
