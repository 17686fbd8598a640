//! Amounts: USD as integer micro-dollars (1 USD = 1,000,000 µ$) and tokens, both `u64` and
//! saturating. Floating point appears only at the edges, in the conversions below (the catalog
//! stores prices as `f64` per million tokens; admin JSON sends numbers).

use serde::{Deserialize, Serialize};

use crate::budget::Dimension;

pub const MICROS_PER_USD: u64 = 1_000_000;

/// What a request costs (or may cost) in both dimensions a budget can limit.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[serde(default)]
pub struct Cost {
    pub usd_micros: u64,
    pub tokens: u64,
}

impl Cost {
    pub const ZERO: Cost = Cost {
        usd_micros: 0,
        tokens: 0,
    };

    pub fn new(usd_micros: u64, tokens: u64) -> Cost {
        Cost { usd_micros, tokens }
    }

    pub fn get(self, dimension: Dimension) -> u64 {
        match dimension {
            Dimension::Usd => self.usd_micros,
            Dimension::Tokens => self.tokens,
        }
    }

    pub fn saturating_add(self, other: Cost) -> Cost {
        Cost {
            usd_micros: self.usd_micros.saturating_add(other.usd_micros),
            tokens: self.tokens.saturating_add(other.tokens),
        }
    }

    pub fn saturating_sub(self, other: Cost) -> Cost {
        Cost {
            usd_micros: self.usd_micros.saturating_sub(other.usd_micros),
            tokens: self.tokens.saturating_sub(other.tokens),
        }
    }
}

/// `usd` rounded to the nearest micro-dollar; `None` for NaN, infinities, negative amounts and
/// amounts beyond `u64::MAX` µ$.
pub fn usd_to_micros(usd: f64) -> Option<u64> {
    let micros = (usd * MICROS_PER_USD as f64).round();
    // 2^64 is exact in f64; `as` saturates, so bound it first to reject rather than clamp.
    (0.0..18_446_744_073_709_551_616.0)
        .contains(&micros)
        .then_some(micros as u64)
}

/// For display and JSON only; never compute with the result.
pub fn micros_to_usd(micros: u64) -> f64 {
    micros as f64 / MICROS_PER_USD as f64
}

/// A decimal dollar amount without trailing zeros: `12.5`, `0.000001`, `3`.
pub fn format_usd(micros: u64) -> String {
    let whole = micros / MICROS_PER_USD;
    let frac = micros % MICROS_PER_USD;
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// What `tokens` cost at `micros_per_mtok` µ$ per million tokens (a price of $2.50/Mtok is
/// 2,500,000), rounded up to the micro-dollar so that many small requests never add up to less
/// than their price. Exact integer arithmetic; saturates at `u64::MAX`.
pub fn token_cost_micros(micros_per_mtok: u64, tokens: u64) -> u64 {
    let product = u128::from(micros_per_mtok) * u128::from(tokens);
    u64::try_from(product.div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_convert_to_micros_rounding_to_the_nearest() {
        assert_eq!(usd_to_micros(0.0), Some(0));
        assert_eq!(usd_to_micros(12.5), Some(12_500_000));
        assert_eq!(usd_to_micros(0.1 + 0.2), Some(300_000));
        assert_eq!(usd_to_micros(0.000_000_4), Some(0));
        assert_eq!(usd_to_micros(0.000_000_6), Some(1));
        assert_eq!(usd_to_micros(1e12), Some(1_000_000_000_000_000_000));
        assert_eq!(micros_to_usd(12_500_000), 12.5);
    }

    #[test]
    fn invalid_dollar_amounts_are_refused() {
        for bad in [
            -0.01,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e14,
            f64::MAX,
        ] {
            assert_eq!(usd_to_micros(bad), None, "{bad}");
        }
    }

    #[test]
    fn formatting_drops_trailing_zeros() {
        assert_eq!(format_usd(0), "0");
        assert_eq!(format_usd(3_000_000), "3");
        assert_eq!(format_usd(12_500_000), "12.5");
        assert_eq!(format_usd(1), "0.000001");
        assert_eq!(format_usd(10_010_000), "10.01");
        assert_eq!(format_usd(u64::MAX), "18446744073709.551615");
    }

    #[test]
    fn token_cost_rounds_up_and_saturates() {
        // $2.50 per million tokens: 1,000 tokens cost $0.0025.
        assert_eq!(token_cost_micros(2_500_000, 1_000), 2_500);
        // $0.15 per million: one token costs 0.15 µ$, billed as 1.
        assert_eq!(token_cost_micros(150_000, 1), 1);
        assert_eq!(token_cost_micros(150_000, 0), 0);
        assert_eq!(token_cost_micros(0, u64::MAX), 0);
        assert_eq!(token_cost_micros(u64::MAX, u64::MAX), u64::MAX);
    }

    #[test]
    fn cost_arithmetic_saturates() {
        let big = Cost::new(u64::MAX, 5);
        assert_eq!(big.saturating_add(Cost::new(1, 1)), Cost::new(u64::MAX, 6));
        assert_eq!(Cost::new(1, 1).saturating_sub(big), Cost::ZERO);
        assert_eq!(big.get(Dimension::Tokens), 5);
    }
}
