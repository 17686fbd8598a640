//! Fixture loading and whole-stream decoding shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use providers::chat::{Delta, Usage};
use providers::upstream::{ProviderKind, StreamDecoder, UpstreamError};

/// The bytes of `tests/fixtures/<path>`.
pub fn fixture(path: &str) -> Vec<u8> {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&full).unwrap_or_else(|err| panic!("{full}: {err}"))
}

/// Everything a stream yields when fed in `chunk`-byte pieces.
#[derive(Debug, PartialEq)]
pub struct Decoded {
    pub deltas: Vec<Delta>,
    pub end: Result<(), UpstreamError>,
    pub usage: Option<Usage>,
}

pub fn decode(kind: ProviderKind, bytes: &[u8], chunk: usize) -> Decoded {
    let mut decoder = StreamDecoder::new(kind);
    let mut deltas = Vec::new();
    for piece in bytes.chunks(chunk.max(1)) {
        match decoder.feed(piece) {
            Ok(more) => deltas.extend(more),
            Err(err) => {
                return Decoded {
                    deltas,
                    end: Err(err),
                    usage: decoder.usage(),
                }
            }
        }
    }
    let end = decoder.finish().map(|more| deltas.extend(more));
    Decoded {
        deltas,
        end,
        usage: decoder.usage(),
    }
}

/// The concatenated text deltas.
pub fn text(deltas: &[Delta]) -> String {
    deltas
        .iter()
        .filter_map(|delta| match delta {
            Delta::Text(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}
