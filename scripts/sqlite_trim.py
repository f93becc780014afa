#!/usr/bin/env python3
"""Leaves out of SQLite's amalgamation the built-in SQL functions, FTS5 tokenizers and FTS5
modules the browser's store never uses, so that the compiler drops their code (measured in the
README).

  sqlite_trim.py SQLITE3_C

Edits the file in place. SQLite registers each of these from a table or a call in an init
function; the entry or call is removed, and the function it named is then unused. What stays is
what the store's SQL says (`engine::store`) and what SQLite's own statements use: FTS5 with the
`unicode61` tokenizer and `snippet()` (search), `julianday`, `char`, the aggregates. (SQLite's
JSON functions are left out whole, by SQLITE_OMIT_JSON: `engine::store::sql_json` defines the
two the store calls.) A statement naming a removed function fails with SQLite's
own "no such function" error; nothing else changes.

Each edit must find what it removes (a block exactly once): a SQLite whose source differs
(another version) stops with a message naming the edit, and scripts/build-web.sh then builds
with the untrimmed amalgamation.
"""
import re
import sys

# Lines of registration tables: one line each.
TABLE_LINES = [
    # FTS5's auxiliary functions (sqlite3Fts5AuxInit): `snippet` stays.
    r'    \{ "highlight",\s+0, fts5HighlightFunction, 0 \},\n',
    r'    \{ "bm25",\s+0, fts5Bm25Function,\s+0 \},\n',
    r'    \{ "fts5_get_locale", 0, fts5GetLocaleFunction, 0 \},\n',
    # FTS5's tokenizers (sqlite3Fts5TokenizerInit): `unicode61` stays.
    r'    \{ "ascii",\s+\{fts5AsciiCreate, fts5AsciiDelete, fts5AsciiTokenize \}\},\n',
    r'    \{ "trigram",\s+\{fts5TriCreate, fts5TriDelete, fts5TriTokenize\}\},\n',
]
BLOCKS = [
    # The porter stemmer, registered after the table.
    r'  if\( rc==SQLITE_OK \)\{\n    fts5_tokenizer_v2 sPorter = \{\n(?:.*\n){4}    \};\n'
    r'    rc = pApi->xCreateTokenizer_v2\(pApi,\n        "porter",\n(?:.*\n){4}  \}\n',
    # The fts5vocab virtual table.
    r'    if\( rc==SQLITE_OK \) rc = sqlite3Fts5VocabInit\(pGlobal, db\);\n',
    # fts5_source_id(), fts5_locale(), fts5_insttoken().
    r'    if\( rc==SQLITE_OK \)\{\n      rc = sqlite3_create_function\(\n          db, "fts5_source_id", 0,\n(?:.*\n){3}    \}\n',
    r'    if\( rc==SQLITE_OK \)\{\n      rc = sqlite3_create_function\(\n          db, "fts5_locale", 2,\n(?:.*\n){3}    \}\n',
    r'    if\( rc==SQLITE_OK \)\{\n      rc = sqlite3_create_function\(\n          db, "fts5_insttoken", 1,\n(?:.*\n){3}    \}\n',
]

# Entries of SQLite's own function tables, by the macro that writes them: every entry with that
# name (some names have one per number of arguments) is removed.
ENTRIES = {
    # Date and time (date.c): `julianday('now')` stays (the sync triggers' clock).
    "PURE_DATE": ["unixepoch", "date", "time", "datetime", "strftime", "timediff"],
    "DFUNCTION": ["current_time", "current_timestamp", "current_date",
                  "sqlite_version", "sqlite_source_id"],
    # Core scalar and aggregate functions (func.c) that neither the store's SQL nor SQLite's
    # own statements (ALTER TABLE … ADD COLUMN uses printf, substr, length and glob; VACUUM
    # uses quote and coalesce; FTS5 none) call. min, max, sum, count, coalesce, char, and the
    # rest of the table stay.
    "FUNCTION": ["ltrim", "rtrim", "trim", "instr", "unicode", "abs", "round", "upper",
                 "lower", "hex", "unhex", "concat", "concat_ws", "nullif", "sqlite_log",
                 "unistr", "unistr_quote", "replace", "zeroblob"],
    "FUNCTION2": ["typeof", "subtype", "octet_length"],
    "VFUNCTION": ["random", "randomblob", "last_insert_rowid", "changes", "total_changes"],
    "WAGGREGATE": ["total", "avg", "group_concat", "string_agg"],
    # ALTER TABLE's helpers for RENAME, DROP COLUMN and constraints (the store's schema steps
    # only ADD COLUMN, which uses none of them); sqlite_fail stays, so the table is not empty.
    "INTERNAL_FUNCTION": ["sqlite_rename_column", "sqlite_rename_table", "sqlite_rename_test",
                          "sqlite_drop_column", "sqlite_rename_quotefix",
                          "sqlite_drop_constraint", "sqlite_add_constraint",
                          "sqlite_find_constraint"],
}


def main(path):
    text = open(path, encoding="utf-8").read()
    for pattern in TABLE_LINES + BLOCKS:
        found = len(re.findall(pattern, text))
        if found != 1:
            sys.exit(f"sqlite_trim: {found} matches for {pattern!r} (expected 1)")
        text = re.sub(pattern, "", text)
    for macro, names in ENTRIES.items():
        for name in names:
            pattern = r"^    " + macro + r"\(" + re.escape(name) + r",[^)]*\),?\n"
            if not re.search(pattern, text, flags=re.M):
                sys.exit(f"sqlite_trim: no {macro}({name}, ...) entry")
            text = re.sub(pattern, "", text, flags=re.M)
    # What the store uses is still registered.
    for kept in ("PURE_DATE(julianday,", "FUNCTION(char,", '{ "snippet",', '{ "unicode61",'):
        if kept not in text:
            sys.exit(f"sqlite_trim: {kept} is gone")
    open(path, "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main(sys.argv[1])
