//! A tiny baseline JPEG encoder (JFIF, 8-bit YCbCr 4:4:4) for one flat colour: enough for a real,
//! decodable `image/jpeg` behind gpt-image's `output_format: jpeg` without an image crate.
//!
//! A flat 8×8 block has only a DC coefficient, so every block is a DC difference and an
//! end-of-block. The quantisation table is all ones and the two Huffman tables are our own: DC
//! categories 0–11 as 4-bit codes, and an AC table holding just end-of-block as the 1-bit code `0`.

/// Width and height in pixels (2×2 blocks of 8×8).
pub const SIDE: u16 = 16;
const BLOCKS: usize = 4;
/// DC categories (bit sizes) a quantised DC of an 8-bit image can have with a unit table.
const DC_CATEGORIES: u8 = 12;

/// A JPEG filled with `rgb`.
pub fn flat(rgb: [u8; 3]) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8]; // SOI
    segment(
        &mut out,
        0xE0,
        b"JFIF\0\x01\x01\x00\x00\x01\x00\x01\x00\x00",
    );
    let mut quant = vec![0x00]; // 8-bit precision, table 0
    quant.extend_from_slice(&[1; 64]);
    segment(&mut out, 0xDB, &quant);
    let [h1, h0] = SIDE.to_be_bytes();
    // Precision 8, height, width, 3 components each (id, 1×1 sampling, quant table 0).
    segment(
        &mut out,
        0xC0,
        &[8, h1, h0, h1, h0, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0],
    );
    segment(&mut out, 0xC4, &huffman_tables());
    // 3 components (id, DC table 0 / AC table 0), spectral selection 0..63, no approximation.
    segment(&mut out, 0xDA, &[3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);
    out.extend_from_slice(&scan(ycbcr(rgb)));
    out.extend_from_slice(&[0xFF, 0xD9]); // EOI
    out
}

/// A marker segment: `FF kind`, its length (counting itself), its payload.
fn segment(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    let length = u16::try_from(payload.len() + 2).unwrap_or(u16::MAX);
    out.extend_from_slice(&[0xFF, kind]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(payload);
}

/// DHT payload: DC table 0 (categories 0–11, all 4 bits long) and AC table 0 (only EOB, 1 bit).
fn huffman_tables() -> Vec<u8> {
    let mut dht = vec![0x00]; // class DC, id 0
    let mut lengths = [0u8; 16];
    lengths[3] = DC_CATEGORIES;
    dht.extend_from_slice(&lengths);
    dht.extend(0..DC_CATEGORIES);
    dht.push(0x10); // class AC, id 0
    let mut lengths = [0u8; 16];
    lengths[0] = 1;
    dht.extend_from_slice(&lengths);
    dht.push(0x00); // EOB
    dht
}

/// JFIF's RGB → YCbCr, rounded.
fn ycbcr([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (f64::from(r), f64::from(g), f64::from(b));
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    // Each lies in 0..=255 by construction; the clamp makes the cast exact.
    [y, cb, cr].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// The entropy-coded data: per MCU, one block per component, each a DC difference then EOB.
fn scan(components: [u8; 3]) -> Vec<u8> {
    let mut bits = Bits::default();
    // Level shift by 128, then the 2-D DCT of a flat block: DC = 8 × (value − 128).
    let dc = components.map(|v| 8 * (i32::from(v) - 128));
    let mut previous = [0i32; 3];
    for _ in 0..BLOCKS {
        for (component, &value) in dc.iter().enumerate() {
            let last = previous.get(component).copied().unwrap_or(0);
            let (category, extra) = magnitude(value - last);
            bits.put(u32::from(category), 4);
            bits.put(extra, category);
            bits.put(0, 1); // EOB
            if let Some(slot) = previous.get_mut(component) {
                *slot = value;
            }
        }
    }
    bits.finish()
}

/// A DC difference as (category, the category's low bits): negatives in ones' complement.
fn magnitude(diff: i32) -> (u8, u32) {
    let category = u8::try_from(32 - diff.unsigned_abs().leading_zeros()).unwrap_or(0);
    let extra = if diff >= 0 {
        diff.unsigned_abs()
    } else {
        (1u32 << category) - 1 - diff.unsigned_abs()
    };
    (category, extra)
}

/// Big-endian bit packing with JPEG's byte stuffing (a 0xFF data byte is followed by 0x00).
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    current: u32,
    filled: u8,
}

impl Bits {
    fn put(&mut self, value: u32, count: u8) {
        for shift in (0..count).rev() {
            self.current = (self.current << 1) | ((value >> shift) & 1);
            self.filled += 1;
            if self.filled == 8 {
                self.flush_byte();
            }
        }
    }

    fn flush_byte(&mut self) {
        let byte = u8::try_from(self.current & 0xFF).unwrap_or(0);
        self.out.push(byte);
        if byte == 0xFF {
            self.out.push(0x00);
        }
        self.current = 0;
        self.filled = 0;
    }

    /// Pads the last byte with 1-bits, as the standard asks.
    fn finish(mut self) -> Vec<u8> {
        if self.filled > 0 {
            let pad = 8 - self.filled;
            self.put((1 << pad) - 1, pad);
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_dc_differences_as_jpeg_does() {
        assert_eq!(magnitude(0), (0, 0));
        assert_eq!(magnitude(1), (1, 1));
        assert_eq!(magnitude(-1), (1, 0));
        assert_eq!(magnitude(5), (3, 5));
        assert_eq!(magnitude(-5), (3, 2));
        assert_eq!(magnitude(-1024), (11, 1023));
        assert_eq!(magnitude(1016), (10, 1016));
    }

    #[test]
    fn stuffs_ff_bytes_and_pads_with_ones() {
        let mut bits = Bits::default();
        bits.put(0xFF, 8);
        bits.put(0b0, 1);
        assert_eq!(bits.finish(), [0xFF, 0x00, 0x7F]);
    }

    #[test]
    fn converts_colours_like_jfif() {
        assert_eq!(ycbcr([0, 0, 0]), [0, 128, 128]);
        assert_eq!(ycbcr([255, 255, 255]), [255, 128, 128]);
        assert_eq!(ycbcr([255, 0, 0]), [76, 85, 255]);
    }

    #[test]
    fn lays_out_the_markers() {
        let jpeg = flat([10, 200, 30]);
        assert_eq!(jpeg[..4], [0xFF, 0xD8, 0xFF, 0xE0]);
        assert_eq!(jpeg[jpeg.len() - 2..], [0xFF, 0xD9]);
        let markers: Vec<u8> = jpeg
            .windows(2)
            .filter(|w| w[0] == 0xFF && w[1] != 0x00 && w[1] != 0xFF)
            .map(|w| w[1])
            .collect();
        assert_eq!(markers[..6], [0xD8, 0xE0, 0xDB, 0xC0, 0xC4, 0xDA]);
        assert_eq!(flat([10, 200, 30]), jpeg);
        assert_ne!(flat([10, 200, 31]), jpeg);
    }
}
