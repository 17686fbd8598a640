//! Fields a PATCH may clear: absent means "unchanged", `null` means "clear", a value sets it.
//!
//! Written by hand (a few lines) rather than pulling in `serde_with` for `double_option`.

use serde::{Deserialize, Deserializer};

/// Use as `#[serde(default, deserialize_with = "nullable")]` on an `Option<Option<T>>` field:
/// a missing field takes the default `None`; a present one becomes `Some(None)` for `null`.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}
