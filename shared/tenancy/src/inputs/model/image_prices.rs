//! `image_prices`: what one image costs by size and quality, over the flat `price_per_image`.
//!
//! Keys: `SIZE` or `SIZE/QUALITY`, where `SIZE` is `auto` or `WxH` in pixels written as a request's
//! `size` is (no leading zeros, sides 1..=8192) or `*` (any size: only with a quality), and `QUALITY` is
//! a request's `quality`, as sent. Which key prices a request is [`ModelConfig::image_price`]'s rule.

use std::collections::BTreeMap;

use envelope::ApiError;

use crate::records::ModelConfig;

/// Prices in USD per image, by key.
pub type ImagePrices = BTreeMap<String, f64>;

pub const MAX_IMAGE_PRICES: usize = 32;
/// The `quality` values of an image request (those of `providers::images::Quality`; a test in
/// `generation` keeps the two lists equal, as this crate does not depend on the adapters).
pub const IMAGE_QUALITIES: [&str; 6] = ["auto", "low", "medium", "high", "standard", "hd"];
const MAX_SIDE: u32 = 8192;

pub(super) fn validate(prices: Option<&ImagePrices>) -> Result<(), ApiError> {
    let Some(prices) = prices else {
        return Ok(());
    };
    if prices.len() > MAX_IMAGE_PRICES {
        return Err(ApiError::invalid_field(
            "image_prices",
            format_args!("at most {MAX_IMAGE_PRICES} prices"),
        ));
    }
    for (key, price) in prices {
        // The key is checked before it is named in a message.
        if !well_formed(key) {
            return Err(ApiError::invalid_field(
                "image_prices",
                "keys are SIZE or SIZE/QUALITY: SIZE auto, WxH (e.g. 1024x1024) or * (with a quality), \
                 QUALITY one of auto, low, medium, high, standard, hd",
            ));
        }
        if !price.is_finite() || *price < 0.0 {
            return Err(ApiError::unprocessable(
                &format!("image_prices.{key}"),
                "must be a number >= 0",
            ));
        }
    }
    Ok(())
}

/// An empty map prices nothing: stored as none.
pub(super) fn normalize(prices: Option<ImagePrices>) -> Option<ImagePrices> {
    prices.filter(|p| !p.is_empty())
}

fn well_formed(key: &str) -> bool {
    let (size, quality) = match key.split_once('/') {
        Some((size, quality)) => (size, Some(quality)),
        None => (key, None),
    };
    let size_ok = match size {
        "*" => quality.is_some(),
        "auto" => true,
        pixels => pixels
            .split_once('x')
            .is_some_and(|(width, height)| side(width) && side(height)),
    };
    size_ok && quality.is_none_or(|q| IMAGE_QUALITIES.contains(&q))
}

fn side(text: &str) -> bool {
    !text.starts_with('0')
        && text.bytes().all(|b| b.is_ascii_digit())
        && text
            .parse::<u32>()
            .is_ok_and(|n| (1..=MAX_SIDE).contains(&n))
}

impl ModelConfig {
    /// What one image of `size` (`auto` or `WxH`) and `quality` costs: the first of `image_prices`
    /// `size/quality`, `size`, `*/quality`, then `price_per_image`; `None` when the model is unpriced.
    pub fn image_price(&self, size: &str, quality: Option<&str>) -> Option<f64> {
        let prices = self.image_prices.as_ref();
        let get = |key: &str| prices.and_then(|p| p.get(key)).copied();
        quality
            .and_then(|q| get(&format!("{size}/{q}")))
            .or_else(|| get(size))
            .or_else(|| quality.and_then(|q| get(&format!("*/{q}"))))
            .or(self.price_per_image)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for key in [
            "auto",
            "1024x1024",
            "1536x1024/high",
            "*/low",
            "auto/hd",
            "8192x1",
        ] {
            assert!(well_formed(key), "{key}");
        }
        for key in [
            "",
            "*",
            "1024",
            "1024x",
            "01024x1024",
            "+1x1",
            "0x5",
            "8193x1",
            "1024X1024",
            "1024x1024/ultra",
            "1024x1024/",
            "/high",
            "a/b/c",
            "1024x1024/high/x",
        ] {
            assert!(!well_formed(key), "{key}");
        }
    }
}
