//! A simulator per test, request helpers, and helpers to read (possibly cut) streams.

use serde_json::Value;
use simulator::{serve, Settings};
use tokio::net::TcpListener;

pub struct Sim {
    pub base: String,
    pub http: reqwest::Client,
}

impl Sim {
    /// Serves on a free port inside the test's runtime; dropped with it.
    pub async fn start() -> Sim {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = serve(listener, Settings::default()).await;
        });
        Sim {
            base,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn openai(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/v1/chat/completions"))
            .bearer_auth("sk-test")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn anthropic(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(self.url("/v1/messages"))
            .header("x-api-key", "sk-ant-test")
            .header("anthropic-version", "2023-06-01")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /v1/ideogram-v3/generate` with `fields` as a multipart form, as the gateway encodes it.
    pub async fn ideogram_v3(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        let boundary = "----sim-test-boundary";
        self.http
            .post(self.url("/v1/ideogram-v3/generate"))
            .header("Api-Key", "ideo-test")
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(form(boundary, fields))
            .send()
            .await
            .unwrap()
    }

    /// `GET /_sim/requests/<key>`: the last body recorded under `key`.
    pub async fn last_request(&self, key: &str) -> Value {
        let url = self.url(&format!("/_sim/requests/{key}"));
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200, "nothing recorded under {key}");
        response.json::<Value>().await.unwrap()["last"].clone()
    }

    pub async fn attempts(&self, key: &str) -> u64 {
        let url = self.url(&format!("/_sim/attempts/{key}"));
        let body: Value = self
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        body["attempts"].as_u64().unwrap()
    }
}

/// A `multipart/form-data` body of text fields (CRLF line ends, closing delimiter).
pub fn form(boundary: &str, fields: &[(&str, &str)]) -> Vec<u8> {
    let mut body = String::new();
    for (name, value) in fields {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    body.into_bytes()
}

/// A body read to its end, or to the point where the connection broke.
pub struct Drained {
    pub text: String,
    /// False when the body ended in a transport error (the server cut it).
    pub complete: bool,
}

pub async fn drain(mut response: reqwest::Response) -> Drained {
    let mut bytes = Vec::new();
    let complete = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    Drained {
        text: String::from_utf8(bytes).unwrap(),
        complete,
    }
}

/// The SSE events of `text` as (event name or "", data) pairs.
pub fn events(text: &str) -> Vec<(String, String)> {
    text.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .map(|block| {
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(rest) = line.strip_prefix("event: ") {
                    name = rest.to_string();
                } else if let Some(rest) = line.strip_prefix("data: ") {
                    data = rest.to_string();
                }
            }
            (name, data)
        })
        .collect()
}

pub fn json(data: &str) -> Value {
    serde_json::from_str(data).unwrap_or_else(|e| panic!("not JSON ({e}): {data}"))
}

pub fn user(text: &str) -> Value {
    serde_json::json!([{ "role": "user", "content": text }])
}
