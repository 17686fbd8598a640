//! The hot path's calls on the host, made on the raw Web API objects.
//!
//! workers-rs' convenience types cost more than the work they wrap on a path that runs for every request:
//! `Response::bytes` reads a body through a stream reader whose release builds a `TypeError` with a
//! captured stack, a `worker::Response` re-wraps the body in a new JS `Response`, and a `Delay` raced
//! against a fetch needs a Rust closure, a JS timer and two wake-ups. Here: `fetch(url, init)` with the
//! headers and body in the init (no intermediate `Request`), `arrayBuffer()` for whole bodies, and
//! `AbortSignal.timeout` for a deadline that covers the headers and the body (the host aborts both).

use worker::js_sys::{Promise, Reflect, Uint8Array};
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
