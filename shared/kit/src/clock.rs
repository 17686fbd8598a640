//! Wall-clock time from the JS host: `std::time` does not work on wasm32-unknown-unknown.

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    worker::js_sys::Date::now() as i64
}

/// A high-resolution timestamp in milliseconds for measuring durations inside one request.
pub fn tick_ms() -> f64 {
    worker::js_sys::Date::now()
}
