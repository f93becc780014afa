//! Lenient serde readers for numbers and flags that the server's schema types loosely.

use serde::{Deserialize, Deserializer};

/// Reads a JSON number that should be a non-negative integer but is typed `number` in the
/// schema (token counts, some times). Fractions are rounded and negatives clamp to zero, since
/// a count that arrives as `12.0` must not break the message it belongs to.
pub(super) fn de_count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let v = f64::deserialize(d)?;
    Ok(if v.is_finite() && v > 0.0 {
        v.round() as u64
    } else {
        0
    })
}

/// Reads a flag the server may send as `null` (agents from the config file carry
/// `"hidden": null`); `null` means unset, i.e. false.
pub(super) fn de_null_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(Option::<bool>::deserialize(d)?.unwrap_or(false))
}

pub(super) fn de_opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<f64>::deserialize(d)?;
    Ok(v.map(|v| {
        if v.is_finite() && v > 0.0 {
            v.round() as u64
        } else {
            0
        }
    }))
}
