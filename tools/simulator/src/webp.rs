//! A tiny lossless WebP (VP8L) encoder for one flat colour: a real, decodable `image/webp` behind
//! gpt-image's `output_format: webp` without an image crate.
//!
//! No transforms, no colour cache, one prefix-code group whose five codes are each a "simple code"
//! of a single symbol (the colour's green, red, blue, alpha 255, distance 0). A one-symbol code
//! takes no bits to read, so the pixels themselves take none: the image is its header.

/// Width and height in pixels.
pub const SIDE: u32 = 16;
const SIGNATURE: u8 = 0x2F;

/// A WebP filled with `rgb`, opaque.
pub fn flat([r, g, b]: [u8; 3]) -> Vec<u8> {
    let mut bits = Bits::default();
    bits.put(SIDE - 1, 14); // width − 1
    bits.put(SIDE - 1, 14); // height − 1
    bits.put(0, 1); // alpha_is_used: no
    bits.put(0, 3); // version 0
    bits.put(0, 1); // no transform
    bits.put(0, 1); // no colour cache
    bits.put(0, 1); // no meta prefix codes: one group for the whole image
    for symbol in [g, r, b, u8::MAX] {
        single_symbol(&mut bits, symbol);
    }
    single_symbol(&mut bits, 0); // distance code, never used
    let mut data = vec![SIGNATURE];
    data.extend(bits.finish());
    riff(&data)
}

/// A simple prefix code with one 8-bit symbol: is-simple 1, one symbol (0), 8-bit first symbol (1).
fn single_symbol(bits: &mut Bits, symbol: u8) {
    bits.put(1, 1);
    bits.put(0, 1);
    bits.put(1, 1);
    bits.put(u32::from(symbol), 8);
}

/// `RIFF <size> WEBP VP8L <size> <data>`, padded to an even chunk size.
fn riff(data: &[u8]) -> Vec<u8> {
    let padded = data.len() + data.len() % 2;
    let chunk = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let file = u32::try_from(4 + 8 + padded).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(20 + padded);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&file.to_le_bytes());
    out.extend_from_slice(b"WEBPVP8L");
    out.extend_from_slice(&chunk.to_le_bytes());
    out.extend_from_slice(data);
    if padded > data.len() {
        out.push(0);
    }
    out
}

/// VP8L's least-significant-bit-first packing.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    current: u64,
    filled: u32,
}

impl Bits {
    fn put(&mut self, value: u32, count: u32) {
        let mask = (1u64 << count) - 1;
        self.current |= (u64::from(value) & mask) << self.filled;
        self.filled += count;
        while self.filled >= 8 {
            self.out
                .push(self.current.to_le_bytes().first().copied().unwrap_or(0));
            self.current >>= 8;
            self.filled -= 8;
        }
    }

    fn finish(mut self) -> Vec<u8> {
        if self.filled > 0 {
            self.put(0, 8 - self.filled);
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packs_bits_lsb_first() {
        let mut bits = Bits::default();
        bits.put(0b1, 1);
        bits.put(0b01, 2);
        bits.put(0xAB, 8);
        assert_eq!(bits.finish(), [0b0101_1011, 0b0000_0101]);
    }

    #[test]
    fn writes_a_riff_container_with_the_vp8l_header() {
        let webp = flat([1, 2, 3]);
        assert_eq!(&webp[..4], b"RIFF");
        assert_eq!(&webp[8..16], b"WEBPVP8L");
        let file = u32::from_le_bytes(webp[4..8].try_into().unwrap()) as usize;
        assert_eq!(file + 8, webp.len());
        assert_eq!(webp.len() % 2, 0);
        assert_eq!(webp[20], SIGNATURE);
        // 14 + 14 bits of (16 − 1), then alpha and version zero.
        let header = u32::from_le_bytes(webp[21..25].try_into().unwrap());
        assert_eq!(
            (header & 0x3FFF, (header >> 14) & 0x3FFF, header >> 28),
            (15, 15, 0)
        );
        assert_eq!(flat([1, 2, 3]), webp);
        assert_ne!(flat([1, 2, 4]), webp);
    }
}
