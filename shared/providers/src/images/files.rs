//! An image's bytes as the shell stores them: decoded from base64 or fetched, and recognised by their
//! magic number (never by what an upstream claims), so a stored object's content type is always true.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};

use crate::upstream::UpstreamError;

/// The image formats the platform stores and serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
    Webp,
    Gif,
}

impl ImageFormat {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
        }
    }

    /// The extension of the stored object's key.
    pub fn ext(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpg",
            Self::Webp => "webp",
            Self::Gif => "gif",
        }
    }

    /// The format of a stored key's extension.
    pub fn from_ext(ext: &str) -> Option<Self> {
        match ext {
            "png" => Some(Self::Png),
            "jpg" => Some(Self::Jpeg),
            "webp" => Some(Self::Webp),
            "gif" => Some(Self::Gif),
            _ => None,
        }
    }
}

/// The format of `bytes` by its signature: PNG, JPEG, WebP (RIFF….WEBP) or GIF; anything else is not an
/// image the platform serves.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(b"\xff\xd8\xff") {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) {
        Some(ImageFormat::Webp)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else {
        None
    }
}

/// An upstream's image, ready to store.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageFile {
    pub bytes: Vec<u8>,
    pub format: ImageFormat,
}

/// Checks bytes an upstream gave (inline or at its URL): at most `limit` bytes, of a known format.
pub fn image_file(bytes: Vec<u8>, limit: usize) -> Result<ImageFile, UpstreamError> {
    if bytes.len() > limit {
        return Err(malformed(format!("an image exceeds {limit} bytes")));
    }
    let format = sniff(&bytes)
        .ok_or_else(|| malformed("an image is not PNG, JPEG, WebP or GIF".to_owned()))?;
    Ok(ImageFile { bytes, format })
}

/// Decodes `b64_json` (standard alphabet, padding optional) and checks it as [`image_file`] does.
pub fn decode_b64(b64: &str, limit: usize) -> Result<ImageFile, UpstreamError> {
    // Base64 is 4/3 of the bytes: refuse an oversize text before decoding it.
    if b64.len() / 4 * 3 > limit.saturating_add(3) {
        return Err(malformed(format!("an image exceeds {limit} bytes")));
    }
    let bytes = LENIENT
        .decode(b64)
        .map_err(|_| malformed("an image's b64_json is not base64".to_owned()))?;
    image_file(bytes, limit)
}

/// `bytes` as `b64_json` for the caller (padded, as OpenAI sends it).
pub fn encode_b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The standard alphabet, with or without padding.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn malformed(detail: String) -> UpstreamError {
    UpstreamError::Malformed { detail }
}
