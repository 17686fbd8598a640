//! The hot path's calls on the host, made on the raw Web API objects.
//!
//! workers-rs' convenience types cost more than the work they wrap on a path that runs for every request:
//! `Response::bytes` reads a body through a stream reader whose release builds a `TypeError` with a
//! captured stack, a `worker::Response` re-wraps the body in a new JS `Response`, and a `Delay` raced
//! against a fetch needs a Rust closure, a JS timer and two wake-ups. Here: `fetch(url, init)` with the
//! headers and body in the init (no intermediate `Request`), `arrayBuffer()` for whole bodies, and
//! `AbortSignal.timeout` for a deadline that covers the headers and the body (the host aborts both).

use worker::js_sys::{Object, Promise, Reflect, Uint8Array};
use worker::wasm_bindgen::{self, prelude::wasm_bindgen, JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::worker_sys::web_sys::{
    AbortSignal, Headers, ReadableStream, ReadableStreamDefaultReader, Request, RequestInit,
    Response,
};
use worker::Env;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(input: &str, init: &RequestInit) -> Promise;

    /// A service binding (only its `fetch` is used).
    pub type RawService;
    #[wasm_bindgen(method, js_name = fetch)]
    fn fetch(this: &RawService, request: &Request) -> Promise;

    /// A Durable Object stub (only its `fetch` is used).
    pub type RawStub;
    #[wasm_bindgen(method, js_name = fetch)]
    fn fetch(this: &RawStub, input: &str, init: &RequestInit) -> Promise;
}

/// An outbound request.
pub struct Outbound<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

impl Outbound<'_> {
    fn init(&self, signal: Option<&AbortSignal>) -> Result<RequestInit, JsValue> {
        let init = RequestInit::new();
        init.set_method(self.method);
        if !self.headers.is_empty() {
            let headers = Headers::new()?;
            for (name, value) in self.headers {
                headers.set(name, value)?;
            }
            init.set_headers(&headers);
        }
        if !self.body.is_empty() {
            init.set_body(&Uint8Array::from(self.body));
        }
        if let Some(signal) = signal {
            init.set_signal(Some(signal));
        }
        Ok(init)
    }
}

/// A signal that aborts `ms` milliseconds from now.
pub fn deadline(ms: u64) -> AbortSignal {
    AbortSignal::timeout_with_f64(ms as f64)
}

/// `fetch(url, init)` on the global scope.
pub async fn fetch(req: &Outbound<'_>, signal: Option<&AbortSignal>) -> Result<Response, JsValue> {
    let init = req.init(signal)?;
    JsFuture::from(global_fetch(req.url, &init))
        .await
        .map(JsCast::unchecked_into)
}

/// `stub.fetch(url, init)` on a Durable Object stub.
pub async fn fetch_stub(
    stub: &RawStub,
    req: &Outbound<'_>,
    signal: Option<&AbortSignal>,
) -> Result<Response, JsValue> {
    let init = req.init(signal)?;
    JsFuture::from(stub.fetch(req.url, &init))
        .await
        .map(JsCast::unchecked_into)
}

/// Hands `request` as it is to the worker behind the service binding `binding`, and its response back.
pub async fn pass(env: &Env, binding: &str, request: &Request) -> worker::Result<Response> {
    JsFuture::from(pass_promise(env, binding, request)?)
        .await
        .map(JsCast::unchecked_into)
        .map_err(worker::Error::from)
}

/// [`pass`] without awaiting: the binding's own promise of the response, for a handler that returns it as
/// it is.
pub fn pass_promise(env: &Env, binding: &str, request: &Request) -> worker::Result<Promise> {
    let service: RawService = env.service(binding)?.into_rpc();
    Ok(service.fetch(request))
}

/// A whole body through `arrayBuffer()`.
pub async fn bytes(response: &Response) -> Result<Vec<u8>, JsValue> {
    let buffer = JsFuture::from(response.array_buffer()?).await?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// A response header.
pub fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).ok().flatten()
}

/// A JS error's message, for logs.
pub fn describe(error: &JsValue) -> String {
    error
        .dyn_ref::<worker::js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// A body read with a byte limit (see [`read_stream`]).
pub enum Bounded {
    /// The whole body, at most the limit.
    Whole(Vec<u8>),
    /// More than the limit arrived; reading stopped there and the stream was cancelled.
    TooLarge,
}

/// Reads `stream` chunk by chunk and stops as soon as more than `limit` bytes arrived, so a body that
/// declares no length (chunked, or decompressed by the runtime) is never buffered past the limit.
pub async fn read_stream(stream: Option<ReadableStream>, limit: usize) -> Result<Bounded, JsValue> {
    let Some(stream) = stream else {
        return Ok(Bounded::Whole(Vec::new()));
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read()).await?;
        if Reflect::get(&chunk, &JsValue::from_str("done"))?.is_truthy() {
            return Ok(Bounded::Whole(body));
        }
        let value = Reflect::get(&chunk, &JsValue::from_str("value"))?;
        let bytes: Uint8Array = value.unchecked_into();
        if body.len() + bytes.length() as usize > limit {
            // Best effort: the caller answers at once; an error while cancelling changes nothing.
            let _cancelled = reader.cancel();
            return Ok(Bounded::TooLarge);
        }
        let start = body.len();
        body.resize(start + bytes.length() as usize, 0);
        if let Some(target) = body.get_mut(start..) {
            bytes.copy_to(target);
        }
    }
}

/// A response body of at most `limit` bytes. A `content-length` within the limit on an unencoded body
/// bounds what `arrayBuffer()` can return (the fast path); otherwise the body is counted as it streams in.
pub async fn bytes_limited(response: &Response, limit: usize) -> Result<Bounded, JsValue> {
    let encoded = header(response, "content-encoding").is_some_and(|e| e != "identity");
    let declared = header(response, "content-length").and_then(|v| v.parse::<usize>().ok());
    match declared {
        Some(n) if n > limit => Ok(Bounded::TooLarge),
        Some(_) if !encoded => Ok(Bounded::Whole(bytes(response).await?)),
        _ => read_stream(response.body(), limit).await,
    }
}

#[wasm_bindgen]
extern "C" {
    /// A `TransformStream` built from a transformer object of callbacks.
    type RawTransformStream;
    #[wasm_bindgen(constructor, catch, js_class = "TransformStream", js_name = TransformStream)]
    fn new_with(transformer: &Object) -> Result<RawTransformStream, JsValue>;
    #[wasm_bindgen(method, getter)]
    fn readable(this: &RawTransformStream) -> ReadableStream;
    #[wasm_bindgen(method, getter)]
    fn writable(this: &RawTransformStream) -> JsValue;

    /// `TransformStreamDefaultController`.
    type StreamController;
    #[wasm_bindgen(method, catch)]
    fn enqueue(this: &StreamController, chunk: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn terminate(this: &StreamController) -> Result<(), JsValue>;
    #[wasm_bindgen(method, getter, js_name = desiredSize)]
    fn desired_size(this: &StreamController) -> JsValue;

    /// A `ReadableStream`, for its `pipeTo`.
    type PipeSource;
    #[wasm_bindgen(method, js_name = pipeTo)]
    fn pipe_to(this: &PipeSource, destination: &JsValue, options: &Object) -> Promise;
}

/// What [`pipe`] does with a stream's bytes: called synchronously by the runtime, chunk by chunk.
pub trait Transform: 'static {
    /// The bytes to send for one chunk of the source (possibly none).
    fn chunk(&mut self, bytes: &[u8]) -> Vec<u8>;
    /// Whether the stream is over for this transform (it sent its last bytes): the runtime then closes it.
    fn finished(&self) -> bool;
    /// The source ended: the last bytes.
    fn end(&mut self) -> Vec<u8>;
    /// The source failed (`caller_gone: false`: the bytes returned still reach the caller), or the caller
    /// went away (`caller_gone: true`: nothing can be sent any more).
    fn fail(&mut self, caller_gone: bool) -> Vec<u8>;
}

/// A running [`pipe`]: the callbacks the runtime calls, kept alive until [`Piping::done`].
pub struct Piping<T: Transform> {
    state: std::rc::Rc<std::cell::RefCell<T>>,
    controller: std::rc::Rc<std::cell::RefCell<Option<StreamController>>>,
    piped: Promise,
    _callbacks: Vec<worker::wasm_bindgen::closure::Closure<dyn FnMut(JsValue, JsValue)>>,
}

fn send(ctl: &StreamController, out: &[u8]) {
    if !out.is_empty() {
        // A caller that went away makes this fail; the pipe's end says so.
        let _sent = ctl.enqueue(&Uint8Array::from(out).into());
    }
}

/// `source` piped through `transform` by the runtime itself (`pipeTo` into a `TransformStream`): each
/// chunk is one synchronous call into `transform`, with no future, task or promise of ours per chunk. The
/// returned stream is the response body; await [`Piping::done`] (in `wait_until`) to learn how it ended
/// and to free the callbacks. A failing source does not abort the caller's side (`preventAbort`), so
/// [`Transform::fail`] can still send its last bytes; a caller that goes away cancels the source.
pub fn pipe<T: Transform>(
    source: ReadableStream,
    transform: T,
) -> Result<(ReadableStream, Piping<T>), JsValue> {
    use std::cell::RefCell;
    use std::rc::Rc;
    use worker::wasm_bindgen::closure::Closure;

    let state = Rc::new(RefCell::new(transform));
    let controller: Rc<RefCell<Option<StreamController>>> = Rc::new(RefCell::new(None));
    // One signature for every callback (the runtime passes what it passes; the rest is undefined).
    let start = {
        let controller = controller.clone();
        Closure::<dyn FnMut(JsValue, JsValue)>::new(move |ctl: JsValue, _: JsValue| {
            *controller.borrow_mut() = Some(ctl.unchecked_into());
        })
    };
    let on_chunk = {
        let state = state.clone();
        Closure::<dyn FnMut(JsValue, JsValue)>::new(move |chunk: JsValue, ctl: JsValue| {
            let ctl: StreamController = ctl.unchecked_into();
            let bytes = Uint8Array::new(&chunk).to_vec();
            let (out, finished) = {
                let mut s = state.borrow_mut();
                let out = s.chunk(&bytes);
                (out, s.finished())
            };
            send(&ctl, &out);
            if finished {
                let _closed = ctl.terminate();
            }
        })
    };
    let on_flush = {
        let state = state.clone();
        Closure::<dyn FnMut(JsValue, JsValue)>::new(move |ctl: JsValue, _: JsValue| {
            let ctl: StreamController = ctl.unchecked_into();
            let out = {
                let mut s = state.borrow_mut();
                if s.finished() {
                    Vec::new()
                } else {
                    s.end()
                }
            };
            send(&ctl, &out);
        })
    };
    let transformer = Object::new();
    Reflect::set(&transformer, &"start".into(), start.as_ref())?;
    Reflect::set(&transformer, &"transform".into(), on_chunk.as_ref())?;
    Reflect::set(&transformer, &"flush".into(), on_flush.as_ref())?;
    let stream = RawTransformStream::new_with(&transformer)?;
    let options = Object::new();
    Reflect::set(&options, &"preventAbort".into(), &JsValue::TRUE)?;
    let piped = source
        .unchecked_into::<PipeSource>()
        .pipe_to(&stream.writable(), &options);
    Ok((
        stream.readable(),
        Piping {
            state,
            controller,
            piped,
            _callbacks: vec![start, on_chunk, on_flush],
        },
    ))
}

impl<T: Transform> Piping<T> {
    /// Waits until the pipe is over. A source that failed, or a caller that went away, ends in
    /// [`Transform::fail`] (its bytes sent while the caller is there). Then the callbacks are freed.
    pub async fn done(self) {
        if JsFuture::from(self.piped.clone()).await.is_ok() {
            return;
        }
        let ctl = self.controller.borrow();
        // A caller that went away closed (or errored) the readable side: nothing can be queued there.
        let caller_gone = ctl.as_ref().is_none_or(|c| {
            c.desired_size().is_null() || c.enqueue(&Uint8Array::new_with_length(0).into()).is_err()
        });
        let out = {
            let mut s = self.state.borrow_mut();
            if s.finished() {
                return;
            }
            s.fail(caller_gone)
        };
        if let (Some(ctl), false) = (ctl.as_ref(), caller_gone) {
            send(ctl, &out);
            let _closed = ctl.terminate();
        }
    }
}
