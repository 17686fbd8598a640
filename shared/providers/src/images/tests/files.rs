use super::super::*;
use crate::upstream::UpstreamError;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

#[test]
fn formats_are_known_by_their_bytes_not_their_claims() {
    assert_eq!(sniff(PNG), Some(ImageFormat::Png));
    assert_eq!(
        sniff(b"\xff\xd8\xff\xe0\0\x10JFIF"),
        Some(ImageFormat::Jpeg)
    );
    assert_eq!(sniff(b"RIFF\x24\0\0\0WEBPVP8 "), Some(ImageFormat::Webp));
    assert_eq!(sniff(b"GIF89a\x01\0"), Some(ImageFormat::Gif));
    assert_eq!(sniff(b"RIFF\x24\0\0\0WAVEfmt "), None);
    assert_eq!(sniff(b"<html>"), None);
    assert_eq!(sniff(b""), None);
    for format in [
        ImageFormat::Png,
        ImageFormat::Jpeg,
        ImageFormat::Webp,
        ImageFormat::Gif,
    ] {
        assert_eq!(ImageFormat::from_ext(format.ext()), Some(format));
    }
}

#[test]
fn base64_images_decode_padded_or_not_and_round_trip() {
    let b64 = encode_b64(PNG);
    assert!(b64.ends_with('='));
    let file = decode_b64(&b64, 1024).unwrap();
    assert_eq!(file.bytes, PNG);
    assert_eq!(file.format, ImageFormat::Png);
    assert_eq!(
        decode_b64(b64.trim_end_matches('='), 1024).unwrap().bytes,
        PNG
    );
}

#[test]
fn non_images_oversize_images_and_bad_base64_are_malformed_answers() {
    let malformed = |r: Result<ImageFile, UpstreamError>| match r {
        Err(UpstreamError::Malformed { detail }) => detail,
        other => panic!("expected malformed, got {other:?}"),
    };
    assert!(malformed(decode_b64("not base64!", 1024)).contains("not base64"));
    assert!(malformed(decode_b64(&encode_b64(b"<html></html>"), 1024)).contains("not PNG"));
    assert!(malformed(image_file(PNG.to_vec(), 4)).contains("exceeds 4 bytes"));
    // Refused from its length, before decoding.
    let long = "A".repeat(4000);
    assert!(malformed(decode_b64(&long, 1024)).contains("exceeds 1024 bytes"));
}
