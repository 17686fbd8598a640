//! Turning a request's directive into what happens to it: count the attempt, decide whether the
//! faults still apply (`times=`), wait (`delay_ms=`), and answer with an injected error.
//! The body-level faults (malformed, cut, paced streams) are left in the returned directive for
//! the endpoint to apply, since only it knows its body.

use std::time::Duration;

use hyper::Response;

use crate::attempts::Attempts;
use crate::body::SimBody;
use crate::directive::Directive;
use crate::errors::{ApiError, Shape};

/// Runs the request-level faults. `Ok` carries the faults still to apply to the body; `Err` is
/// the injected error answer.
pub async fn admit(
    shape: Shape,
    directive: Directive,
    attempts: &Attempts,
) -> Result<Directive, Response<SimBody>> {
    let faults = active(directive, attempts);
    if let Some(ms) = faults.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(status) = faults.status {
        let error = ApiError::injected(status).retry_after(faults.retry_after);
        return Err(error.render(shape));
    }
    if faults.content_policy {
        return Err(ApiError::content_policy(shape).render(shape));
    }
    Ok(faults)
}

/// Counts the attempt under its key and drops the faults once `times` attempts have had them.
fn active(directive: Directive, attempts: &Attempts) -> Directive {
    let Some(key) = directive.key.as_deref() else {
        return directive;
    };
    let attempt = attempts.record(key);
    match directive.times {
        Some(times) if attempt > times => directive.without_faults(),
        _ => directive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_limits_faults_to_the_first_attempts() {
        let attempts = Attempts::default();
        let directive = Directive::scan(["[[sim: status=500, times=2, key=k, tokens=3]]"]);
        assert_eq!(active(directive.clone(), &attempts).status, Some(500));
        assert_eq!(active(directive.clone(), &attempts).status, Some(500));
        let third = active(directive, &attempts);
        assert_eq!((third.status, third.tokens), (None, Some(3)));
        assert_eq!(attempts.count("k"), 3);
    }

    #[test]
    fn without_times_every_attempt_fails_and_is_counted() {
        let attempts = Attempts::default();
        let directive = Directive::scan(["[[sim: status=503, key=k]]"]);
        for _ in 0..3 {
            assert_eq!(active(directive.clone(), &attempts).status, Some(503));
        }
        assert_eq!(attempts.count("k"), 3);
    }
}
