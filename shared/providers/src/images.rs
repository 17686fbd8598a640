//! `POST /v1/images/generations` in the OpenAI wire format, both sides: the caller's request validated,
//! the upstream request for OpenAI, OpenAI-compatible servers and Ideogram 3.0 (Anthropic has no image
//! generation), the upstream answer read, and the answer rendered for the caller once the shell has
//! stored the images. Also the storage key of an image and the hash a prompt is recorded under.
//!
//! Contract: sans-IO. The gateway always asks OpenAI-style upstreams for bytes (`b64_json`); Ideogram
//! only answers with URLs, which the shell fetches. Storing, fetching and the clock are the shell's.

mod aspect;
mod build;
mod files;
mod multipart;
mod request;
mod response;
mod storage;

pub use aspect::{aspect_ratio, IDEOGRAM_RATIOS};
pub use build::build_request;
pub use files::{decode_b64, encode_b64, image_file, sniff, ImageFile, ImageFormat};
pub use multipart::{Multipart, Part};
pub use request::parse_request;
pub use response::{parse_response, render_response};
pub use storage::{image_id, object_key, parse_object_key, prompt_hash, ObjectKey};

use serde_json::{Map, Value};

/// OpenAI's limit on `n`.
pub const MAX_IMAGES: u32 = 10;
/// Ideogram's limit on `num_images`.
pub const MAX_IDEOGRAM_IMAGES: u32 = 8;

/// A closed set of wire strings: `parse` reads one, `as_str` writes it back.
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, as written on the wire.
            pub const ALL: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

wire_enum!(
    /// `quality`: gpt-image's `low|medium|high|auto`, dall-e's `standard|hd`.
    Quality { Auto => "auto", Low => "low", Medium => "medium", High => "high", Standard => "standard", Hd => "hd" }
);
wire_enum!(
    /// How the caller wants each image: a link to the stored copy (the default) or its bytes.
    ResponseFormat { Url => "url", B64Json => "b64_json" }
);
wire_enum!(
    /// gpt-image's `background`.
    Background { Auto => "auto", Transparent => "transparent", Opaque => "opaque" }
);
wire_enum!(
    /// gpt-image's `output_format`.
    OutputFormat { Png => "png", Jpeg => "jpeg", Webp => "webp" }
);
wire_enum!(
    /// gpt-image's `moderation`.
    Moderation { Auto => "auto", Low => "low" }
);
wire_enum!(
    /// dall-e-3's `style`.
    Style { Vivid => "vivid", Natural => "natural" }
);

impl OutputFormat {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
        }
    }
}

/// `size`: `auto`, or pixels as `WxH`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    Auto,
    Pixels { width: u32, height: u32 },
}

impl Size {
    pub fn to_wire(self) -> String {
        match self {
            Self::Auto => "auto".to_owned(),
            Self::Pixels { width, height } => format!("{width}x{height}"),
        }
    }
}

/// A validated image generation request.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageRequest {
    pub prompt: String,
    pub model: String,
    /// 1..=[`MAX_IMAGES`], 1 when not given.
    pub n: u32,
    pub size: Option<Size>,
    pub quality: Option<Quality>,
    pub response_format: ResponseFormat,
    pub background: Option<Background>,
    pub output_format: Option<OutputFormat>,
    /// 0..=100.
    pub output_compression: Option<u8>,
    pub moderation: Option<Moderation>,
    pub style: Option<Style>,
    pub user: Option<String>,
    /// Ideogram-only options (`magic_prompt`, `negative_prompt`, `seed`, `style_type`). Never read from
    /// the client's body ([`parse_request`] leaves it empty): the shell may fill it from the model config.
    pub extra: Map<String, Value>,
}

/// What an upstream generated.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageResponse {
    /// The safe images, in the upstream's order.
    pub images: Vec<GeneratedImage>,
    pub usage: Option<ImageUsage>,
    /// Images the upstream withheld as unsafe (Ideogram's `is_image_safe: false`, which carry no URL).
    pub unsafe_skipped: u32,
}

/// One generated image.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedImage {
    pub content: ImageContent,
    /// The prompt the upstream actually used, when it says (dall-e-3 rewrites prompts).
    pub revised_prompt: Option<String>,
}

/// Where an image's bytes are.
#[derive(Clone, Debug, PartialEq)]
pub enum ImageContent {
    /// Inline, base64-encoded (OpenAI's `b64_json`).
    Bytes { b64: String, mime: &'static str },
    /// To be fetched by the shell (Ideogram's `data[].url`).
    Url { url: String },
}

/// The tokens gpt-image models bill.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

/// An image after the shell stored it: what a client is given.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredImage {
    /// Where the platform serves the stored copy.
    pub url: String,
    /// The bytes, base64-encoded, when the caller asked for `b64_json`.
    pub b64: Option<String>,
    pub revised_prompt: Option<String>,
}

/// Whether `model` is one of OpenAI's gpt-image models (bytes only, token-billed).
pub fn is_gpt_image(model: &str) -> bool {
    model.starts_with("gpt-image")
}

#[cfg(test)]
mod tests;
