//! `json_object` and `json_extract` as the store's SQL calls them, for the browser's SQLite,
//! which is built without SQLite's JSON functions (`scripts/build-web.sh`: 14 KB gzip of the
//! storage worker, of which the store needs these two).
//!
//! What the store's SQL says with them: the message tombstone trigger builds
//! `json_object('conversation', …, 'parent', …, 'updated_at', …)` (text, text or NULL, integer);
//! sync's queries read `json_extract(value, '$.conversation')` and `'$.updated_at'` back. For
//! those calls the results are SQLite's own, text for text (a test compares them with the
//! built-in functions on the desktop's SQLite). One difference the store's calls never meet:
//! SQLite keeps an object's keys in the order given, these in sorted order (the trigger gives
//! them sorted). Paths other than `$.name`, and BLOB or floating-point values, are refused with
//! an error rather than answered differently.

use rusqlite::functions::{Context, FunctionFlags};
use rusqlite::types::{Value as SqlValue, ValueRef};
use rusqlite::{Connection, Error as SqlError};
use serde_json::{Map, Value};

/// Defines `json_object` and `json_extract` on `conn`.
pub fn define(conn: &Connection) -> rusqlite::Result<()> {
    define_as(conn, "json_object", "json_extract")
}

/// The same functions under other names (the tests compare them with SQLite's own).
pub fn define_as(conn: &Connection, object: &str, extract: &str) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC;
    conn.create_scalar_function(object, -1, flags, json_object)?;
    conn.create_scalar_function(extract, 2, flags, json_extract)
}

fn refuse(message: &str) -> SqlError {
    SqlError::UserFunctionError(message.into())
}

fn json_object(ctx: &Context<'_>) -> rusqlite::Result<String> {
    if !ctx.len().is_multiple_of(2) {
        return Err(refuse("json_object() requires an even number of arguments"));
    }
    let mut o = Map::new();
    for i in (0..ctx.len()).step_by(2) {
        let ValueRef::Text(label) = ctx.get_raw(i) else {
            return Err(refuse("json_object() labels must be TEXT"));
        };
        let value = match ctx.get_raw(i + 1) {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(n) => Value::from(n),
            ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Real(_) | ValueRef::Blob(_) => {
                return Err(refuse("json_object() here takes text, integers and NULL"))
            }
        };
        o.insert(String::from_utf8_lossy(label).into_owned(), value);
    }
    Ok(Value::Object(o).to_string())
}

fn json_extract(ctx: &Context<'_>) -> rusqlite::Result<SqlValue> {
    let ValueRef::Text(path) = ctx.get_raw(1) else {
        return Err(refuse(
            "json_extract() here takes a path of the form '$.name'",
        ));
    };
    let Some(key) = path
        .strip_prefix(b"$.")
        .filter(|k| !k.is_empty() && k.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_'))
    else {
        return Err(refuse(
            "json_extract() here takes a path of the form '$.name'",
        ));
    };
    let doc: Value = match ctx.get_raw(0) {
        ValueRef::Null => return Ok(SqlValue::Null),
        ValueRef::Text(t) => serde_json::from_slice(t).map_err(|_| refuse("malformed JSON"))?,
        _ => return Err(refuse("malformed JSON")),
    };
    let key = std::str::from_utf8(key).unwrap_or_default();
    Ok(match doc.as_object().and_then(|o| o.get(key)) {
        None | Some(Value::Null) => SqlValue::Null,
        Some(Value::Bool(b)) => SqlValue::Integer(i64::from(*b)),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or_default()),
        },
        Some(Value::String(s)) => SqlValue::Text(s.clone()),
        Some(v) => SqlValue::Text(v.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ours under other names beside SQLite's own, on the desktop's SQLite.
    fn conn() -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        define_as(&conn, "nx_object", "nx_extract").unwrap();
        conn
    }

    /// The two columns of a one-row `SELECT ours, theirs`.
    fn both(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> (SqlValue, SqlValue) {
        conn.query_row(sql, params, |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
    }

    const EXTRACT: &str = "SELECT nx_extract(?1, ?2), json_extract(?1, ?2)";

    #[test]
    fn tombstones_are_written_and_read_as_sqlite_writes_and_reads_them() {
        let conn = conn();
        let ids = [
            "plain-id",
            "with \"quotes\" and \\ backslash",
            "tab\tnewline\ncontrol\u{1}",
            "unicode é ✓ 😀 \u{2028}",
            "",
        ];
        for conversation in ids {
            for parent in [Some("p-1"), Some("odd \"p\"\n"), None] {
                for updated_at in [0i64, 1_733_500_000_123, -5, i64::MAX] {
                    let (ours, theirs) = both(
                        &conn,
                        "SELECT nx_object('conversation', ?1, 'parent', ?2, 'updated_at', ?3),
                                json_object('conversation', ?1, 'parent', ?2, 'updated_at', ?3)",
                        rusqlite::params![conversation, parent, updated_at],
                    );
                    assert_eq!(ours, theirs);
                    let SqlValue::Text(theirs) = theirs else {
                        panic!("json_object gave {theirs:?}");
                    };
                    for path in ["$.conversation", "$.parent", "$.updated_at", "$.absent"] {
                        let (a, b) = both(&conn, EXTRACT, rusqlite::params![theirs, path]);
                        assert_eq!(a, b, "{theirs} {path}");
                    }
                }
            }
        }
    }

    #[test]
    fn values_of_other_types_read_as_sqlite_reads_them() {
        let conn = conn();
        let doc = r#"{"t": true, "f": false, "n": null, "x": 2.5, "big": 1e300, "o": {"a": [1, "b"]}, "s": "é"}"#;
        for path in ["$.t", "$.f", "$.n", "$.x", "$.big", "$.o", "$.s"] {
            let (a, b) = both(&conn, EXTRACT, rusqlite::params![doc, path]);
            assert_eq!(a, b, "{path}");
        }
        let null: Option<String> = conn
            .query_row("SELECT nx_extract(NULL, '$.a')", [], |r| r.get(0))
            .unwrap();
        assert_eq!(null, None);
    }

    #[test]
    fn what_the_store_never_asks_is_refused_not_answered_differently() {
        let conn = conn();
        for sql in [
            "SELECT nx_extract('{\"a\": [1]}', '$.a[0]')",
            "SELECT nx_extract('{\"a\": 1}', 'a')",
            "SELECT nx_extract('not json', '$.a')",
            "SELECT nx_object('a')",
            "SELECT nx_object(1, 'a')",
            "SELECT nx_object('a', x'00')",
            "SELECT nx_object('a', 1.5)",
        ] {
            assert!(
                conn.query_row(sql, [], |r| r.get::<_, SqlValue>(0))
                    .is_err(),
                "{sql}"
            );
        }
    }
}
