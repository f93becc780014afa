//! Lenient readers for numbers and flags that the server's schema types loosely.

use crate::engine::json::{FromJson, JsonError, Value};

/// A count from a number that should be a non-negative integer.
fn count(v: f64) -> u64 {
    if v.is_finite() && v > 0.0 {
        v.round() as u64
    } else {
        0
    }
}

/// Reads a JSON number that should be a non-negative integer but is typed `number` in the
/// schema (token counts, some times). Fractions are rounded and negatives clamp to zero, since
/// a count that arrives as `12.0` must not break the message it belongs to.
pub(super) fn de_count(v: &Value) -> Result<u64, JsonError> {
    f64::from_json(v).map(count)
}

/// Reads a flag the server may send as `null` (agents from the config file carry
/// `"hidden": null`); `null` means unset, i.e. false.
pub(super) fn de_null_false(v: &Value) -> Result<bool, JsonError> {
    Ok(Option::<bool>::from_json(v)?.unwrap_or(false))
}

pub(super) fn de_opt_count(v: &Value) -> Result<Option<u64>, JsonError> {
    Ok(Option::<f64>::from_json(v)?.map(count))
}
