//! An OpenAI `size` → Ideogram 3.0's `aspect_ratio`.

use super::Size;

/// Every aspect ratio Ideogram 3.0 renders, as `WxH`.
pub const IDEOGRAM_RATIOS: &[(u32, u32)] = &[
    (1, 3),
    (3, 1),
    (1, 2),
    (2, 1),
    (9, 16),
    (16, 9),
    (10, 16),
    (16, 10),
    (2, 3),
    (3, 2),
    (3, 4),
    (4, 3),
    (4, 5),
    (5, 4),
    (1, 1),
];

/// The Ideogram ratio nearest to `size` (by the log of the ratios, so that 2:1 and 1:2 are equally far
/// from square), as `WxH` (`"16x9"`). `None` for `auto`: Ideogram then chooses (square).
pub fn aspect_ratio(size: Size) -> Option<String> {
    let Size::Pixels { width, height } = size else {
        return None;
    };
    let wanted = (f64::from(width.max(1)) / f64::from(height.max(1))).ln();
    let distance = |&(w, h): &(u32, u32)| (wanted - (f64::from(w) / f64::from(h)).ln()).abs();
    IDEOGRAM_RATIOS
        .iter()
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
        .map(|(w, h)| format!("{w}x{h}"))
}
