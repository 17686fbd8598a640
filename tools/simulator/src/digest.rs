//! Deterministic ids: FNV-1a over the request bytes, so the same request always gets the same id.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a (64-bit) of `bytes`: fast, dependency-free, and stable across runs and platforms.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(OFFSET, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

/// Sixteen lowercase hex digits of `fnv1a(bytes)`.
pub fn hex_id(bytes: &[u8]) -> String {
    format!("{:016x}", fnv1a(bytes))
}

/// SplitMix64's finalizer: spreads every bit of `seed` over all bytes, so nearby seeds (and small
/// ones) still give distinct, non-black picture colours.
pub fn spread(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hex_id(b"foobar"), "85944171f73967e8");
    }
}
