//! Runs test cases with bounded concurrency. Each case runs in its own task, so a panic is caught and
//! reported as that case's failure; each has a time bound.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use crate::ctx::Ctx;

pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// One named test case.
#[derive(Clone, Copy)]
pub struct Case {
    pub name: &'static str,
    pub run: for<'a> fn(&'a Ctx) -> CaseFuture<'a>,
}

/// `case!(fn_name)`: a [`Case`] named `<module>::<fn_name>` for `async fn fn_name(ctx: &Ctx) -> Result<(), String>`.
#[macro_export]
macro_rules! case {
    ($f:ident) => {
        $crate::Case {
            name: $crate::runner::short_name(concat!(module_path!(), "::", stringify!($f))),
            run: |ctx| Box::pin($f(ctx)),
        }
    };
}

/// Drops the crate name: `config_api::orgs::crud` → `orgs::crud`.
pub fn short_name(full: &'static str) -> &'static str {
    full.split_once("::").map_or(full, |(_, rest)| rest)
}

/// The outcome of one case.
pub struct Outcome {
    pub name: &'static str,
    pub result: Result<(), String>,
}

/// Prints `test <name> ... ok` or `... FAILED: <reason>`.
pub fn report(name: &str, result: &Result<(), String>) {
    match result {
        Ok(()) => println!("test {name} ... ok"),
        Err(reason) => println!("test {name} ... FAILED: {reason}"),
    }
}

/// Runs `cases`, at most `concurrency` at a time, each bounded by `bound`; prints each result as it ends.
pub async fn run_all(
    ctx: Arc<Ctx>,
    cases: Vec<Case>,
    concurrency: usize,
    bound: Duration,
) -> Vec<Outcome> {
    let mut pending = cases.into_iter();
    let mut running = JoinSet::new();
    let mut outcomes = Vec::new();
    loop {
        while running.len() < concurrency.max(1) {
            let Some(case) = pending.next() else { break };
            running.spawn(run_one(ctx.clone(), case, bound));
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let outcome = joined.unwrap_or_else(|e| Outcome {
            name: "<runner>",
            result: Err(format!("runner task failed: {e}")),
        });
        report(outcome.name, &outcome.result);
        outcomes.push(outcome);
    }
    outcomes
}

async fn run_one(ctx: Arc<Ctx>, case: Case, bound: Duration) -> Outcome {
    let task = tokio::spawn(async move {
        let ctx = ctx;
        tokio::time::timeout(bound, (case.run)(&ctx)).await
    });
    let result = match task.await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err(format!("timed out after {}s", bound.as_secs())),
        Err(e) if e.is_panic() => Err(format!("panicked: {}", panic_text(e.into_panic()))),
        Err(e) => Err(format!("task failed: {e}")),
    };
    Outcome {
        name: case.name,
        result,
    }
}

fn panic_text(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic".to_string()
    }
}

#[cfg(test)]
#[allow(clippy::panic, clippy::expect_used)]
mod tests {
    use super::*;

    async fn passes(_: &Ctx) -> Result<(), String> {
        Ok(())
    }

    async fn fails(_: &Ctx) -> Result<(), String> {
        Err("told to".into())
    }

    async fn panics(_: &Ctx) -> Result<(), String> {
        panic!("boom")
    }

    #[tokio::test]
    async fn a_panic_is_one_failed_case() {
        let http = crate::ctx::http_client().expect("client");
        let ctx = Arc::new(Ctx::new(
            "http://127.0.0.1:9".into(),
            http,
            "t".into(),
            ".".into(),
            ".".into(),
        ));
        let cases = vec![
            crate::case!(passes),
            crate::case!(fails),
            crate::case!(panics),
        ];
        let mut outcomes = run_all(ctx, cases, 2, Duration::from_secs(5)).await;
        outcomes.sort_by_key(|o| o.name);
        let got: Vec<(&str, bool)> = outcomes
            .iter()
            .map(|o| (o.name, o.result.is_ok()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("runner::tests::fails", false),
                ("runner::tests::panics", false),
                ("runner::tests::passes", true)
            ]
        );
        let panicked = outcomes
            .iter()
            .find(|o| o.name.ends_with("panics"))
            .expect("panics ran");
        assert!(matches!(&panicked.result, Err(e) if e.contains("boom")));
    }
}
