//! Small hand-written syntax highlighter for code blocks in chat replies.
//!
//! Model replies are full of fenced code, and the UI colours it token by token. A
//! full grammar engine (syntect, tree-sitter) would add megabytes of grammars and
//! start-up time for a client that mostly shows short snippets, so this is a single
//! pass, table-driven lexer: per-language keyword sets plus comment and string
//! syntax. It is deliberately forgiving: it never fails, never panics, runs in
//! linear time, and on anything it does not understand it falls back to plain
//! text. Its output is a list of byte ranges (`Span`s) that are contiguous, cover
//! the whole input and start and end on `char` boundaries, so the UI can slice the
//! code safely without re-validating.

/// What a run of code is, which decides its colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Plain,
    Keyword,
    String,
    Number,
    Comment,
    Type,
    Function,
    Punct,
}

impl TokenKind {
    /// CSS class the UI puts on the span; plain text needs no class at all.
    pub fn css_class(self) -> &'static str {
        match self {
            TokenKind::Plain => "",
            TokenKind::Keyword => "tok-kw",
            TokenKind::String => "tok-str",
            TokenKind::Number => "tok-num",
            TokenKind::Comment => "tok-com",
            TokenKind::Type => "tok-type",
            TokenKind::Function => "tok-fn",
            TokenKind::Punct => "tok-punct",
        }
    }
}

/// A byte range `start..end` of the highlighted code and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

/// Highlight `code` written in `lang` (a markdown fence info word such as `rust`,
/// `py`, `tsx`; `None` or an unknown name uses a generic lexer).
///
/// The spans are contiguous, cover `0..code.len()` exactly, sit on `char`
/// boundaries, and adjacent spans never share a kind.
pub fn highlight(lang: Option<&str>, code: &str) -> Vec<Span> {
    let mut out = Out::default();
    match lexer_for(lang) {
        Lexer::Markup => lex_markup(code, &mut out),
        Lexer::Code(syntax) => lex_code(syntax, code, &mut out),
    }
    out.spans
}

/// Collects spans, merging neighbours of the same kind so the UI renders as few
/// elements as possible.
#[derive(Default)]
struct Out {
    spans: Vec<Span>,
}

impl Out {
    fn push(&mut self, kind: TokenKind, start: usize, end: usize) {
        if end <= start {
            return;
        }
        if let Some(last) = self.spans.last_mut() {
            if last.kind == kind && last.end == start {
                last.end = end;
                return;
            }
        }
        self.spans.push(Span { kind, start, end });
    }
}

enum Lexer {
    Markup,
    Code(&'static Syntax),
}

/// Maps fence names and their common aliases to a lexer.
fn lexer_for(lang: Option<&str>) -> Lexer {
    let name = lang.unwrap_or("").trim().to_ascii_lowercase();
    let syntax = match name.as_str() {
        "rust" | "rs" => &RUST,
        "python" | "py" | "python3" | "py3" | "pyi" | "ipython" => &PYTHON,
        "javascript" | "js" | "jsx" | "mjs" | "cjs" | "node" | "typescript" | "ts" | "tsx"
        | "mts" | "cts" => &JS,
        "json" | "jsonc" | "json5" | "jsonl" | "geojson" => &JSON,
        "bash" | "sh" | "shell" | "zsh" | "ksh" | "console" | "shellsession" | "terminal" => &BASH,
        "c" | "h" | "cpp" | "c++" | "cc" | "cxx" | "hpp" | "hh" | "hxx" | "objc"
        | "objective-c" => &C,
        "go" | "golang" => &GO,
        "java" => &JAVA,
        "html" | "htm" | "xhtml" | "xml" | "svg" | "xsl" | "plist" | "vue" | "svelte" => {
            return Lexer::Markup
        }
        "css" | "scss" | "less" => &CSS,
        "sql" | "mysql" | "postgres" | "postgresql" | "psql" | "sqlite" | "plsql" | "tsql" => &SQL,
        "yaml" | "yml" => &YAML,
        "toml" => &TOML,
        _ => &GENERIC,
    };
    Lexer::Code(syntax)
}

/// How identifiers followed by a separator are treated (mapping keys in data formats).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    None,
    /// `key:` (JSON, YAML, CSS properties).
    Colon,
    /// `key =` (TOML).
    Equals,
}

/// Everything the generic code lexer needs to know about one language.
struct Syntax {
    /// Space-separated word lists: compact to write, and scanning a few hundred
    /// bytes per identifier keeps the lexer linear in the input.
    keywords: &'static str,
    types: &'static str,
    line_comments: &'static [&'static str],
    block_comment: Option<(&'static str, &'static str)>,
    quotes: &'static [u8],
    /// `"..."` and `'...'` may span lines (backticks always may).
    multiline_strings: bool,
    /// `'...'` takes no backslash escapes (shell, SQL).
    raw_single_quotes: bool,
    /// Python `"""` / `'''`.
    triple_quotes: bool,
    /// Short letter prefixes glued to a string: `b"..."`, `f'...'`, `r"..."`.
    string_prefixes: bool,
    /// Rust lifetimes vs char literals, raw strings `r#"..."#`, `macro!`.
    rust_quirks: bool,
    case_insensitive: bool,
    /// Identifiers starting with an uppercase letter are types (classes, structs).
    capitalized_types: bool,
    /// A `#` only starts a comment at the start of a word (shell `$#`, `a#b`).
    hash_comment_needs_space: bool,
    /// Extra identifier bytes besides `[A-Za-z0-9_]` and non-ASCII.
    ident_extra: &'static [u8],
    /// Shell `$VAR` / `${VAR}`.
    dollar_vars: bool,
    /// C preprocessor `#include`.
    preprocessor: bool,
    keys: Keys,
}

const BASE: Syntax = Syntax {
    keywords: "",
    types: "",
    line_comments: &[],
    block_comment: None,
    quotes: b"\"'",
    multiline_strings: false,
    raw_single_quotes: false,
    triple_quotes: false,
    string_prefixes: false,
    rust_quirks: false,
    case_insensitive: false,
    capitalized_types: false,
    hash_comment_needs_space: false,
    ident_extra: b"",
    dollar_vars: false,
    preprocessor: false,
    keys: Keys::None,
};

const RUST: Syntax = Syntax {
    keywords: "as async await break const continue crate dyn else enum extern false fn for if \
        impl in let loop match mod move mut pub ref return self Self static struct super \
        trait true type unsafe use where while yield union macro_rules",
    types: "i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize f32 f64 bool char str",
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: b"\"",
    multiline_strings: true,
    string_prefixes: true,
    rust_quirks: true,
    capitalized_types: true,
    ..BASE
};

const PYTHON: Syntax = Syntax {
    keywords: "False None True and as assert async await break class continue def del elif else \
        except finally for from global if import in is lambda nonlocal not or pass raise \
        return try while with yield match case self",
    types: "int float str bool bytes list dict set tuple object",
    line_comments: &["#"],
    triple_quotes: true,
    string_prefixes: true,
    capitalized_types: true,
    ..BASE
};

const JS: Syntax = Syntax {
    keywords: "async await break case catch class const continue debugger default delete do \
        else export extends false finally for from function if import in instanceof let \
        new null of return static super switch this throw true try typeof undefined var \
        void while with yield as interface type enum implements private protected public \
        readonly declare namespace abstract keyof satisfies get set",
    types: "string number boolean any unknown never object bigint symbol",
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: b"\"'`",
    capitalized_types: true,
    ident_extra: b"$",
    ..BASE
};

const JSON: Syntax = Syntax {
    keywords: "true false null",
    // JSONC / JSON5 allow comments; plain JSON never contains `//` outside strings.
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
    keys: Keys::Colon,
    ..BASE
};

const BASH: Syntax = Syntax {
    keywords: "if then else elif fi case esac for while until do done in function return exit \
        export local readonly declare source alias unset shift break continue echo cd \
        set eval exec true false sudo",
    line_comments: &["#"],
    multiline_strings: true,
    raw_single_quotes: true,
    hash_comment_needs_space: true,
    ident_extra: b"-",
    dollar_vars: true,
    ..BASE
};

const C: Syntax = Syntax {
    keywords: "auto break case const continue default do else enum extern for goto if inline \
        register restrict return sizeof static struct switch typedef union volatile \
        while class namespace template typename public private protected virtual \
        override new delete this using try catch throw constexpr nullptr true false NULL \
        operator friend noexcept static_cast dynamic_cast reinterpret_cast const_cast \
        explicit mutable decltype",
    types: "void char short int long float double signed unsigned bool size_t ssize_t int8_t \
        int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t auto string vector \
        std",
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
    capitalized_types: true,
    preprocessor: true,
    ..BASE
};

const GO: Syntax = Syntax {
    keywords: "break case chan const continue default defer else fallthrough for func go goto \
        if import interface map package range return select struct switch type var true \
        false nil iota",
    types: "bool byte complex64 complex128 error float32 float64 int int8 int16 int32 int64 \
        rune string uint uint8 uint16 uint32 uint64 uintptr any",
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
    quotes: b"\"'`",
    ..BASE
};

const JAVA: Syntax = Syntax {
    keywords: "abstract assert break case catch class const continue default do else enum \
        extends final finally for goto if implements import instanceof interface native \
        new package private protected public return static strictfp super switch \
        synchronized this throw throws transient try volatile while true false null var \
        record yield sealed permits",
    types: "boolean byte char short int long float double void",
    line_comments: &["//"],
    block_comment: Some(("/*", "*/")),
    capitalized_types: true,
    ..BASE
};

const CSS: Syntax = Syntax {
    keywords: "media import charset font-face keyframes supports layer container important from \
        to and not only inherit initial unset",
    block_comment: Some(("/*", "*/")),
    ident_extra: b"-",
    keys: Keys::Colon,
    ..BASE
};

const SQL: Syntax = Syntax {
    keywords: "select from where and or not insert into values update set delete create table \
        drop alter add index view primary key foreign references join inner left right \
        outer full on as group by order having limit offset distinct union all case when \
        then else end null is in like between exists default unique check constraint \
        begin commit rollback transaction with returning if asc desc true false cascade \
        trigger",
    types: "int integer bigint smallint text varchar char boolean bool real float double \
        numeric decimal date time timestamp blob serial uuid json jsonb",
    line_comments: &["--"],
    block_comment: Some(("/*", "*/")),
    raw_single_quotes: true,
    case_insensitive: true,
    ..BASE
};

const YAML: Syntax = Syntax {
    keywords: "true false null yes no on off True False Null",
    line_comments: &["#"],
    hash_comment_needs_space: true,
    ident_extra: b"-",
    keys: Keys::Colon,
    ..BASE
};

const TOML: Syntax = Syntax {
    keywords: "true false",
    line_comments: &["#"],
    triple_quotes: true,
    ident_extra: b"-",
    keys: Keys::Equals,
    ..BASE
};

/// Unknown or missing language: strings, numbers and the two most common comment
/// styles. `#` needs to start a word, so `a#b` or `issue#12` is not a comment.
const GENERIC: Syntax = Syntax {
    line_comments: &["//", "#"],
    hash_comment_needs_space: true,
    ..BASE
};

fn is_ident_start(syntax: &Syntax, c: u8) -> bool {
    // `-` may continue a name (`font-size`, `--flag`) but never starts one, so
    // `-1` stays a number and a YAML `- item` dash stays punctuation.
    c.is_ascii_alphabetic()
        || c == b'_'
        || c >= 0x80
        || (c != b'-' && syntax.ident_extra.contains(&c))
}

fn is_ident_continue(syntax: &Syntax, c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 || syntax.ident_extra.contains(&c)
}

/// Index of the first `needle` at or after `from`, or `hay.len()`.
fn find_from(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// End of the line starting the search at `from` (the index of `\n`, not past it).
fn line_end(b: &[u8], from: usize) -> usize {
    b.get(from..)
        .and_then(|rest| rest.iter().position(|&c| c == b'\n'))
        .map_or(b.len(), |p| p + from)
}

/// Scans a string body starting just after the opening quote; returns the index
/// just past the closing quote, or where an unterminated string stops. Only ASCII
/// bytes ever stop the scan, so the result is always a `char` boundary.
fn scan_string(b: &[u8], from: usize, quote: u8, escapes: bool, multiline: bool) -> usize {
    let mut j = from;
    while j < b.len() {
        let c = b[j];
        if c == quote {
            return j + 1;
        }
        if c == b'\n' && !multiline {
            return j;
        }
        // Skip the escaped byte only when it is ASCII, so a multi-byte char is never
        // split; its continuation bytes can never equal a quote anyway.
        if c == b'\\' && escapes && b.get(j + 1).is_some_and(|n| n.is_ascii()) {
            j += 2;
        } else {
            j += 1;
        }
    }
    b.len()
}

fn scan_number(b: &[u8], from: usize) -> usize {
    let hex = b.get(from) == Some(&b'0') && matches!(b.get(from + 1), Some(b'x' | b'X'));
    let mut j = from;
    while j < b.len() {
        let c = b[j];
        let next_is_digit = b.get(j + 1).is_some_and(|n| n.is_ascii_digit());
        let ok = c.is_ascii_alphanumeric()
            || c == b'_'
            // `1.5` but not the range `1..2` or a method call `1.max(2)`.
            || (c == b'.' && next_is_digit)
            // exponent sign: `1e-5`
            || ((c == b'+' || c == b'-')
                && !hex
                && matches!(b.get(j.wrapping_sub(1)), Some(b'e' | b'E'))
                && next_is_digit);
        if !ok {
            break;
        }
        j += 1;
    }
    j
}

/// Rust raw string `r#"..."#` starting at `i` (the `r`, or `br`); returns its end.
fn scan_rust_raw(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    if b.get(j) == Some(&b'b') {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let hashes_start = j;
    while b.get(j) == Some(&b'#') {
        j += 1;
    }
    let hashes = j - hashes_start;
    // Bounded so the closing-delimiter check stays constant time per quote.
    if b.get(j) != Some(&b'"') || hashes > 64 {
        return None;
    }
    j += 1;
    while j < b.len() {
        if b[j] == b'"' {
            let close = j + 1 + hashes;
            if close <= b.len() && b[j + 1..close].iter().all(|&c| c == b'#') {
                return Some(close);
            }
        }
        j += 1;
    }
    Some(b.len())
}

/// Rust `'`: a char literal (`'a'`, `'\n'`, `'é'`) or a lifetime (`'a`).
fn scan_rust_quote(syntax: &Syntax, code: &str, i: usize) -> (TokenKind, usize) {
    let b = code.as_bytes();
    if b.get(i + 1) == Some(&b'\\') {
        // Escapes are short (`'\u{10FFFF}'` is the longest); look a bounded way ahead.
        let mut j = i + 2;
        while j < b.len() && j < i + 14 && b[j] != b'\n' {
            if b[j] == b'\'' && j > i + 2 {
                return (TokenKind::String, j + 1);
            }
            j += 1;
        }
        return (TokenKind::Punct, i + 1);
    }
    let next_len = code
        .get(i + 1..)
        .and_then(|rest| rest.chars().next())
        .map_or(0, char::len_utf8);
    if next_len > 0 && b.get(i + 1 + next_len) == Some(&b'\'') {
        return (TokenKind::String, i + 2 + next_len);
    }
    if b.get(i + 1).is_some_and(|&c| is_ident_start(syntax, c)) {
        let mut j = i + 1;
        while j < b.len() && is_ident_continue(syntax, b[j]) {
            j += 1;
        }
        return (TokenKind::Type, j);
    }
    (TokenKind::Punct, i + 1)
}

fn word_in(list: &str, word: &str, case_insensitive: bool) -> bool {
    let mut words = list.split_ascii_whitespace();
    if case_insensitive {
        words.any(|k| k.eq_ignore_ascii_case(word))
    } else {
        words.any(|k| k == word)
    }
}

/// First byte after `from` that is not a space or tab on the same line.
fn next_non_blank(b: &[u8], from: usize) -> Option<u8> {
    b.get(from..)?
        .iter()
        .copied()
        .find(|&c| c != b' ' && c != b'\t')
}

fn lex_code(syntax: &Syntax, code: &str, out: &mut Out) {
    let b = code.as_bytes();
    let n = b.len();
    let mut i = 0;
    // Last non-whitespace byte, to tell a C `#include` at line start from other `#`s.
    let mut line_has_code = false;
    while i < n {
        let c = b[i];
        let rest = &b[i..];
        let at_word_start = i == 0 || b[i - 1].is_ascii_whitespace();

        // Line comments.
        let line_comment = syntax.line_comments.iter().find(|p| {
            rest.starts_with(p.as_bytes())
                && (**p != "#" || !syntax.hash_comment_needs_space || at_word_start)
        });
        if line_comment.is_some() {
            let j = line_end(b, i);
            out.push(TokenKind::Comment, i, j);
            i = j;
            continue;
        }
        // Block comments (unterminated ones run to the end, as in the compiler).
        if let Some((open, close)) = syntax.block_comment {
            if rest.starts_with(open.as_bytes()) {
                let j =
                    find_from(b, i + open.len(), close.as_bytes()).map_or(n, |p| p + close.len());
                out.push(TokenKind::Comment, i, j);
                i = j;
                line_has_code = true;
                continue;
            }
        }
        // C preprocessor directive: `#` first on its line, glued to a word.
        if syntax.preprocessor && c == b'#' && !line_has_code {
            let mut j = i + 1;
            while j < n && (b[j] == b' ' || b[j] == b'\t') {
                j += 1;
            }
            while j < n && b[j].is_ascii_alphabetic() {
                j += 1;
            }
            out.push(TokenKind::Keyword, i, j);
            i = j;
            line_has_code = true;
            continue;
        }
        if c == b'\n' {
            line_has_code = false;
        } else if !c.is_ascii_whitespace() {
            line_has_code = true;
        }
        // Python / TOML triple-quoted strings.
        if syntax.triple_quotes && (rest.starts_with(b"\"\"\"") || rest.starts_with(b"'''")) {
            let delim = &rest[..3];
            let j = find_from(b, i + 3, delim).map_or(n, |p| p + 3);
            out.push(TokenKind::String, i, j);
            i = j;
            continue;
        }
        if c == b'\'' && syntax.rust_quirks {
            let (kind, j) = scan_rust_quote(syntax, code, i);
            out.push(kind, i, j);
            i = j;
            continue;
        }
        if syntax.quotes.contains(&c) {
            let escapes = !(c == b'\'' && syntax.raw_single_quotes);
            let multiline = syntax.multiline_strings || c == b'`';
            let j = scan_string(b, i + 1, c, escapes, multiline);
            let kind = if syntax.keys == Keys::Colon && next_non_blank(b, j) == Some(b':') {
                TokenKind::Type
            } else {
                TokenKind::String
            };
            out.push(kind, i, j);
            i = j;
            continue;
        }
        if syntax.dollar_vars && c == b'$' {
            let mut j = i + 1;
            if b.get(j) == Some(&b'{') {
                j = b
                    .get(j..)
                    .and_then(|r| r.iter().position(|&x| x == b'}' || x == b'\n'))
                    .map_or(n, |p| {
                        let end = p + j;
                        if b[end] == b'}' {
                            end + 1
                        } else {
                            end
                        }
                    });
            } else {
                while j < n && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                // Special parameters: `$?`, `$#`, `$@`, `$1`.
                if j == i + 1 && b.get(j).is_some_and(|x| b"?#@*!$-".contains(x)) {
                    j += 1;
                }
            }
            let kind = if j > i + 1 {
                TokenKind::Type
            } else {
                TokenKind::Punct
            };
            out.push(kind, i, j);
            i = j;
            continue;
        }
        if c.is_ascii_digit() {
            let j = scan_number(b, i);
            out.push(TokenKind::Number, i, j);
            i = j;
            continue;
        }
        if is_ident_start(syntax, c) {
            let mut j = i + 1;
            while j < n && is_ident_continue(syntax, b[j]) {
                j += 1;
            }
            // Identifiers end before an ASCII byte or at the end, so this slice is
            // always valid; `get` keeps it panic-free regardless.
            let word = code.get(i..j).unwrap_or("");
            let next = b.get(j).copied();
            if syntax.rust_quirks && (word == "r" || word == "br") {
                if let Some(end) = scan_rust_raw(b, i) {
                    out.push(TokenKind::String, i, end);
                    i = end;
                    continue;
                }
            }
            if syntax.string_prefixes
                && word.len() <= 2
                && word.bytes().all(|x| b"rRbBfFuU".contains(&x))
                && next.is_some_and(|q| q == b'"' || q == b'\'')
            {
                let quote = next.unwrap_or(b'"');
                let triple = syntax.triple_quotes && b.get(j..j + 3) == Some(&[quote; 3][..]);
                let end = if triple {
                    find_from(b, j + 3, &[quote; 3]).map_or(n, |p| p + 3)
                } else {
                    scan_string(b, j + 1, quote, true, syntax.multiline_strings)
                };
                out.push(TokenKind::String, i, end);
                i = end;
                continue;
            }
            let kind = classify_word(syntax, word, b, j);
            out.push(kind, i, j);
            i = j;
            continue;
        }
        if c.is_ascii_whitespace() {
            let mut j = i + 1;
            while j < n && b[j].is_ascii_whitespace() {
                j += 1;
            }
            // Whitespace runs may span lines; recompute the line state for the C lexer.
            if b[i..j].contains(&b'\n') {
                line_has_code = false;
            }
            out.push(TokenKind::Plain, i, j);
            i = j;
            continue;
        }
        let kind = if c.is_ascii_punctuation() {
            TokenKind::Punct
        } else {
            TokenKind::Plain
        };
        out.push(kind, i, i + 1);
        i += 1;
    }
}

fn classify_word(syntax: &Syntax, word: &str, b: &[u8], end: usize) -> TokenKind {
    let is_key = match syntax.keys {
        Keys::None => false,
        // `a::b` is a path, not a `key:`.
        Keys::Colon => {
            next_non_blank(b, end) == Some(b':')
                && !b.get(end..).is_some_and(|r| r.starts_with(b"::"))
        }
        Keys::Equals => next_non_blank(b, end) == Some(b'='),
    };
    if is_key {
        return TokenKind::Type;
    }
    if word_in(syntax.keywords, word, syntax.case_insensitive) {
        return TokenKind::Keyword;
    }
    if word_in(syntax.types, word, syntax.case_insensitive) {
        return TokenKind::Type;
    }
    let next = b.get(end).copied();
    if next == Some(b'(')
        || (syntax.rust_quirks
            && next == Some(b'!')
            && matches!(b.get(end + 1), Some(b'(' | b'[' | b'{')))
    {
        return TokenKind::Function;
    }
    if syntax.capitalized_types && word.starts_with(|c: char| c.is_ascii_uppercase()) {
        return TokenKind::Type;
    }
    TokenKind::Plain
}

/// HTML / XML: tag names as keywords, attribute names as types, values as strings.
fn lex_markup(code: &str, out: &mut Out) {
    let b = code.as_bytes();
    let n = b.len();
    let is_name = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b':' | b'.');
    let mut i = 0;
    while i < n {
        let rest = &b[i..];
        if rest.starts_with(b"<!--") {
            let j = find_from(b, i + 4, b"-->").map_or(n, |p| p + 3);
            out.push(TokenKind::Comment, i, j);
            i = j;
            continue;
        }
        if rest.starts_with(b"<![CDATA[") {
            let j = find_from(b, i + 9, b"]]>").map_or(n, |p| p + 3);
            out.push(TokenKind::String, i, j);
            i = j;
            continue;
        }
        let opens_tag = b[i] == b'<'
            && b.get(i + 1)
                .is_some_and(|&c| c.is_ascii_alphabetic() || matches!(c, b'/' | b'!' | b'?'));
        if !opens_tag {
            // Text up to the next `<`.
            let j = b
                .get(i + 1..)
                .and_then(|r| r.iter().position(|&c| c == b'<'))
                .map_or(n, |p| p + i + 1);
            out.push(TokenKind::Plain, i, j);
            i = j;
            continue;
        }
        // `<`, `</`, `<!`, `<?`
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'/' | b'!' | b'?')) {
            j += 1;
        }
        out.push(TokenKind::Punct, i, j);
        i = j;
        while j < n && is_name(b[j]) {
            j += 1;
        }
        out.push(TokenKind::Keyword, i, j);
        i = j;
        // Attributes until `>`; a stray `<` ends a malformed tag without consuming it.
        while i < n {
            let c = b[i];
            if c == b'>' {
                out.push(TokenKind::Punct, i, i + 1);
                i += 1;
                break;
            }
            if c == b'<' {
                break;
            }
            if c == b'"' || c == b'\'' {
                let j = scan_string(b, i + 1, c, false, true);
                out.push(TokenKind::String, i, j);
                i = j;
            } else if c.is_ascii_whitespace() {
                out.push(TokenKind::Plain, i, i + 1);
                i += 1;
            } else if c == b'=' {
                out.push(TokenKind::Punct, i, i + 1);
                i += 1;
                // Unquoted value: `a=b`.
                let mut j = i;
                while j < n
                    && !b[j].is_ascii_whitespace()
                    && !matches!(b[j], b'>' | b'<' | b'"' | b'\'')
                {
                    j += 1;
                }
                out.push(TokenKind::String, i, j);
                i = j;
            } else if c == b'/' || c == b'?' {
                out.push(TokenKind::Punct, i, i + 1);
                i += 1;
            } else {
                let mut j = i + 1;
                while j < n
                    && !b[j].is_ascii_whitespace()
                    && !matches!(b[j], b'=' | b'>' | b'<' | b'/' | b'"' | b'\'')
                {
                    j += 1;
                }
                out.push(TokenKind::Type, i, j);
                i = j;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks the span invariants the UI relies on and returns (kind, text) pairs.
    fn check(lang: Option<&str>, code: &str) -> Vec<(TokenKind, String)> {
        let spans = highlight(lang, code);
        let mut pos = 0;
        for (k, s) in spans.iter().enumerate() {
            assert_eq!(
                s.start, pos,
                "spans must be contiguous in {code:?}: {spans:?}"
            );
            assert!(s.end > s.start, "empty span in {code:?}");
            assert!(code.is_char_boundary(s.start) && code.is_char_boundary(s.end));
            if k > 0 {
                assert_ne!(spans[k - 1].kind, s.kind, "adjacent spans not merged");
            }
            pos = s.end;
        }
        assert_eq!(pos, code.len(), "spans must cover the code");
        spans
            .iter()
            .map(|s| (s.kind, code[s.start..s.end].to_string()))
            .collect()
    }

    fn has(tokens: &[(TokenKind, String)], kind: TokenKind, text: &str) -> bool {
        tokens.iter().any(|(k, t)| *k == kind && t.trim() == text)
    }

    #[test]
    fn rust_keywords_strings_comments() {
        let code = "// hi\nfn main() {\n    let s: &str = \"a \\\"q\\\" b\"; /* blk */\n    println!(\"{}\", 42u8 + 'c' as u8);\n}\nstruct Foo<'a>(&'a str, r#\"raw \"x\"\"#);\n";
        let t = check(Some("rust"), code);
        assert!(has(&t, TokenKind::Comment, "// hi"));
        assert!(has(&t, TokenKind::Keyword, "fn"));
        assert!(has(&t, TokenKind::Keyword, "let"));
        assert!(has(&t, TokenKind::Function, "main"));
        assert!(has(&t, TokenKind::Function, "println"));
        assert!(has(&t, TokenKind::String, "\"a \\\"q\\\" b\""));
        assert!(has(&t, TokenKind::Comment, "/* blk */"));
        assert!(has(&t, TokenKind::Number, "42u8"));
        assert!(has(&t, TokenKind::String, "'c'"));
        assert!(has(&t, TokenKind::Type, "Foo"));
        assert!(has(&t, TokenKind::Type, "'a"));
        assert!(has(&t, TokenKind::String, "r#\"raw \"x\"\"#"));
        // Aliases pick the same lexer.
        assert_eq!(highlight(Some("rs"), code), highlight(Some("Rust"), code));
    }

    #[test]
    fn python_keywords_strings_comments() {
        let code =
            "# c\ndef f(x):\n    return f\"v={x}\" + '''multi\nline''' if x is None else 3.5e-2\n";
        let t = check(Some("py"), code);
        assert!(has(&t, TokenKind::Comment, "# c"));
        assert!(has(&t, TokenKind::Keyword, "def"));
        assert!(has(&t, TokenKind::Keyword, "return"));
        assert!(has(&t, TokenKind::Keyword, "None"));
        assert!(has(&t, TokenKind::Function, "f"));
        assert!(has(&t, TokenKind::String, "f\"v={x}\""));
        assert!(has(&t, TokenKind::String, "'''multi\nline'''"));
        assert!(has(&t, TokenKind::Number, "3.5e-2"));
    }

    #[test]
    fn javascript_and_typescript() {
        let code = "const x: string = `t ${a}`; // note\nfunction go() { return new Map(); }\n";
        for lang in ["js", "javascript", "ts", "tsx", "jsx", "typescript"] {
            let t = check(Some(lang), code);
            assert!(has(&t, TokenKind::Keyword, "const"), "{lang}");
            assert!(has(&t, TokenKind::Keyword, "function"), "{lang}");
            assert!(has(&t, TokenKind::Keyword, "return"), "{lang}");
            assert!(has(&t, TokenKind::Type, "string"), "{lang}");
            assert!(has(&t, TokenKind::String, "`t ${a}`"), "{lang}");
            assert!(has(&t, TokenKind::Comment, "// note"), "{lang}");
            assert!(has(&t, TokenKind::Function, "go"), "{lang}");
        }
    }

    #[test]
    fn data_formats_mark_keys() {
        let t = check(Some("json"), "{\"key\": \"v\", \"n\": -1.5, \"b\": true}");
        assert!(has(&t, TokenKind::Type, "\"key\""));
        assert!(has(&t, TokenKind::String, "\"v\""));
        assert!(has(&t, TokenKind::Number, "1.5"));
        assert!(has(&t, TokenKind::Keyword, "true"));

        let t = check(Some("yaml"), "name: app # c\nlist:\n  - true\n");
        assert!(has(&t, TokenKind::Type, "name"));
        assert!(has(&t, TokenKind::Comment, "# c"));
        assert!(has(&t, TokenKind::Keyword, "true"));

        let t = check(Some("toml"), "[package]\nname = \"x\" # c\n");
        assert!(has(&t, TokenKind::Type, "name"));
        assert!(has(&t, TokenKind::String, "\"x\""));
        assert!(has(&t, TokenKind::Comment, "# c"));
    }

    #[test]
    fn other_languages() {
        let t = check(
            Some("sh"),
            "#!/bin/sh\necho \"$HOME\" 'no $x' $# ${A} # done\n",
        );
        assert!(has(&t, TokenKind::Comment, "#!/bin/sh"));
        assert!(has(&t, TokenKind::Keyword, "echo"));
        assert!(has(&t, TokenKind::Type, "${A}"));
        assert!(has(&t, TokenKind::Type, "$#"));
        assert!(has(&t, TokenKind::String, "'no $x'"));
        assert!(has(&t, TokenKind::Comment, "# done"));

        let t = check(
            Some("cpp"),
            "#include <stdio.h>\nint main() { return 0; }\n",
        );
        assert!(has(&t, TokenKind::Keyword, "#include"));
        assert!(has(&t, TokenKind::Type, "int"));
        assert!(has(&t, TokenKind::Keyword, "return"));

        let t = check(Some("go"), "package main\nfunc main() { s := `raw` }\n");
        assert!(has(&t, TokenKind::Keyword, "func"));
        assert!(has(&t, TokenKind::String, "`raw`"));

        let t = check(
            Some("java"),
            "public class A { void m() { String s = null; } }",
        );
        assert!(has(&t, TokenKind::Keyword, "public"));
        assert!(has(&t, TokenKind::Type, "String"));

        let t = check(Some("SQL"), "SELECT id FROM t WHERE n = 'it''s' -- c\n");
        assert!(has(&t, TokenKind::Keyword, "SELECT"));
        assert!(has(&t, TokenKind::Keyword, "FROM"));
        assert!(has(&t, TokenKind::String, "'it''s'"));
        assert!(has(&t, TokenKind::Comment, "-- c"));

        let t = check(Some("css"), "/* c */ a { color: red; }\n@media screen {}");
        assert!(has(&t, TokenKind::Comment, "/* c */"));
        assert!(has(&t, TokenKind::Type, "color"));
        assert!(has(&t, TokenKind::Keyword, "media"));
    }

    #[test]
    fn html_tags_attributes_strings() {
        let code = "<!-- c --><a href=\"x\" data-id='1' hidden>t</a><br/><img src=y>";
        let t = check(Some("html"), code);
        assert!(has(&t, TokenKind::Comment, "<!-- c -->"));
        assert!(has(&t, TokenKind::Keyword, "a"));
        assert!(has(&t, TokenKind::Keyword, "img"));
        assert!(has(&t, TokenKind::Type, "href"));
        assert!(has(&t, TokenKind::Type, "data-id"));
        assert!(has(&t, TokenKind::String, "\"x\""));
        assert!(has(&t, TokenKind::String, "y"));
        assert!(has(&t, TokenKind::Plain, "t"));
        check(Some("xml"), "<?xml version=\"1.0\"?><a><![CDATA[x<y]]></a>");
    }

    #[test]
    fn unknown_language_uses_generic_lexer() {
        let code = "x = \"s\" # note\ny = 12 // other\nissue#12";
        for lang in [None, Some("brainfart"), Some("")] {
            let t = check(lang, code);
            assert!(has(&t, TokenKind::String, "\"s\""));
            assert!(has(&t, TokenKind::Comment, "# note"));
            assert!(has(&t, TokenKind::Number, "12"));
            assert!(has(&t, TokenKind::Comment, "// other"));
            assert!(!t
                .iter()
                .any(|(k, s)| *k == TokenKind::Comment && s.contains("#12")));
        }
        // An apostrophe in prose must not swallow the following lines.
        let t = check(None, "don't\nnext line");
        assert!(has(&t, TokenKind::Plain, "next line"));
    }

    #[test]
    fn unterminated_constructs_do_not_panic() {
        let samples = [
            "\"open",
            "'",
            "/* open",
            "r#\"open",
            "'''open",
            "`open",
            "<!-- open",
            "<a href=\"x",
            "<",
            "<a",
            "\\",
            "'\\",
            "'\\u{",
            "$",
            "${",
            "#",
            "0x",
            "1e",
            "1e+",
            "r#",
            "b'",
            "f\"",
            "é'",
            "'é",
            "\"\\é\"",
            "<a =",
            "<![CDATA[",
            "--",
            "#include",
        ];
        for lang in LANGS {
            for s in samples {
                check(Some(lang), s);
                check(Some(lang), &format!("x {s}"));
            }
            check(Some(lang), "");
        }
    }

    const LANGS: [&str; 16] = [
        "rust", "python", "js", "ts", "json", "bash", "c", "cpp", "go", "java", "html", "css",
        "sql", "yaml", "toml", "nope",
    ];

    #[test]
    fn random_bytes_never_panic_and_keep_invariants() {
        // Deterministic xorshift so failures reproduce; biased towards syntax bytes.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"\"'`/*#<>!-=\\$ {}()\n\tr#abcXYZ019.e+:[]&;?";
        for round in 0..400 {
            let len = (next() % 200) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    let r = next();
                    if r % 3 == 0 {
                        (r >> 8) as u8
                    } else {
                        alphabet[(r >> 8) as usize % alphabet.len()]
                    }
                })
                .collect();
            let code = String::from_utf8_lossy(&bytes);
            check(Some(LANGS[round % LANGS.len()]), &code);
        }
    }

    #[test]
    fn long_pathological_input_is_fully_covered() {
        // Pathological shapes for naive lexers: many unterminated openers.
        let code = "/*\"'`r#\"<!--".repeat(20_000);
        for lang in LANGS {
            let spans = highlight(Some(lang), &code);
            assert_eq!(spans.last().map(|s| s.end), Some(code.len()));
        }
    }

    #[test]
    fn css_classes() {
        assert_eq!(TokenKind::Plain.css_class(), "");
        assert_eq!(TokenKind::Keyword.css_class(), "tok-kw");
        assert_eq!(TokenKind::String.css_class(), "tok-str");
        assert_eq!(TokenKind::Comment.css_class(), "tok-com");
    }
}
