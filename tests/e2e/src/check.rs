//! Assertions that return `Err(reason)` instead of panicking, so a case reports every failure with
//! the response that caused it. The error-envelope check follows the table in docs/api.md.

use serde_json::Value;

use crate::client::Resp;

/// `ensure!(cond, "format", args…)`: return `Err(message)` from the enclosing fn when `cond` is false.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// `ensure_eq!(left, right, "context", args…)`: return `Err` naming both sides when they differ.
#[macro_export]
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($msg:tt)+) => {
        match (&$left, &$right) {
            (l, r) => {
                if l != r {
                    return Err(format!("{}: {:?} != {:?}", format!($($msg)+), l, r));
                }
            }
        }
    };
}

/// The body when `resp` has `status`, else an error describing the response.
pub fn expect_status(resp: &Resp, status: u16) -> Result<&Value, String> {
    if resp.status == status {
        Ok(&resp.body)
    } else {
        Err(format!("expected {status}, got {}", resp.describe()))
    }
}

/// The envelope `type` docs/api.md gives for a status.
pub fn error_type_for(status: u16) -> Option<&'static str> {
    Some(match status {
        400 | 405 | 413 | 415 | 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        409 => "conflict_error",
        429 => "rate_limit_error",
        500 => "api_error",
        502 | 504 => "upstream_error",
        _ => return None,
    })
}

/// A checked error envelope.
#[derive(Debug)]
pub struct ApiErr {
    pub status: u16,
    pub code: String,
    pub message: String,
    /// `error.param`: the field the error is about, or `None` (null).
    pub param: Option<String>,
    described: String,
}

impl ApiErr {
    /// The message contains `needle` (messages name the field).
    pub fn message_contains(&self, needle: &str) -> Result<&Self, String> {
        if self.message.contains(needle) {
            Ok(self)
        } else {
            Err(format!(
                "error message does not name `{needle}`: {}",
                self.described
            ))
        }
    }

    /// `error.param` names `field`.
    pub fn param_is(&self, field: &str) -> Result<&Self, String> {
        if self.param.as_deref() == Some(field) {
            Ok(self)
        } else {
            Err(format!("expected param {field}, got {}", self.described))
        }
    }

    pub fn code_is(&self, code: &str) -> Result<&Self, String> {
        if self.code == code {
            Ok(self)
        } else {
            Err(format!("expected code {code}, got {}", self.described))
        }
    }
}

/// `resp` is the error envelope with `status` and `code`; see [`expect_error_in`].
pub fn expect_error(resp: &Resp, status: u16, code: &str) -> Result<ApiErr, String> {
    let err = expect_error_in(resp, &[status])?;
    err.code_is(code)?;
    Ok(err)
}

/// `resp` has one of `statuses` and the documented envelope: `error.type` matching the status,
/// non-empty `error.code` and `error.message`, and `error.request_id` equal to the `x-request-id` header.
pub fn expect_error_in(resp: &Resp, statuses: &[u16]) -> Result<ApiErr, String> {
    let described = resp.describe();
    if !statuses.contains(&resp.status) {
        return Err(format!("expected status in {statuses:?}, got {described}"));
    }
    let err = resp
        .body
        .get("error")
        .filter(|e| e.is_object())
        .ok_or_else(|| format!("no error envelope: {described}"))?;
    let field = |name: &str| {
        err.get(name)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (ty, code, message, request_id) = (
        field("type"),
        field("code"),
        field("message"),
        field("request_id"),
    );
    if let Some(want) = error_type_for(resp.status) {
        if ty != want {
            return Err(format!("error.type should be {want}: {described}"));
        }
    }
    if code.is_empty() || message.is_empty() {
        return Err(format!(
            "error.code and error.message must be non-empty: {described}"
        ));
    }
    match resp.request_id() {
        Some(header) if header == request_id => {}
        header => {
            return Err(format!(
                "error.request_id {request_id:?} != x-request-id header {header:?}: {described}"
            ))
        }
    }
    Ok(ApiErr {
        status: resp.status,
        code,
        message,
        param: err.get("param").and_then(Value::as_str).map(str::to_owned),
        described,
    })
}

/// A client must never see a 500 for a bad request.
pub fn not_500(resp: &Resp) -> Result<(), String> {
    if resp.status >= 500 {
        Err(format!("server error on bad input: {}", resp.describe()))
    } else {
        Ok(())
    }
}

/// The body contains none of the field names that could carry a secret or its hash.
pub fn no_secret_fields(body: &Value) -> Result<(), String> {
    const FORBIDDEN: [&str; 5] = ["secret", "key_hash", "hash", "sealed_key", "api_key"];
    match body {
        Value::Object(map) => {
            if let Some(name) = FORBIDDEN.iter().find(|f| map.contains_key(**f)) {
                return Err(format!("body has a `{name}` field: {body}"));
            }
            map.values().try_for_each(no_secret_fields)
        }
        Value::Array(items) => items.iter().try_for_each(no_secret_fields),
        _ => Ok(()),
    }
}

/// `text` (a whole response body) does not contain `secret`.
pub fn not_leaked(text: &str, secret: &str, what: &str) -> Result<(), String> {
    if text.contains(secret) {
        Err(format!("{what} contains the secret"))
    } else {
        Ok(())
    }
}

/// `s` is a documented id: `<prefix>_` + 26 Crockford base32 chars.
pub fn expect_id(s: &str, prefix: &str) -> Result<(), String> {
    const CROCKFORD: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let body = s
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .ok_or_else(|| format!("id {s:?} does not start with {prefix}_"))?;
    if body.len() == 26 && body.chars().all(|c| CROCKFORD.contains(c)) {
        Ok(())
    } else {
        Err(format!(
            "id {s:?} is not {prefix}_ + 26 Crockford base32 chars"
        ))
    }
}

/// `v[name]` is an integer timestamp (ms) within a day of `now_ms`.
pub fn expect_timestamp(v: &Value, name: &str, now_ms: i64) -> Result<i64, String> {
    let t = v
        .get(name)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("`{name}` is not an integer timestamp in {v}"))?;
    if (t - now_ms).abs() > 86_400_000 {
        return Err(format!(
            "`{name}` = {t} is not milliseconds near now ({now_ms})"
        ));
    }
    Ok(t)
}

/// The object has exactly these keys (no more, no fewer).
pub fn expect_keys(v: &Value, keys: &[&str]) -> Result<(), String> {
    let obj = v.as_object().ok_or_else(|| format!("not an object: {v}"))?;
    let mut have: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut want = keys.to_vec();
    have.sort_unstable();
    want.sort_unstable();
    if have == want {
        Ok(())
    } else {
        let extra: Vec<_> = have.iter().filter(|k| !want.contains(k)).collect();
        let missing: Vec<_> = want.iter().filter(|k| !have.contains(k)).collect();
        Err(format!(
            "fields differ from docs: extra {extra:?}, missing {missing:?} in {v}"
        ))
    }
}
