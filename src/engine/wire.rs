//! The store protocol's binary form: how the browser page and its storage worker (two wasm
//! modules of one build) pass [`Request`](super::store::api::Request)s and answers.
//!
//! JSON through serde made each module carry a generated reader and writer per type, with
//! field-name matching, for messages no one else reads. Here a value is its fields in
//! declaration order (`#[derive(Wire)]`, `wire-derive/`): integers as LEB128 varints (signed
//! ones zigzagged), strings and lists with their length first, an `Option` or an enum with a
//! tag first, floats as their 8 or 4 bytes. A JSON value (settings) is its JSON text.
//!
//! Reading never trusts the bytes: a short or malformed message is [`Malformed`], never a panic
//! or an allocation larger than the message.

pub use nexus_wire_derive::Wire;

use std::collections::BTreeMap;

/// The bytes did not hold a value of the expected type (a message cut short, or written by
/// another build of the app).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a message between the page and its storage worker could not be read")
    }
}

/// A value that can be written to and read from the protocol's bytes.
pub trait Wire: Sized {
    fn put(&self, out: &mut Vec<u8>);
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed>;

    /// A list of values (bytes override this to copy the slice at once).
    fn put_list(items: &[Self], out: &mut Vec<u8>) {
        put_len(items.len(), out);
        for item in items {
            item.put(out);
        }
    }

    fn take_list(input: &mut Input<'_>) -> Result<Vec<Self>, Malformed> {
        let len = input.len()?;
        // Every type the protocol puts in a list takes at least one byte: a length beyond
        // what is left is a lie, refused before anything is allocated for it.
        if len > input.remaining() {
            return Err(Malformed);
        }
        let mut items = Vec::with_capacity(len);
        for _ in 0..len {
            items.push(Self::take(input)?);
        }
        Ok(items)
    }
}

/// The whole message for `value`.
pub fn encode<T: Wire>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.put(&mut out);
    out
}

/// The value in `bytes`, which must hold exactly one.
pub fn decode<T: Wire>(bytes: &[u8]) -> Result<T, Malformed> {
    let mut input = Input::new(bytes);
    let value = T::take(&mut input)?;
    input.finish()?;
    Ok(value)
}

/// A message addressed by an id written first (a request, or the answer to one): the id and
/// the value after it, or that the value did not read (so the one waiting can be told).
/// `None` when not even the id reads.
pub fn decode_addressed<T: Wire>(bytes: &[u8]) -> Option<(u64, Result<T, Malformed>)> {
    let mut input = Input::new(bytes);
    let id = u64::take(&mut input).ok()?;
    let value = T::take(&mut input).and_then(|v| input.finish().map(|()| v));
    Some((id, value))
}

/// The unread rest of a message.
pub struct Input<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Input<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Input { bytes, at: 0 }
    }

    /// Nothing may follow the last field.
    fn finish(&self) -> Result<(), Malformed> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn bytes(&mut self, n: usize) -> Result<&[u8], Malformed> {
        if n > self.remaining() {
            return Err(Malformed);
        }
        let start = self.at;
        self.at += n;
        Ok(&self.bytes[start..self.at])
    }

    fn byte(&mut self) -> Result<u8, Malformed> {
        Ok(self.bytes(1)?[0])
    }

    fn varint(&mut self) -> Result<u64, Malformed> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            let bits = u64::from(b & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(Malformed);
            }
            value |= bits << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Malformed)
    }

    fn len(&mut self) -> Result<usize, Malformed> {
        usize::try_from(self.varint()?).map_err(|_| Malformed)
    }

    /// An enum's variant index (written by [`put_tag`]).
    pub fn tag(&mut self) -> Result<u32, Malformed> {
        u32::try_from(self.varint()?).map_err(|_| Malformed)
    }
}

fn put_varint(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_len(len: usize, out: &mut Vec<u8>) {
    put_varint(len as u64, out);
}

/// An enum's variant index.
pub fn put_tag(tag: u32, out: &mut Vec<u8>) {
    put_varint(u64::from(tag), out);
}

impl Wire for u8 {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(*self);
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        input.byte()
    }
    fn put_list(items: &[Self], out: &mut Vec<u8>) {
        put_len(items.len(), out);
        out.extend_from_slice(items);
    }
    fn take_list(input: &mut Input<'_>) -> Result<Vec<Self>, Malformed> {
        let len = input.len()?;
        Ok(input.bytes(len)?.to_vec())
    }
}

macro_rules! unsigned {
    ($($t:ty),*) => { $(
        impl Wire for $t {
            fn put(&self, out: &mut Vec<u8>) {
                put_varint(*self as u64, out);
            }
            fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
                <$t>::try_from(input.varint()?).map_err(|_| Malformed)
            }
        }
    )* };
}
unsigned!(u16, u32, u64, usize);

macro_rules! signed {
    ($($t:ty),*) => { $(
        impl Wire for $t {
            fn put(&self, out: &mut Vec<u8>) {
                let v = *self as i64;
                put_varint(((v << 1) ^ (v >> 63)) as u64, out);
            }
            fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
                let z = input.varint()?;
                let v = ((z >> 1) as i64) ^ -((z & 1) as i64);
                <$t>::try_from(v).map_err(|_| Malformed)
            }
        }
    )* };
}
signed!(i32, i64);

macro_rules! float {
    ($($t:ty),*) => { $(
        impl Wire for $t {
            fn put(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
                let b = input.bytes(std::mem::size_of::<$t>())?;
                Ok(<$t>::from_le_bytes(b.try_into().map_err(|_| Malformed)?))
            }
        }
    )* };
}
float!(f32, f64);

impl Wire for bool {
    fn put(&self, out: &mut Vec<u8>) {
        out.push(u8::from(*self));
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        match input.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Malformed),
        }
    }
}

impl Wire for () {
    fn put(&self, _: &mut Vec<u8>) {}
    fn take(_: &mut Input<'_>) -> Result<Self, Malformed> {
        Ok(())
    }
}

impl Wire for String {
    fn put(&self, out: &mut Vec<u8>) {
        put_len(self.len(), out);
        out.extend_from_slice(self.as_bytes());
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        let len = input.len()?;
        let bytes = input.bytes(len)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| Malformed)
    }
}

/// A path goes as its text (both ends of the wire are one browser build, which has no file
/// paths to send; native builds pass requests between threads without this form).
impl Wire for std::path::PathBuf {
    fn put(&self, out: &mut Vec<u8>) {
        self.to_string_lossy().into_owned().put(out);
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        String::take(input).map(Into::into)
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn put(&self, out: &mut Vec<u8>) {
        T::put_list(self, out);
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        T::take_list(input)
    }
}

impl<T: Wire> Wire for Option<T> {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.put(out);
            }
        }
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        match input.byte()? {
            0 => Ok(None),
            1 => T::take(input).map(Some),
            _ => Err(Malformed),
        }
    }
}

impl<T: Wire> Wire for Box<T> {
    fn put(&self, out: &mut Vec<u8>) {
        (**self).put(out);
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        T::take(input).map(Box::new)
    }
}

impl<A: Wire, B: Wire> Wire for (A, B) {
    fn put(&self, out: &mut Vec<u8>) {
        self.0.put(out);
        self.1.put(out);
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        Ok((A::take(input)?, B::take(input)?))
    }
}

impl<K: Wire + Ord, V: Wire> Wire for BTreeMap<K, V> {
    fn put(&self, out: &mut Vec<u8>) {
        put_len(self.len(), out);
        for (k, v) in self {
            k.put(out);
            v.put(out);
        }
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        let len = input.len()?;
        if len > input.remaining() {
            return Err(Malformed);
        }
        let mut map = BTreeMap::new();
        for _ in 0..len {
            let k = K::take(input)?;
            map.insert(k, V::take(input)?);
        }
        Ok(map)
    }
}

/// A JSON value (a setting) goes as its JSON text.
impl Wire for serde_json::Value {
    fn put(&self, out: &mut Vec<u8>) {
        self.to_string().put(out);
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        serde_json::from_str(&String::take(input)?).map_err(|_| Malformed)
    }
}

impl<T: Wire, E: Wire> Wire for Result<T, E> {
    fn put(&self, out: &mut Vec<u8>) {
        match self {
            Ok(v) => {
                out.push(0);
                v.put(out);
            }
            Err(e) => {
                out.push(1);
                e.put(out);
            }
        }
    }
    fn take(input: &mut Input<'_>) -> Result<Self, Malformed> {
        match input.byte()? {
            0 => T::take(input).map(Ok),
            1 => E::take(input).map(Err),
            _ => Err(Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round<T: Wire + PartialEq + std::fmt::Debug>(value: T) -> Vec<u8> {
        let bytes = encode(&value);
        assert_eq!(decode::<T>(&bytes), Ok(value), "{bytes:?}");
        bytes
    }

    #[test]
    fn numbers_keep_their_extremes_and_small_ones_take_one_byte() {
        for v in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            round(v);
        }
        for v in [0i64, 1, -1, 63, -64, 64, -65, i64::MIN, i64::MAX] {
            round(v);
        }
        round(i32::MIN);
        round(u16::MAX);
        round(usize::MAX);
        assert_eq!(encode(&5u32), [5]);
        assert_eq!(encode(&-1i64), [1]);
        assert_eq!(encode(&300u64), [0xac, 0x02]);
        for v in [0.1f64, -0.0, f64::MAX, f64::MIN_POSITIVE, 1e-300] {
            assert_eq!(
                decode::<f64>(&encode(&v)).map(f64::to_bits),
                Ok(v.to_bits())
            );
        }
        assert!(decode::<f64>(&encode(&f64::NAN)).is_ok_and(f64::is_nan));
        round(1.5f32);
    }

    #[test]
    fn a_number_too_large_for_its_type_does_not_read() {
        assert_eq!(
            decode::<u32>(&encode(&(u64::from(u32::MAX) + 1))),
            Err(Malformed)
        );
        assert_eq!(
            decode::<i32>(&encode(&(i64::from(i32::MIN) - 1))),
            Err(Malformed)
        );
        assert_eq!(decode::<u16>(&encode(&70_000u32)), Err(Malformed));
        // Eleven continuation bytes, and a tenth byte above u64's range.
        assert_eq!(decode::<u64>(&[0xff; 11]), Err(Malformed));
        let mut over = vec![0xff; 9];
        over.push(0x02);
        assert_eq!(decode::<u64>(&over), Err(Malformed));
    }

    #[test]
    fn text_lists_options_and_json_values_come_back_whole() {
        round(String::new());
        round("naïve ☕ \u{0} \"quoted\"\n".to_owned());
        round(vec![0u8, 1, 255, 128]);
        round(vec!["a".to_owned(), String::new(), "c".to_owned()]);
        round(Some(Some(3u32)));
        round(None::<String>);
        round(vec![(String::from("k"), 7i64)]);
        round::<Result<u32, String>>(Ok(1));
        round::<Result<u32, String>>(Err("no".into()));
        round(BTreeMap::from([
            (1u32, "one".to_owned()),
            (2, "two".to_owned()),
        ]));
        round(
            serde_json::json!({"n": 1.25, "big": u64::MAX, "neg": i64::MIN, "s": "x", "a": [null, true, {}]}),
        );
        round(Box::new(9u64));
        round(std::path::PathBuf::from("/b/backup 1.db"));
    }

    #[test]
    fn a_cut_or_padded_message_does_not_read() {
        let value = (
            vec!["first".to_owned(), "second".to_owned()],
            Some(serde_json::json!({"k": [1, 2]})),
        );
        let bytes = encode(&value);
        for cut in 0..bytes.len() {
            assert_eq!(
                decode::<(Vec<String>, Option<serde_json::Value>)>(&bytes[..cut]),
                Err(Malformed),
                "cut at {cut}"
            );
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert_eq!(
            decode::<(Vec<String>, Option<serde_json::Value>)>(&padded),
            Err(Malformed)
        );
    }

    #[test]
    fn an_addressed_message_names_its_id_even_when_the_rest_does_not_read() {
        let bytes = encode(&(77u64, "answer".to_owned()));
        assert_eq!(
            decode_addressed::<String>(&bytes),
            Some((77, Ok("answer".to_owned())))
        );
        let cut = &bytes[..bytes.len() - 1];
        assert_eq!(decode_addressed::<String>(cut), Some((77, Err(Malformed))));
        let mut padded = bytes.clone();
        padded.push(1);
        assert_eq!(
            decode_addressed::<String>(&padded),
            Some((77, Err(Malformed)))
        );
        assert_eq!(decode_addressed::<String>(&[0x80]), None);
    }

    #[test]
    fn bad_bytes_are_refused_not_trusted() {
        // Not UTF-8.
        assert_eq!(decode::<String>(&[2, 0xc3, 0x28]), Err(Malformed));
        // Flags and tags other than the ones written.
        assert_eq!(decode::<bool>(&[2]), Err(Malformed));
        assert_eq!(decode::<Option<u8>>(&[2, 0]), Err(Malformed));
        assert_eq!(decode::<Result<u8, u8>>(&[2, 0]), Err(Malformed));
        // A list that claims more items than the message has bytes: refused before any
        // allocation of that size.
        let mut huge = Vec::new();
        put_varint(u64::MAX >> 1, &mut huge);
        assert_eq!(decode::<Vec<String>>(&huge), Err(Malformed));
        assert_eq!(decode::<Vec<u8>>(&huge), Err(Malformed));
        assert_eq!(decode::<String>(&huge), Err(Malformed));
        assert_eq!(decode::<BTreeMap<u8, u8>>(&huge), Err(Malformed));
        // JSON text that is not JSON.
        assert_eq!(
            decode::<serde_json::Value>(&encode(&"{nope".to_owned())),
            Err(Malformed)
        );
    }
}
