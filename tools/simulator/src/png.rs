//! A tiny PNG encoder (RGB, 8-bit, zlib with stored deflate blocks), enough to serve a real,
//! decodable image for every generated image URL without an image crate.

use crate::digest;

/// Width and height of every served image: small, since only its validity matters.
pub const SIDE: u32 = 16;

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
/// Largest stored deflate block.
const STORED_BLOCK: usize = 65_535;

/// The picture for `seed`: a diagonal blend between two colours taken from the seed's bytes.
pub fn picture(seed: u64) -> Vec<u8> {
    let [r0, g0, b0, r1, g1, b1, _, _] = digest::spread(seed).to_be_bytes();
    let steps = 2 * (SIDE - 1);
    let mut pixels = Vec::with_capacity((SIDE * SIDE * 3) as usize);
    for y in 0..SIDE {
        for x in 0..SIDE {
            let t = x + y;
            for (from, to) in [(r0, r1), (g0, g1), (b0, b1)] {
                let blended = (u32::from(from) * (steps - t) + u32::from(to) * t) / steps;
                pixels.push(u8::try_from(blended).unwrap_or(u8::MAX));
            }
        }
    }
    encode_rgb(SIDE, SIDE, &pixels)
}

/// Encodes `pixels` (row-major RGB triples, `width * height * 3` bytes) as a PNG.
pub fn encode_rgb(width: u32, height: u32, pixels: &[u8]) -> Vec<u8> {
    let row = width as usize * 3;
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for line in pixels.chunks(row.max(1)) {
        raw.push(0); // filter type None
        raw.extend_from_slice(line);
    }
    let mut header = Vec::with_capacity(13);
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    // Bit depth 8, colour type 2 (RGB), deflate, adaptive filtering, no interlace.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);

    let mut png = SIGNATURE.to_vec();
    write_chunk(&mut png, b"IHDR", &header);
    write_chunk(&mut png, b"IDAT", &zlib_stored(&raw));
    write_chunk(&mut png, b"IEND", &[]);
    png
}

fn write_chunk(png: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    let length = u32::try_from(data.len()).unwrap_or(u32::MAX);
    png.extend_from_slice(&length.to_be_bytes());
    png.extend_from_slice(kind);
    png.extend_from_slice(data);
    png.extend_from_slice(&crc32(&[kind, data]).to_be_bytes());
}

/// A zlib stream of uncompressed (stored) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01]; // deflate, 32K window, no dictionary; 0x7801 % 31 == 0
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![&[]]
    } else {
        data.chunks(STORED_BLOCK).collect()
    };
    let last = blocks.len().saturating_sub(1);
    for (i, block) in blocks.into_iter().enumerate() {
        out.push(u8::from(i == last)); // BFINAL on the last block, BTYPE 00 (stored)
        let length = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&(!length).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

/// CRC-32 (IEEE, reflected) over the concatenation of `parts`, bit by bit: images are tiny.
fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = u32::MAX;
    for &byte in parts.iter().flat_map(|part| part.iter()) {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (a, b) = data.iter().fold((1u32, 0u32), |(a, b), &byte| {
        let a = (a + u32::from(byte)) % MOD;
        (a, (b + a) % MOD)
    });
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_reference_values() {
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[b"1234", b"56789"]), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    /// Walks the chunks, checks every CRC, and inflates the stored blocks back to the scanlines.
    #[test]
    fn encodes_a_decodable_png() {
        let png = picture(42);
        assert_eq!(png[..8], SIGNATURE);
        let mut at = 8;
        let mut kinds = Vec::new();
        let mut idat = Vec::new();
        while at < png.len() {
            let length = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let kind = &png[at + 4..at + 8];
            let data = &png[at + 8..at + 8 + length];
            let crc =
                u32::from_be_bytes(png[at + 8 + length..at + 12 + length].try_into().unwrap());
            assert_eq!(crc, crc32(&[kind, data]));
            kinds.push(String::from_utf8(kind.to_vec()).unwrap());
            if kind == b"IDAT" {
                idat.extend_from_slice(data);
            }
            at += 12 + length;
        }
        assert_eq!(kinds, ["IHDR", "IDAT", "IEND"]);
        assert_eq!(u16::from_be_bytes([idat[0], idat[1]]) % 31, 0);
        let (length, rest) = (u16::from_le_bytes([idat[3], idat[4]]) as usize, &idat[7..]);
        assert_eq!(idat[2], 1, "a single final stored block");
        let raw = &rest[..length];
        assert_eq!(raw.len(), (SIDE as usize * 3 + 1) * SIDE as usize);
        assert_eq!(
            u32::from_be_bytes(rest[length..].try_into().unwrap()),
            adler32(raw)
        );
    }

    #[test]
    fn is_deterministic_per_seed() {
        assert_eq!(picture(7), picture(7));
        assert_ne!(picture(7), picture(8));
    }

    #[test]
    fn splits_large_data_into_stored_blocks() {
        let data = vec![7u8; STORED_BLOCK + 10];
        let z = zlib_stored(&data);
        assert_eq!(z.len(), 2 + 2 * 5 + data.len() + 4);
        assert_eq!(
            zlib_stored(&[]),
            [0x78, 0x01, 1, 0, 0, 0xff, 0xff, 0, 0, 0, 1]
        );
    }
}
