//! `simulator [--port P] [--host H] [--log]`: the provider simulator as a process.
//!
//! Its first stdout line is exactly `listening on http://HOST:PORT` (flushed), so scripts can start
//! it with `--port 0` and read the port it got. Behaviour (token rule, reply words, `[[sim: ...]]`
//! fault directives) is documented in README.md beside this crate's Cargo.toml.
//!
//! Deterministic in brief: prompt_tokens = Σ over messages (words + 3) + 3, where a message's
//! words are its whitespace-separated words (text parts joined; Anthropic `system` is one more
//! message; directives count as words); the reply is N words cycling "alpha beta gamma …",
//! N = min(`tokens=` or 16, max_tokens when given); completion_tokens = N.

use std::io::Write as _;
use std::process::ExitCode;

use simulator::{serve, Settings};
use tokio::net::TcpListener;

const USAGE: &str = "usage: simulator [--port P] [--host H] [--log]
  --port P   port to listen on (default 0: any free port)
  --host H   address to bind (default 127.0.0.1)
  --log      print one line per request";

/// Worker threads: the simulator shares a 2-core machine with the stack it serves.
const WORKER_THREADS: usize = 2;

struct Options {
    host: String,
    port: u16,
    log: bool,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        host: "127.0.0.1".to_string(),
        port: 0,
        log: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let value = args.next().ok_or("--port needs a value")?;
                options.port = value.parse().map_err(|_| format!("bad port: {value}"))?;
            }
            "--host" => options.host = args.next().ok_or("--host needs a value")?,
            "--log" => options.log = true,
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(Some(options))
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("simulator: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .enable_all()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(run(options)),
        Err(error) => {
            eprintln!("simulator: cannot start the runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> ExitCode {
    let listener = match TcpListener::bind((options.host.as_str(), options.port)).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!(
                "simulator: cannot bind {}:{}: {error}",
                options.host, options.port
            );
            return ExitCode::FAILURE;
        }
    };
    let address = match listener.local_addr() {
        Ok(address) => address,
        Err(error) => {
            eprintln!("simulator: no local address: {error}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout();
    // Scripts block on this line; a closed stdout only means nobody is reading it.
    let _ = writeln!(stdout, "listening on http://{address}").and_then(|()| stdout.flush());
    let settings = Settings { log: options.log };
    match serve(listener, settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("simulator: {error}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Option<Options>, String> {
        parse_args(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn parses_flags() {
        let Ok(Some(options)) = parse(&["--port", "8089", "--host", "0.0.0.0", "--log"]) else {
            panic!("flags should parse");
        };
        assert_eq!(
            (options.host.as_str(), options.port, options.log),
            ("0.0.0.0", 8089, true)
        );
        let Ok(Some(defaults)) = parse(&[]) else {
            panic!("no flags should parse");
        };
        assert_eq!((defaults.host.as_str(), defaults.port), ("127.0.0.1", 0));
    }

    #[test]
    fn rejects_bad_flags() {
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--port", "http"]).is_err());
        assert!(parse(&["--what"]).is_err());
        assert!(matches!(parse(&["--help"]), Ok(None)));
    }
}
