//! Client of the rate limiter Durable Object (one object per instance, hosted by the text-gen worker):
//! one call admits and records atomically; a second call, after the response, settles the reservation.

use crate::bindings;
use crate::fault::Fault;
use limits::{Admission, Check, Reservation};
use serde::{Deserialize, Serialize};
use worker::{Env, Method, Request, RequestInit};

#[derive(Serialize, Deserialize)]
pub struct AdmitCall {
    pub checks: Vec<Check>,
    pub tokens: u64,
}

#[derive(Serialize, Deserialize)]
pub struct SettleCall {
    pub reservation: Reservation,
    pub actual_tokens: u64,
}

async fn post<B: Serialize>(
    env: &Env,
    instance_id: &str,
    path: &str,
    body: &B,
) -> Result<worker::Response, Fault> {
    let stub = env
        .durable_object(bindings::LIMITER)?
        .get_by_name(instance_id)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(body)?.into()));
    // The host part is ignored by a Durable Object; the path selects the operation.
    let req = Request::new_with_init(&format!("https://limiter{path}"), &init)?;
    Ok(stub.fetch_with_request(req).await?)
}

pub async fn admit(env: &Env, instance_id: &str, call: &AdmitCall) -> Result<Admission, Fault> {
    let mut response = post(env, instance_id, "/admit", call).await?;
    // Bytes + serde_json: cheaper in WASM than the JS JSON.parse + serde_wasm_bindgen walk of `json()`.
    Ok(serde_json::from_slice(&response.bytes().await?)?)
}

/// Settles several reservations of one instance in one call.
pub async fn settle(env: &Env, instance_id: &str, calls: &[SettleCall]) -> Result<(), Fault> {
    post(env, instance_id, "/settle", &calls).await?;
    Ok(())
}
