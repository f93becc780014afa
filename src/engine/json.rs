//! JSON values to and from the OpenCode server's types, written by `#[derive(Json)]`
//! (`wire-derive/`) instead of serde's derives.
//!
//! The server's replies and events are read as a [`Value`] first (one JSON reader for all of
//! them) and each type is then built from the value by straight-line code: look a field up,
//! convert it. serde's derived code for the same types is a visitor per type and a buffered
//! copy per internally tagged enum, about five times the size in the browser's module.
//!
//! The rules are serde's, so the JSON read and written is the same as before:
//! - unknown fields are ignored;
//! - a field that is absent is an error, unless it is an `Option` (absent is `None`) or it is
//!   marked `default` (absent is its `Default`); `null` is `None` for an `Option` and an error
//!   for anything else but a [`Value`];
//! - integers must be integers in range, `f64` takes any number;
//! - an `Option` field marked `skip_none` is left out when `None`, otherwise written as `null`;
//!   a field marked `skip_empty` is left out when empty.
//!
//! Every derived type also implements serde's `Serialize` and `Deserialize` through a
//! [`Value`], so the CLI's JSON output and the tests keep using serde_json as before.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

pub use nexus_wire_derive::Json;
pub use serde_json::{Map, Value};

/// Why a value does not fit a type: serde's wording, then where in the document
/// (`missing field `role` (at conversations[0].messages[3])`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    message: String,
    /// The path from the document's root to the value that does not fit, e.g.
    /// `conversations[0].role`; empty at the root.
    path: String,
}

impl JsonError {
    pub fn new(message: impl Into<String>) -> Self {
        JsonError {
            message: message.into(),
            path: String::new(),
        }
    }

    fn invalid(found: &Value, expected: &str) -> Self {
        let found = match found {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => format!("boolean `{b}`"),
            Value::Number(n) if n.is_f64() => format!("floating point `{n}`"),
            Value::Number(n) => format!("integer `{n}`"),
            Value::String(s) => format!("string {s:?}"),
            Value::Array(_) => "sequence".to_owned(),
            Value::Object(_) => "map".to_owned(),
        };
        JsonError::new(format!("invalid type: {found}, expected {expected}"))
    }

    /// Field `name` is not there.
    fn missing<T>(name: &str) -> Result<T, JsonError> {
        Err(JsonError::new(format!("missing field `{name}`")))
    }

    /// The same error, said to be in field `name` (or at position `[i]`) of the enclosing value.
    fn within(mut self, name: &str) -> Self {
        let dot = !(self.path.is_empty() || self.path.starts_with('['));
        self.path = format!("{name}{}{}", if dot { "." } else { "" }, self.path);
        self
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if !self.path.is_empty() {
            write!(f, " (at {})", self.path)?;
        }
        Ok(())
    }
}

impl std::error::Error for JsonError {}

/// A type read from a JSON value.
pub trait FromJson: Sized {
    fn from_json(v: &Value) -> Result<Self, JsonError>;

    /// The value of an absent field: an error, except for `Option`.
    fn absent(name: &str) -> Result<Self, JsonError> {
        JsonError::missing(name)
    }
}

/// A type written as a JSON value.
pub trait ToJson {
    fn to_json(&self) -> Value;
}

/// Reads a `T` from JSON text.
pub fn from_str<T: FromJson>(text: &str) -> Result<T, JsonError> {
    let v: Value = serde_json::from_str(text).map_err(|e| JsonError::new(e.to_string()))?;
    T::from_json(&v)
}

/// The object a struct is read from.
pub fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>, JsonError> {
    v.as_object()
        .ok_or_else(|| JsonError::invalid(v, &format!("struct {what}")))
}

/// Field `name` of `o` read by `read`; when it is absent, `absent(name)`.
fn read_field<T>(
    o: &Map<String, Value>,
    name: &str,
    read: fn(&Value) -> Result<T, JsonError>,
    absent: fn(&str) -> Result<T, JsonError>,
) -> Result<T, JsonError> {
    match o.get(name) {
        Some(v) => read(v).map_err(|e| e.within(name)),
        None => absent(name),
    }
}

/// Field `name` of `o`: absent follows [`FromJson::absent`].
pub fn field<T: FromJson>(o: &Map<String, Value>, name: &str) -> Result<T, JsonError> {
    read_field(o, name, T::from_json, T::absent)
}

/// Field `name` of `o`, its `Default` when absent.
pub fn field_or_default<T: FromJson + Default>(
    o: &Map<String, Value>,
    name: &str,
) -> Result<T, JsonError> {
    read_field(o, name, T::from_json, |_| Ok(T::default()))
}

/// Field `name` of `o` read by `read`, its `Default` when absent.
pub fn field_with<T: Default>(
    o: &Map<String, Value>,
    name: &str,
    read: fn(&Value) -> Result<T, JsonError>,
) -> Result<T, JsonError> {
    read_field(o, name, read, |_| Ok(T::default()))
}

/// Field `name` of `o` read by `read`; absent is an error.
pub fn field_by<T>(
    o: &Map<String, Value>,
    name: &str,
    read: fn(&Value) -> Result<T, JsonError>,
) -> Result<T, JsonError> {
    read_field(o, name, read, JsonError::missing)
}

/// The tag of an internally tagged enum (`{"type": "text", …}`).
pub fn tag<'a>(o: &'a Map<String, Value>, name: &str) -> Result<&'a str, JsonError> {
    match o.get(name) {
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(JsonError::invalid(v, "a variant name").within(name)),
        None => JsonError::missing(name),
    }
}

/// The name of a unit variant written as a string (`"once"`).
pub fn unit_variant(v: &Value) -> Result<&str, JsonError> {
    v.as_str()
        .ok_or_else(|| JsonError::invalid(v, "a variant name"))
}

/// A variant name that is not one of `expected`.
pub fn unknown_variant(found: &str, expected: &[&str]) -> JsonError {
    JsonError::new(format!(
        "unknown variant `{found}`, expected one of {}",
        expected
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Writes field `name`.
pub fn put<T: ToJson + ?Sized>(o: &mut Map<String, Value>, name: &str, v: &T) {
    o.insert(name.to_owned(), v.to_json());
}

/// Writes field `name` when it is `Some`.
pub fn put_some<T: ToJson>(o: &mut Map<String, Value>, name: &str, v: &Option<T>) {
    if let Some(v) = v {
        put(o, name, v);
    }
}

/// `v` (an object) with the enum's tag added, as serde writes an internally tagged variant.
pub fn tagged(mut v: Value, tag: &str, variant: &str) -> Value {
    if let Value::Object(o) = &mut v {
        o.insert(tag.to_owned(), Value::String(variant.to_owned()));
    }
    v
}

impl FromJson for Value {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        Ok(v.clone())
    }
}

impl ToJson for Value {
    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl FromJson for String {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| JsonError::invalid(v, "a string"))
    }
}

impl ToJson for String {
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}

impl ToJson for str {
    fn to_json(&self) -> Value {
        Value::String(self.to_owned())
    }
}

impl FromJson for bool {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        v.as_bool()
            .ok_or_else(|| JsonError::invalid(v, "a boolean"))
    }
}

impl ToJson for bool {
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

fn unsigned(v: &Value, max: u64, what: &str) -> Result<u64, JsonError> {
    match v.as_u64() {
        Some(n) if n <= max => Ok(n),
        Some(n) => Err(JsonError::new(format!(
            "invalid value: integer `{n}`, expected {what}"
        ))),
        None if v.is_i64() => Err(JsonError::new(format!(
            "invalid value: integer `{}`, expected {what}",
            v.as_i64().unwrap_or_default()
        ))),
        None => Err(JsonError::invalid(v, what)),
    }
}

macro_rules! unsigned_json {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value) -> Result<Self, JsonError> {
                let n = unsigned(v, <$t>::MAX.into(), stringify!($t))?;
                Ok(n as $t)
            }
        }

        impl ToJson for $t {
            fn to_json(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}

unsigned_json!(u16, u32, u64);

impl FromJson for usize {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        let n = unsigned(v, usize::MAX as u64, "usize")?;
        Ok(n as usize)
    }
}

impl ToJson for usize {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl FromJson for i64 {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        match v.as_i64() {
            Some(n) => Ok(n),
            None if v.is_u64() => Err(JsonError::new(format!(
                "invalid value: integer `{v}`, expected i64"
            ))),
            None => Err(JsonError::invalid(v, "i64")),
        }
    }
}

impl ToJson for i64 {
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl FromJson for f64 {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        v.as_f64().ok_or_else(|| JsonError::invalid(v, "f64"))
    }
}

impl ToJson for f64 {
    /// As serde_json: a number, or `null` when not finite.
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl<T: FromJson> FromJson for Option<T> {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        match v {
            Value::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }

    fn absent(_: &str) -> Result<Self, JsonError> {
        Ok(None)
    }
}

impl<T: ToJson> ToJson for Option<T> {
    fn to_json(&self) -> Value {
        match self {
            Some(v) => v.to_json(),
            None => Value::Null,
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(v: &Value) -> Result<Self, JsonError> {
        let items = v
            .as_array()
            .ok_or_else(|| JsonError::invalid(v, "a sequence"))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| T::from_json(item).map_err(|e| e.within(&format!("[{i}]"))))
            .collect()
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(ToJson::to_json).collect())
    }
}

fn entries<'a, T: FromJson + 'a>(
    v: &'a Value,
) -> Result<impl Iterator<Item = Result<(String, T), JsonError>> + 'a, JsonError> {
    let o = v
        .as_object()
        .ok_or_else(|| JsonError::invalid(v, "a map"))?;
    Ok(o.iter().map(|(k, v)| {
        T::from_json(v)
            .map(|t| (k.clone(), t))
            .map_err(|e| e.within(k))
    }))
}

/// Objects with string keys, as maps.
macro_rules! map_json {
    ($($map:ident),*) => {$(
        impl<T: FromJson> FromJson for $map<String, T> {
            fn from_json(v: &Value) -> Result<Self, JsonError> {
                entries(v)?.collect()
            }
        }

        impl<T: ToJson> ToJson for $map<String, T> {
            fn to_json(&self) -> Value {
                Value::Object(self.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    )*};
}

map_json!(BTreeMap, HashMap);

/// serde's `Serialize` and `Deserialize` for a type with [`FromJson`] and [`ToJson`], through
/// a [`Value`] (the CLI's JSON output, tests, and types that hold this one).
#[macro_export]
macro_rules! serde_via_json {
    ($t:ty) => {
        impl ::serde::Serialize for $t {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                ::serde::Serialize::serialize(&$crate::engine::json::ToJson::to_json(self), s)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $t {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = <$crate::engine::json::Value as ::serde::Deserialize>::deserialize(d)?;
                $crate::engine::json::FromJson::from_json(&v).map_err(::serde::de::Error::custom)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_read_as_serde_reads_them() {
        assert_eq!(u64::from_json(&json!(7)), Ok(7));
        assert_eq!(
            u64::from_json(&json!(1.5)).unwrap_err().to_string(),
            "invalid type: floating point `1.5`, expected u64"
        );
        assert_eq!(
            u64::from_json(&json!(-1)).unwrap_err().to_string(),
            "invalid value: integer `-1`, expected u64"
        );
        assert_eq!(
            u16::from_json(&json!(70000)).unwrap_err().to_string(),
            "invalid value: integer `70000`, expected u16"
        );
        assert_eq!(u32::from_json(&json!(4294967295u64)), Ok(u32::MAX));
        assert_eq!(i64::from_json(&json!(-3)), Ok(-3));
        assert!(i64::from_json(&json!(u64::MAX)).is_err());
        assert_eq!(f64::from_json(&json!(3)), Ok(3.0));
        assert_eq!(f64::from_json(&json!(0.25)), Ok(0.25));
        assert!(f64::from_json(&json!("1")).is_err());
        assert_eq!(f64::NAN.to_json(), Value::Null);
    }

    #[test]
    fn options_lists_and_maps() {
        assert_eq!(Option::<String>::from_json(&Value::Null), Ok(None));
        assert_eq!(Option::<String>::absent("x"), Ok(None));
        assert_eq!(
            String::absent("x").unwrap_err().to_string(),
            "missing field `x`"
        );
        assert_eq!(
            String::from_json(&Value::Null).unwrap_err().to_string(),
            "invalid type: null, expected a string"
        );
        assert_eq!(
            Vec::<u32>::from_json(&json!([1, "2"]))
                .unwrap_err()
                .to_string(),
            "invalid type: string \"2\", expected u32 (at [1])"
        );
        let m = BTreeMap::<String, bool>::from_json(&json!({"a": true, "b": false})).unwrap();
        assert_eq!(m.to_json(), json!({"a": true, "b": false}));
        assert!(HashMap::<String, String>::from_json(&json!(["a"])).is_err());
        assert_eq!(Some(vec![1u64]).to_json(), json!([1]));
        assert_eq!(Option::<u64>::None.to_json(), Value::Null);
    }

    #[test]
    fn errors_name_the_path_of_the_value() {
        let e = Vec::<BTreeMap<String, Vec<u32>>>::from_json(&json!([{"a": [1]}, {"b": [2, "x"]}]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid type: string \"x\", expected u32 (at [1].b[1])"
        );
        let v = json!({"items": [{"n": 1}, {"n": -1}]});
        let e = field::<Vec<BTreeMap<String, u64>>>(object(&v, "T").unwrap(), "items").unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid value: integer `-1`, expected u64 (at items[1].n)"
        );
        assert_eq!(JsonError::new("plain").to_string(), "plain");
    }

    #[test]
    fn fields_tags_and_variants() {
        let v = json!({"type": "text", "n": 2, "bad": "x"});
        let o = object(&v, "Thing").unwrap();
        assert_eq!(tag(o, "type"), Ok("text"));
        assert_eq!(
            tag(o, "kind").unwrap_err().to_string(),
            "missing field `kind`"
        );
        assert_eq!(field::<u64>(o, "n"), Ok(2));
        assert_eq!(field_or_default::<u64>(o, "absent"), Ok(0));
        assert_eq!(
            field::<u64>(o, "bad").unwrap_err().to_string(),
            "invalid type: string \"x\", expected u64 (at bad)"
        );
        assert_eq!(
            object(&json!([]), "Thing").unwrap_err().to_string(),
            "invalid type: sequence, expected struct Thing"
        );
        assert_eq!(
            unknown_variant("x", &["a", "b"]).to_string(),
            "unknown variant `x`, expected one of `a`, `b`"
        );
        assert_eq!(
            tagged(json!({"a": 1}), "type", "t"),
            json!({"a": 1, "type": "t"})
        );
        let mut out = Map::new();
        put_some(&mut out, "none", &Option::<u64>::None);
        put_some(&mut out, "some", &Some(1u64));
        put(&mut out, "null", &Option::<u64>::None);
        assert_eq!(Value::Object(out), json!({"some": 1, "null": null}));
    }
}

#[cfg(test)]
mod derive_tests {
    //! What `#[derive(Json)]` writes, on types using every attribute it takes.
    use super::*;
    use serde_json::json;

    fn lenient(v: &Value) -> Result<u64, JsonError> {
        Ok(v.as_f64().map_or(0, |f| f.max(0.0).round() as u64))
    }

    #[derive(Debug, Clone, Default, PartialEq, Json)]
    struct Inner {
        #[json(rename = "innerID")]
        id: String,
        #[json(default)]
        count: u32,
        #[json(default, skip_none)]
        note: Option<String>,
        kept: Option<bool>,
        #[json(default, with = "lenient")]
        loose: u64,
        #[json(default)]
        extra: Value,
    }

    #[derive(Debug, Clone, PartialEq, Json)]
    #[json(tag = "kind", rename_all = "lowercase")]
    enum Tagged {
        Wrapped(Inner),
        Fields {
            #[json(default)]
            size: u64,
            #[json(rename = "fileName", default, skip_none)]
            name: Option<String>,
        },
        Empty,
        #[json(rename = "step-start")]
        StepStart,
        #[json(other)]
        Unknown,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Json)]
    #[json(rename_all = "lowercase")]
    enum Word {
        Once,
        Always,
    }

    #[derive(Debug, Clone, PartialEq, Json)]
    #[json(tag = "type")]
    enum Strict {
        A,
    }

    #[test]
    fn structs_read_and_write_with_their_attributes() {
        let v = json!({"innerID": "i1", "count": 3, "note": "n", "kept": null, "loose": 2.6,
                       "unknown": [1, 2]});
        let inner = Inner::from_json(&v).unwrap();
        assert_eq!(
            inner,
            Inner {
                id: "i1".into(),
                count: 3,
                note: Some("n".into()),
                kept: None,
                loose: 3,
                extra: Value::Null,
            }
        );
        // Unknown fields are dropped; `kept` has no skip_none so it is written as null.
        assert_eq!(
            inner.to_json(),
            json!({"innerID": "i1", "count": 3, "note": "n", "kept": null, "loose": 3, "extra": null})
        );
        // Absent: `default` fields take their Default, an Option is None, a plain field fails.
        let bare = Inner::from_json(&json!({"innerID": "x"})).unwrap();
        assert_eq!(bare.count, 0);
        assert_eq!(bare.kept, None);
        assert_eq!(
            Inner::from_json(&json!({})).unwrap_err().to_string(),
            "missing field `innerID`"
        );
        assert_eq!(
            Inner::from_json(&json!({"innerID": "x", "count": "3"}))
                .unwrap_err()
                .to_string(),
            "invalid type: string \"3\", expected u32 (at count)"
        );
        assert!(Inner::from_json(&json!("text")).is_err());
        // serde's traits go through the same code.
        let text = serde_json::to_string(&inner).unwrap();
        assert_eq!(serde_json::from_str::<Inner>(&text).unwrap(), inner);
        assert!(serde_json::from_str::<Inner>("{}").is_err());
    }

    #[test]
    fn tagged_enums_read_and_write_every_kind_of_variant() {
        let wrapped = Tagged::from_json(&json!({"kind": "wrapped", "innerID": "w"})).unwrap();
        assert_eq!(
            wrapped,
            Tagged::Wrapped(Inner {
                id: "w".into(),
                ..Inner::default()
            })
        );
        assert_eq!(wrapped.to_json()["kind"], "wrapped");
        assert_eq!(wrapped.to_json()["innerID"], "w");
        let fields = Tagged::from_json(&json!({"kind": "fields", "size": 4, "fileName": "a"}));
        assert_eq!(
            fields,
            Ok(Tagged::Fields {
                size: 4,
                name: Some("a".into())
            })
        );
        assert_eq!(
            Tagged::Fields {
                size: 1,
                name: None
            }
            .to_json(),
            json!({"kind": "fields", "size": 1})
        );
        assert_eq!(
            Tagged::from_json(&json!({"kind": "empty"})),
            Ok(Tagged::Empty)
        );
        assert_eq!(Tagged::Empty.to_json(), json!({"kind": "empty"}));
        assert_eq!(
            Tagged::from_json(&json!({"kind": "step-start"})),
            Ok(Tagged::StepStart)
        );
        assert_eq!(Tagged::StepStart.to_json(), json!({"kind": "step-start"}));
        assert_eq!(
            Tagged::from_json(&json!({"kind": "newer"})),
            Ok(Tagged::Unknown)
        );
        assert_eq!(Tagged::Unknown.to_json(), json!({"kind": "unknown"}));
        assert_eq!(
            Tagged::from_json(&json!({"size": 1}))
                .unwrap_err()
                .to_string(),
            "missing field `kind`"
        );
        assert_eq!(
            Tagged::from_json(&json!({"kind": "wrapped"}))
                .unwrap_err()
                .to_string(),
            "missing field `innerID`"
        );
        assert_eq!(
            Strict::from_json(&json!({"type": "b"}))
                .unwrap_err()
                .to_string(),
            "unknown variant `b`, expected one of `A`"
        );
    }

    #[derive(Debug, Clone, PartialEq, Json)]
    #[json(tag = "type", rename_all = "snake_case")]
    enum Snake {
        StepStart {
            #[json(default, skip_if = "std::ops::Not::not")]
            flag: bool,
        },
    }

    #[test]
    fn snake_case_tags_and_fields_left_out_by_a_test() {
        let v = json!({"type": "step_start"});
        assert_eq!(Snake::from_json(&v), Ok(Snake::StepStart { flag: false }));
        assert_eq!(Snake::StepStart { flag: false }.to_json(), v);
        assert_eq!(
            Snake::StepStart { flag: true }.to_json(),
            json!({"type": "step_start", "flag": true})
        );
        assert!(Snake::from_json(&json!({"type": "StepStart"})).is_err());
    }

    #[test]
    fn unit_enums_are_strings() {
        assert_eq!(Word::from_json(&json!("always")), Ok(Word::Always));
        assert_eq!(Word::Once.to_json(), json!("once"));
        assert_eq!(
            Word::from_json(&json!("never")).unwrap_err().to_string(),
            "unknown variant `never`, expected one of `once`, `always`"
        );
        assert!(Word::from_json(&json!(1)).is_err());
        assert_eq!(serde_json::to_string(&Word::Always).unwrap(), "\"always\"");
    }
}
