//! The markdown renderer and the code highlighter over nasty input, as a streaming reply feeds
//! them: every document is parsed at every 4-character prefix (the chat view re-parses the
//! reply on each SSE event), and every code text is highlighted in every language the
//! highlighter knows. Run in release mode, the build users run (`cargo test --release
//! --manifest-path render-corpus/Cargo.toml`, a step of `scripts/test.sh`).
//!
//! Each test does its work on a spawned thread and the test thread waits with a deadline, so an
//! endless loop fails the test, naming the input it was on, instead of hanging CI.
//!
//! The random-input test prints its seed; `RENDER_CORPUS_SEED=<n>` replays a run.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use render_corpus::highlight::{highlight, Span, TokenKind};
use render_corpus::markdown::{self, Block, Inline};

// ---------------------------------------------------------------------------------------------
// Deadlines
// ---------------------------------------------------------------------------------------------

/// What a worker is doing right now, so a timeout or a panic can name the input.
#[derive(Clone, Default)]
struct Progress(Arc<Mutex<String>>);

impl Progress {
    fn set(&self, what: impl Into<String>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = what.into();
    }

    fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(non-string panic payload)".to_string()
    }
}

/// Runs `work` on its own thread; `Err` names what it was doing if it panicked or did not
/// finish within `deadline`. A worker that never ends is left running (the test fails anyway).
fn bounded<T: Send + 'static>(
    test: &str,
    deadline: Duration,
    work: impl FnOnce(&Progress) -> T + Send + 'static,
) -> Result<(T, Duration), String> {
    let progress = Progress::default();
    let worker_progress = progress.clone();
    let (tx, rx) = mpsc::channel();
    let started = Instant::now();
    // The default 2 MiB stack of a spawned thread: less than the UI thread has.
    let handle = thread::Builder::new()
        .name(format!("{test}-worker"))
        .spawn(move || {
            let result = panic::catch_unwind(AssertUnwindSafe(|| work(&worker_progress)));
            let _ = tx.send(result);
        })
        .map_err(|e| format!("{test}: could not spawn the worker: {e}"))?;
    match rx.recv_timeout(deadline) {
        Ok(Ok(value)) => {
            let _ = handle.join();
            Ok((value, started.elapsed()))
        }
        Ok(Err(payload)) => {
            let _ = handle.join();
            Err(format!(
                "{test}: panicked on {}: {}",
                progress.get(),
                panic_message(payload.as_ref())
            ))
        }
        Err(RecvTimeoutError::Timeout) => Err(format!(
            "{test}: no result within {deadline:?} (an endless loop or a blow-up?); \
             it was working on {}",
            progress.get()
        )),
        Err(RecvTimeoutError::Disconnected) => Err(format!(
            "{test}: the worker died without a result while on {}",
            progress.get()
        )),
    }
}

/// [`bounded`], failing the test on `Err` and printing the run time.
fn run_bounded<T: Send + 'static>(
    test: &str,
    deadline: Duration,
    work: impl FnOnce(&Progress) -> T + Send + 'static,
) -> T {
    match bounded(test, deadline, work) {
        Ok((value, took)) => {
            eprintln!("[render_corpus] {test}: {took:.2?} (deadline {deadline:?})");
            value
        }
        Err(message) => panic!("{message}"),
    }
}

/// `scripts/test.sh` runs this file in a release build. Run without `--release` (a quick local
/// check, many times slower), the corpus covers two names per lexer instead of all of them,
/// large inputs a tenth the size, fewer prefixes of them and fewer random documents.
const RELEASE: bool = !cfg!(debug_assertions);

/// A deadline about 20x the run time measured on an idle 2-core machine (other builds running
/// made it up to 4x slower), so only an endless loop or a blow-up reaches it.
fn deadline(release_secs: u64, debug_secs: u64) -> Duration {
    Duration::from_secs(if RELEASE { release_secs } else { debug_secs })
}

// ---------------------------------------------------------------------------------------------
// Languages
// ---------------------------------------------------------------------------------------------

/// Every fence name `highlight::lexer_for` accepts, grouped by the lexer it selects (first name
/// canonical), with a probe snippet that this lexer highlights differently from the generic one.
const FAMILIES: &[(&[&str], &str)] = &[
    (&["rust", "rs"], "fn main() { let x: u8 = 1; }"),
    (
        &["python", "py", "python3", "py3", "pyi", "ipython"],
        "def f(): return None",
    ),
    (
        &[
            "javascript",
            "js",
            "jsx",
            "mjs",
            "cjs",
            "node",
            "typescript",
            "ts",
            "tsx",
            "mts",
            "cts",
        ],
        "function f() { return null; } /* c */",
    ),
    (
        &["json", "jsonc", "json5", "jsonl", "geojson"],
        "{\"k\": true}",
    ),
    (
        &[
            "bash",
            "sh",
            "shell",
            "zsh",
            "ksh",
            "console",
            "shellsession",
            "terminal",
        ],
        "echo $HOME ${A}",
    ),
    (
        &[
            "c",
            "h",
            "cpp",
            "c++",
            "cc",
            "cxx",
            "hpp",
            "hh",
            "hxx",
            "objc",
            "objective-c",
        ],
        "#include <a.h>\nint x; /* c */",
    ),
    (&["go", "golang"], "func main() { var s string }"),
    (&["java"], "public class A { void m() {} }"),
    (
        &[
            "html", "htm", "xhtml", "xml", "svg", "xsl", "plist", "vue", "svelte",
        ],
        "<a href=\"x\">t</a>",
    ),
    (&["css", "scss", "less"], "a { color: red; } /* c */"),
    (
        &[
            "sql",
            "mysql",
            "postgres",
            "postgresql",
            "psql",
            "sqlite",
            "plsql",
            "tsql",
        ],
        "SELECT id FROM t -- c",
    ),
    (&["yaml", "yml"], "key: true"),
    (&["toml"], "key = true"),
];

/// An unknown fence name: the generic lexer.
const UNKNOWN: &str = "brainfart";

/// Every known name, then no language and an unknown one.
fn every_name() -> Vec<Option<&'static str>> {
    FAMILIES
        .iter()
        .flat_map(|(names, _)| names.iter().map(|n| Some(*n)))
        .chain([None, Some(UNKNOWN)])
        .collect()
}

/// The names the corpus is run in: all of them in release; in a debug build the first and
/// last name of each lexer, no language and an unknown one.
fn all_langs() -> Vec<Option<&'static str>> {
    if RELEASE {
        return every_name();
    }
    FAMILIES
        .iter()
        .flat_map(|(names, _)| {
            let mut pick = vec![Some(names[0])];
            if names.len() > 1 {
                pick.push(Some(names[names.len() - 1]));
            }
            pick
        })
        .chain([None, Some(UNKNOWN)])
        .collect()
}

/// What `highlight` is called with directly: every name, and spellings a fence cannot carry
/// but the lexer lookup normalises (case, surrounding blanks), and an empty name.
fn highlight_langs() -> Vec<String> {
    let mut out: Vec<String> = all_langs()
        .into_iter()
        .map(|l| l.unwrap_or("").to_string())
        .collect();
    for (names, _) in FAMILIES {
        out.push(names[0].to_ascii_uppercase());
        out.push(format!(" \t{}\n", names[names.len() - 1]));
    }
    out.push("\u{1F980}".into());
    out.push("rust\u{0}".into());
    out
}

fn lang_label(lang: Option<&str>) -> String {
    match lang {
        Some(l) => format!("{l:?}"),
        None => "None".to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Corpus
// ---------------------------------------------------------------------------------------------

struct Item {
    name: String,
    code: String,
    /// Large inputs are streamed in bigger steps and wrapped in fewer contexts.
    big: bool,
}

fn item(name: &str, code: impl Into<String>) -> Item {
    Item {
        name: name.to_string(),
        code: code.into(),
        big: false,
    }
}

/// How many prefixes of a large input are parsed: each costs a full parse of up to 100 KB.
const BIG_PREFIXES: usize = if RELEASE { 8 } else { 4 };

fn big(name: String, code: String) -> Item {
    Item {
        name,
        code,
        big: true,
    }
}

fn corpus() -> Vec<Item> {
    let mut items = vec![
        // Unterminated strings of every quote kind, mid-line, at the end, across lines.
        item("unterminated double quote", "let s = \"never closed"),
        item("unterminated single quote", "x = 'never closed"),
        item("unterminated backtick", "const t = `never ${closed}\nnext line"),
        item("lone double quote", "\""),
        item("lone single quote", "'"),
        item("lone backtick", "`"),
        item("quotes then newline", "a = \"x\nb = 'y\nc = `z\n"),
        item("json key unterminated", "{\"key\": \"v, \"k2\": [1, 2"),
        // Comments.
        item("unterminated block comment", "int x; /* open\n still open"),
        item("block comment opener only", "/*"),
        item("comment closer only", "*/ x */"),
        item("unterminated html comment", "<p>a</p><!-- open\n<b>"),
        item("line comments of every kind", "// a\n# b\n-- c\n; d\n#!/bin/sh\n"),
        // Triple quotes.
        item("triple double quotes", "def f():\n    \"\"\"doc never closed\n    x = 1"),
        item("triple single quotes", "s = '''open\n'' ' '"),
        item("prefixed triple quotes", "f\"\"\"{x}\nrb'''\\x00"),
        item("six quotes", "\"\"\"\"\"\""),
        // Rust raw strings, lifetimes, char literals.
        item("rust raw string unterminated", "let s = r###\"never \"## closed"),
        item("rust raw string closes short", "r###\"a\"##"),
        item("rust raw byte string", "br#\"x\"# b\"y\" b'z' br"),
        item(
            "rust raw string with 70 hashes",
            format!("r{}\"x\"{}", "#".repeat(70), "#".repeat(70)),
        ),
        item("rust r and r#", "r r# r#x"),
        item(
            "lifetimes and char literals",
            "fn f<'a, 'b: 'a>(x: &'a str) -> char { let c = '\\''; '\\u{10FFFF}'; 'é'; '\u{1F980}'; 'ab' }",
        ),
        item("char escape unterminated", "'\\u{"),
        // Escapes at the very end of the input.
        item("escape at end in double quote", "\"\\"),
        item("escape at end in single quote", "'\\"),
        item("lone trailing backslash", "x = 1 \\"),
        item("backslash only", "\\"),
        item("escaped quote at end", "\"abc\\\""),
        item("escape before multibyte", "\"\\é\" '\\\u{1F980}' \\\u{301}"),
        item("c string ending in escaped backslashes", "char *s = \"\\\\\\\\\";\nint x;"),
        item("c string ending in one escaped backslash", "puts(\"\\\\\"); /* after */"),
        item("backslash newline", "#define X \\\n  1\n\"a\\\nb\""),
        // Shell.
        item(
            "bash heredoc",
            "cat <<EOF\n$HOME 'it's \"x\nEOF\ncat <<'RAW'\n${x\nRAW\ncat <<-T\n\t$#\nT\n",
        ),
        item("unterminated ${", "echo ${HOME"),
        item("${ then newline", "echo ${\n}"),
        item("lone $", "$"),
        item("special parameters", "echo $# $? $@ $$ $! $- $* $0 $"),
        item("hash forms", "a#b issue#12 #c $#x ## #"),
        // Whitespace and line endings.
        item("tabs", "\tfn\tmain()\t{\n\t\tlet\tx\t=\t'\t';\n}\t"),
        item("crlf", "line1\r\n\"str\r\n// comment\r\n'c'\r\n"),
        item("lone carriage returns", "a\rb\r\"c\r"),
        item("only newlines", "\n\n\n"),
        // Unicode.
        item(
            "emoji and combining characters",
            "let s = \"\u{1F469}\u{200D}\u{1F469}\u{200D}\u{1F467}\"; // \u{1F980}\ne\u{301}\u{301} = 'é\u{301}'",
        ),
        item(
            "zero-width joiners",
            "a\u{200D}b \u{200D}'\u{200D}' \"\u{200D}\" \u{200B}\u{FEFF}x\u{2060}",
        ),
        item("multibyte identifiers", "日本語 = \"値\" # コメント\nπ = 3.14"),
        item("right-to-left text", "\u{202E}x = \"\u{05D0}\u{05D1}\" \u{202C}"),
        item("nul bytes", "a\u{0}b \"\u{0}\" '\u{0}' /*\u{0}*/ \u{0}"),
        // Markup.
        item(
            "malformed markup",
            "<a href=\"x <b =y <![CDATA[ x < y <? <!DOCTYPE <//> </",
        ),
        item("html attribute at end", "<img src="),
        // Numbers.
        item("numbers", "0x 1e 1e+ 1.5e-3 0xFFz 1..2 1.max(2) 08 .5"),
        // Markdown-significant text inside code.
        item(
            "fences inside code",
            "```\n~~~\n````rust\n    ```\n`` ` ``\n",
        ),
        item(
            "markdown inside code",
            "# h\n> q\n- l\n| a | b |\n|---|---|\n[x](javascript:alert(1))\n",
        ),
        item("empty code", ""),
    ];
    // A tenth of the size in a debug build.
    let scale = if RELEASE { 1 } else { 10 };
    items.push(big(
        format!("{} KB single line", 100 / scale),
        "x = \"s\\\"\" + 'c' /* k */ // ${a} $# r#\"q\"# <b a=1> 12 "
            .repeat(2_000 / scale)
            .chars()
            .take(100_000 / scale)
            .collect(),
    ));
    items.push(big(
        format!("{} KB unterminated string", 100 / scale),
        format!("s = \"{}", "ab\\\"".repeat(25_000 / scale)),
    ));
    items.push(big(
        format!("{} short lines", 10_000 / scale),
        (0..10_000 / scale)
            .map(|i| match i % 5 {
                0 => format!("a{i} = \"{i}\n"),
                1 => format!("# {i}\n"),
                2 => format!("/* {i}\n"),
                3 => format!("'{i}\n"),
                _ => format!("${{{i}\n"),
            })
            .collect(),
    ));
    items.push(big(
        format!("brackets nested {} deep", 20_000 / scale),
        "([{<".repeat(5_000 / scale) + &">}])".repeat(5_000 / scale),
    ));
    items.push(big(
        format!("{} unclosed brackets and quotes", 18_000 / scale),
        "({[\"'`".repeat(3_000 / scale),
    ));
    items
}

// ---------------------------------------------------------------------------------------------
// Markdown contexts
// ---------------------------------------------------------------------------------------------

/// How a context lays code out, which decides what the parse must contain.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// A closed fence at the top level: the code block holds the code exactly.
    Closed,
    /// A fence never closed, at the end of the document: the code block holds the code.
    Open,
    /// A closed fence inside a list or a quote: lines are re-indented, so only each line's text
    /// is compared.
    Nested,
}

#[derive(Clone, Copy)]
struct Ctx {
    name: &'static str,
    layout: Layout,
    /// Used for large inputs too.
    for_big: bool,
    /// The language the code block must report, if it is known exactly.
    exact_lang: bool,
    build: fn(Option<&str>, &str) -> String,
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in s.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// A fence longer than any run of its character in the code, so the code cannot close it.
fn fence(code: &str, c: char) -> String {
    c.to_string().repeat((longest_run(code, c) + 1).max(3))
}

/// The code as a fence body: ending in a line break.
fn body(code: &str) -> String {
    if code.is_empty() || code.ends_with('\n') {
        code.to_string()
    } else {
        format!("{code}\n")
    }
}

/// Lines as CommonMark sees them: `\r\n`, `\n` and a lone `\r` all end a line.
fn md_lines(code: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let b = code.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' || b[i] == b'\r' {
            lines.push(&code[start..i]);
            i += if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
                2
            } else {
                1
            };
            start = i;
        } else {
            i += 1;
        }
    }
    if start < code.len() {
        lines.push(&code[start..]);
    }
    lines
}

/// Every line of `code` with `prefix` in front: the body of a fence inside a container.
fn indented(prefix: &str, code: &str) -> String {
    md_lines(code)
        .into_iter()
        .map(|l| format!("{prefix}{l}\n"))
        .collect()
}

fn info(lang: Option<&str>) -> &str {
    lang.unwrap_or("")
}

fn contexts() -> Vec<Ctx> {
    vec![
        Ctx {
            name: "fenced block",
            layout: Layout::Closed,
            for_big: true,
            exact_lang: true,
            build: |lang, code| {
                let f = fence(code, '`');
                format!("{f}{}\n{}{f}\n", info(lang), body(code))
            },
        },
        Ctx {
            name: "fenced block between paragraphs",
            layout: Layout::Closed,
            for_big: false,
            exact_lang: true,
            build: |lang, code| {
                let f = fence(code, '`');
                format!(
                    "Here is **the code**:\n\n{f}{}\n{}{f}\n\nAnd a `span` after.\n",
                    info(lang),
                    body(code)
                )
            },
        },
        Ctx {
            name: "unterminated fence",
            layout: Layout::Open,
            for_big: true,
            exact_lang: true,
            build: |lang, code| {
                let f = fence(code, '`');
                format!("Streaming *reply*:\n\n{f}{}\n{code}", info(lang))
            },
        },
        Ctx {
            name: "fence without a language",
            layout: Layout::Closed,
            for_big: false,
            exact_lang: true,
            build: |_, code| {
                let f = fence(code, '`');
                format!("{f}\n{}{f}\n", body(code))
            },
        },
        Ctx {
            name: "tilde fence",
            layout: Layout::Closed,
            for_big: false,
            exact_lang: true,
            build: |lang, code| {
                let f = fence(code, '~');
                format!("{f}{}\n{}{f}\n", info(lang), body(code))
            },
        },
        Ctx {
            name: "unterminated tilde fence",
            layout: Layout::Open,
            for_big: false,
            exact_lang: true,
            build: |lang, code| {
                let f = fence(code, '~');
                format!("{f} {}\n{code}", info(lang))
            },
        },
        Ctx {
            name: "fence in an ordered list",
            layout: Layout::Nested,
            for_big: true,
            exact_lang: true,
            build: |lang, code| {
                let f = fence(code, '`');
                format!(
                    "1. Install it.\n2. Run:\n\n   {f}{}\n{}   {f}\n3. Done.\n",
                    info(lang),
                    indented("   ", code)
                )
            },
        },
        Ctx {
            name: "fence in a nested bullet list",
            layout: Layout::Nested,
            for_big: false,
            exact_lang: true,
            build: |lang, code| {
                let f = fence(code, '`');
                format!(
                    "- a\n  - b:\n    {f}{}\n{}    {f}\n- c\n",
                    info(lang),
                    indented("    ", code)
                )
            },
        },
        Ctx {
            name: "fence in a quote",
            layout: Layout::Nested,
            for_big: true,
            exact_lang: true,
            build: |lang, code| {
                let f = fence(code, '`');
                format!(
                    "> Quoted:\n>\n> {f}{}\n{}> {f}\n",
                    info(lang),
                    indented("> ", code)
                )
            },
        },
        Ctx {
            name: "fence in a quote in a list",
            layout: Layout::Nested,
            for_big: false,
            exact_lang: true,
            build: |lang, code| {
                let f = fence(code, '~');
                format!(
                    "- item\n  > {f}{}\n{}  > {f}\n",
                    info(lang),
                    indented("  > ", code)
                )
            },
        },
        Ctx {
            name: "unterminated fence in a quote",
            layout: Layout::Nested,
            for_big: false,
            exact_lang: true,
            build: |lang, code| {
                let f = fence(code, '`');
                let mut doc = format!("> {f}{}\n{}", info(lang), indented("> ", code));
                doc.pop();
                doc
            },
        },
        Ctx {
            name: "info string with attributes",
            layout: Layout::Closed,
            for_big: false,
            exact_lang: false,
            build: |lang, code| {
                let f = fence(code, '`');
                format!(
                    "{f}{} {{.class #id key=\"v\"}}\n{}{f}\n",
                    info(lang),
                    body(code)
                )
            },
        },
        Ctx {
            name: "info string with commas",
            layout: Layout::Closed,
            for_big: false,
            exact_lang: false,
            build: |lang, code| {
                let f = fence(code, '~');
                format!("{f}{},ignore,should_panic\n{}{f}\n", info(lang), body(code))
            },
        },
        Ctx {
            name: "very long info string",
            layout: Layout::Closed,
            for_big: false,
            exact_lang: false,
            build: |lang, code| {
                let f = fence(code, '`');
                format!(
                    "{f}{}{} {}\n{}{f}\n",
                    info(lang),
                    "-x".repeat(60),
                    "attr=1 ".repeat(30),
                    body(code)
                )
            },
        },
        Ctx {
            name: "emoji info string",
            layout: Layout::Closed,
            for_big: false,
            exact_lang: false,
            build: |lang, code| {
                let f = fence(code, '`');
                format!(
                    "{f}\u{1F980}{} \u{1F469}\u{200D}\u{1F467} e\u{301}\n{}{f}\n",
                    info(lang),
                    body(code)
                )
            },
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// A short, escaped rendering of a possibly huge input for failure messages.
fn show(s: &str) -> String {
    const MAX: usize = 240;
    if s.chars().count() <= MAX {
        format!("{s:?}")
    } else {
        let head: String = s.chars().take(MAX).collect();
        format!("{head:?}... ({} bytes)", s.len())
    }
}

/// The invariants `highlight` documents: spans are contiguous, cover `0..code.len()`, start and
/// end on `char` boundaries, and adjacent spans never share a kind (plus: none is empty).
fn check_spans(what: &str, code: &str, spans: &[Span]) {
    let mut pos = 0;
    for (k, s) in spans.iter().enumerate() {
        assert_eq!(
            s.start,
            pos,
            "{what}: span {k} {s:?} does not start where the previous one ended, in {}",
            show(code)
        );
        assert!(
            s.end > s.start,
            "{what}: span {k} {s:?} is empty, in {}",
            show(code)
        );
        assert!(
            s.end <= code.len(),
            "{what}: span {k} {s:?} ends past the code ({} bytes), in {}",
            code.len(),
            show(code)
        );
        assert!(
            code.is_char_boundary(s.start) && code.is_char_boundary(s.end),
            "{what}: span {k} {s:?} splits a character, in {}",
            show(code)
        );
        if k > 0 {
            assert_ne!(
                spans[k - 1].kind,
                s.kind,
                "{what}: spans {} and {k} share a kind, in {}",
                k - 1,
                show(code)
            );
        }
        pos = s.end;
    }
    assert_eq!(
        pos,
        code.len(),
        "{what}: spans stop at {pos} of {} bytes, in {}",
        code.len(),
        show(code)
    );
}

fn check_highlight(what: &str, lang: Option<&str>, code: &str) -> Vec<Span> {
    let spans = highlight(lang, code);
    check_spans(what, code, &spans);
    spans
}

fn url_is_safe(url: &str) -> bool {
    let l = url.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://") || l.starts_with("mailto:")
}

fn check_inlines(what: &str, inlines: &[Inline]) {
    for inline in inlines {
        match inline {
            Inline::Emph(c) | Inline::Strong(c) | Inline::Strike(c) => check_inlines(what, c),
            Inline::Link { href, children, .. } => {
                if let Some(h) = href {
                    assert!(url_is_safe(h), "{what}: unsafe link target {h:?}");
                }
                check_inlines(what, children);
            }
            Inline::Image { src: Some(s), .. } => {
                assert!(url_is_safe(s), "{what}: unsafe image source {s:?}")
            }
            _ => {}
        }
    }
}

/// Walks a parse: every code block's spans satisfy the invariants and are exactly what
/// `highlight` gives for its language and code; every surviving URL is http(s) or mailto.
/// Returns the code blocks found, in document order.
fn check_blocks<'a>(
    what: &str,
    blocks: &'a [Block],
    found: &mut Vec<(&'a Option<String>, &'a str)>,
) {
    for block in blocks {
        match block {
            Block::CodeBlock { lang, code, spans } => {
                check_spans(what, code, spans);
                assert_eq!(
                    spans,
                    &highlight(lang.as_deref(), code),
                    "{what}: the code block's spans are not highlight({lang:?}, code) for {}",
                    show(code)
                );
                found.push((lang, code));
            }
            Block::Heading { inlines, .. } | Block::Paragraph(inlines) => {
                check_inlines(what, inlines)
            }
            Block::Quote(inner) => check_blocks(what, inner, found),
            Block::List { items, .. } => {
                for it in items {
                    check_blocks(what, it, found);
                }
            }
            Block::Table { head, rows, .. } => {
                for cell in head.iter().chain(rows.iter().flatten()) {
                    check_inlines(what, cell);
                }
            }
            Block::Rule | Block::Html(_) => {}
        }
    }
}

/// Parses `doc` and checks the result; returns the code blocks (language, code).
fn parse_and_check(what: &str, doc: &str) -> (Vec<Block>, Vec<(Option<String>, String)>) {
    let blocks = markdown::parse(doc);
    let mut found = Vec::new();
    check_blocks(what, &blocks, &mut found);
    let found = found
        .into_iter()
        .map(|(l, c)| (l.clone(), c.to_string()))
        .collect();
    // Must not panic or loop either.
    let _ = markdown::plain_text(&blocks);
    (blocks, found)
}

/// Byte offsets where a reply streamed `step` characters at a time has been cut, ending with
/// the whole document.
fn stream_cuts(doc: &str, step: usize) -> Vec<usize> {
    let mut cuts: Vec<usize> = doc
        .char_indices()
        .map(|(i, _)| i)
        .step_by(step.max(1))
        .skip(1)
        .collect();
    cuts.push(doc.len());
    cuts
}

/// Parses every streamed prefix of `doc` (then the whole of it) and checks each parse.
fn stream_and_check(progress: &Progress, what: &str, doc: &str, step: usize) -> Vec<Block> {
    let mut last = Vec::new();
    for cut in stream_cuts(doc, step) {
        let label = format!("{what}, prefix of {cut}/{} bytes", doc.len());
        progress.set(label.clone());
        last = parse_and_check(&label, &doc[..cut]).0;
    }
    last
}

/// Code as the parser hands it back: a CRLF line ending becomes LF (a lone CR stays).
fn as_parsed(code: &str) -> String {
    code.replace("\r\n", "\n")
}

/// Checks that the full document's parse holds the code the context wrapped.
fn check_code_kept(what: &str, ctx: &Ctx, lang: Option<&str>, code: &str, doc: &str) {
    let (blocks, found) = parse_and_check(what, doc);
    let text = markdown::plain_text(&blocks);
    let Some((got_lang, got_code)) = found.last() else {
        panic!("{what}: no code block in the parse of {}", show(doc));
    };
    if ctx.exact_lang {
        let want = if ctx.name == "fence without a language" {
            None
        } else {
            lang.filter(|l| !l.is_empty())
        };
        assert_eq!(
            got_lang.as_deref(),
            want,
            "{what}: wrong language in the parse of {}",
            show(doc)
        );
    }
    match ctx.layout {
        Layout::Closed | Layout::Open => {
            let want = as_parsed(&match ctx.layout {
                Layout::Closed => body(code),
                _ => code.to_string(),
            });
            assert_eq!(
                got_code.as_str(),
                want,
                "{what}: the code block does not hold the code, in {}",
                show(doc)
            );
            // `plain_text` trims the end of the whole text.
            let trimmed = want.trim_end();
            assert!(
                text.contains(trimmed),
                "{what}: plain_text {} lacks the code {}",
                show(&text),
                show(trimmed)
            );
        }
        Layout::Nested => {
            // Container prefixes are stripped and tabs after them may become spaces, so compare
            // each line's text; a blank last line cut without its line break is no line.
            let lines = |s| {
                let mut v: Vec<&str> = md_lines(s).into_iter().map(str::trim).collect();
                while v.last() == Some(&"") {
                    v.pop();
                }
                v
            };
            let (got, want) = (lines(got_code), lines(code));
            assert_eq!(
                got,
                want,
                "{what}: the code block's lines differ from the code's, in {}",
                show(doc)
            );
            for line in want.iter().filter(|l| !l.is_empty()) {
                assert!(
                    text.contains(line),
                    "{what}: plain_text {} lacks the line {}",
                    show(&text),
                    show(line)
                );
            }
        }
    }
}

/// Streams every corpus item in every language through the contexts `pick` selects.
fn run_corpus(progress: &Progress, pick: impl Fn(&Ctx, &Item) -> bool) -> usize {
    let langs = all_langs();
    let ctxs = contexts();
    let mut docs = 0;
    for item in corpus() {
        for ctx in ctxs.iter().filter(|c| pick(c, &item)) {
            // Contexts that ignore the language run once.
            let ctx_langs: &[Option<&str>] = if ctx.name == "fence without a language" {
                &[None]
            } else {
                &langs
            };
            for &lang in ctx_langs {
                let doc = (ctx.build)(lang, &item.code);
                let what = format!(
                    "corpus item {:?} as {:?} in language {}",
                    item.name,
                    ctx.name,
                    lang_label(lang)
                );
                // 4 characters at a time, or about BIG_PREFIXES prefixes of a large input.
                let step = if item.big {
                    (doc.chars().count() / BIG_PREFIXES).max(4)
                } else {
                    4
                };
                stream_and_check(progress, &what, &doc, step);
                progress.set(format!("{what}, whole document"));
                check_code_kept(&what, ctx, lang, &item.code, &doc);
                docs += 1;
            }
        }
    }
    docs
}

// ---------------------------------------------------------------------------------------------
// Corpus tests
// ---------------------------------------------------------------------------------------------

#[test]
fn every_known_language_name_picks_its_own_lexer() {
    // Took 4 ms in release, 20 ms in a debug build (2 cores).
    run_bounded("language names", deadline(30, 30), |progress| {
        let generic_probe = |probe: &str| highlight(Some(UNKNOWN), probe);
        for (names, probe) in FAMILIES {
            let canonical = highlight(Some(names[0]), probe);
            assert_ne!(
                canonical,
                generic_probe(probe),
                "{:?} highlights {probe:?} like the generic lexer",
                names[0]
            );
            assert_eq!(highlight(None, probe), generic_probe(probe));
            for name in *names {
                progress.set(format!("language {name:?}"));
                for spelling in [
                    name.to_string(),
                    name.to_ascii_uppercase(),
                    format!("  {name}\t"),
                ] {
                    assert_eq!(
                        highlight(Some(&spelling), probe),
                        canonical,
                        "{spelling:?} does not pick the {:?} lexer",
                        names[0]
                    );
                }
            }
        }
        // The fence's language reaches the highlighter.
        for lang in every_name().into_iter().flatten() {
            let (_, found) = parse_and_check(lang, &format!("```{lang}\nx = 1\n```\n"));
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].0.as_deref(), Some(lang));
        }
    });
}

#[test]
fn highlighter_keeps_its_invariants_on_every_corpus_item_prefix_and_language() {
    // Took 2.4 s in release, 2.6 s in a debug build (2 cores).
    let calls = run_bounded("highlighter corpus", deadline(60, 60), |progress| {
        let langs = highlight_langs();
        let mut calls = 0usize;
        for item in corpus() {
            let step = if item.big {
                (item.code.chars().count() / BIG_PREFIXES).max(4)
            } else {
                1
            };
            let cuts = stream_cuts(&item.code, step);
            for lang in &langs {
                let what = format!("highlight({lang:?}) of corpus item {:?}", item.name);
                progress.set(what.clone());
                for &cut in &cuts {
                    let label = format!("{what}, first {cut} bytes");
                    check_highlight(&label, Some(lang), &item.code[..cut]);
                    calls += 1;
                }
            }
            progress.set(format!("highlight(None) of corpus item {:?}", item.name));
            for &cut in &cuts {
                check_highlight(&item.name, None, &item.code[..cut]);
                calls += 1;
            }
        }
        calls
    });
    assert!(calls > 50_000, "only {calls} highlight calls");
}

#[test]
fn top_level_fences_stream_in_every_language() {
    // Took 1.8 s in release, 2.5 s in a debug build (2 cores).
    let docs = run_bounded("top-level fences", deadline(60, 60), |progress| {
        run_corpus(progress, |ctx, item| {
            !item.big && ctx.layout != Layout::Nested && ctx.exact_lang
        })
    });
    assert!(docs > 5_000, "only {docs} documents");
}

#[test]
fn fences_in_lists_and_quotes_stream_in_every_language() {
    // Took 2.7 s in release, 7.1 s in a debug build (2 cores).
    let docs = run_bounded("nested fences", deadline(60, 150), |progress| {
        run_corpus(progress, |ctx, item| {
            !item.big && ctx.layout == Layout::Nested
        })
    });
    assert!(docs > 5_000, "only {docs} documents");
}

#[test]
fn odd_info_strings_stream_in_every_language() {
    // Took 2.2 s in release, 3.1 s in a debug build (2 cores).
    let docs = run_bounded("odd info strings", deadline(60, 90), |progress| {
        run_corpus(progress, |ctx, item| !item.big && !ctx.exact_lang)
    });
    assert!(docs > 5_000, "only {docs} documents");
}

#[test]
fn large_inputs_stream_in_top_level_fences_in_every_language() {
    // Took 13 s in release, 2.8 s in a debug build (inputs a tenth the size), on 2 cores.
    let docs = run_bounded("large inputs, top level", deadline(270, 60), |progress| {
        run_corpus(progress, |ctx, item| {
            item.big && ctx.for_big && ctx.layout != Layout::Nested
        })
    });
    assert!(docs > 250, "only {docs} documents");
}

#[test]
fn large_inputs_stream_in_lists_and_quotes_in_every_language() {
    // Took 24 s in release, 6.7 s in a debug build (inputs a tenth the size), on 2 cores.
    let docs = run_bounded("large inputs, nested", deadline(480, 140), |progress| {
        run_corpus(progress, |ctx, item| {
            item.big && ctx.for_big && ctx.layout == Layout::Nested
        })
    });
    assert!(docs > 250, "only {docs} documents");
}

// ---------------------------------------------------------------------------------------------
// Random documents
// ---------------------------------------------------------------------------------------------

/// xorshift64* (Vigna): tiny, fast, good enough to pick fragments.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        // splitmix64 of the seed, so neighbouring seeds give unrelated streams (and 0 works).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Fragments that mean something to markdown or to one of the lexers, with weights.
const FRAGMENTS: &[(&str, u32)] = &[
    ("`", 8),
    ("```", 6),
    ("````", 2),
    ("~~~", 3),
    ("\n```", 6),
    ("\n~~~", 2),
    ("\"", 8),
    ("'", 8),
    ("\"\"\"", 2),
    ("'''", 2),
    ("\\", 8),
    ("\\\\", 2),
    ("#", 5),
    ("# ", 3),
    ("#include", 1),
    ("$", 4),
    ("${", 3),
    ("$#", 2),
    ("{", 4),
    ("}", 3),
    ("<", 4),
    (">", 3),
    ("> ", 3),
    ("<!--", 2),
    ("-->", 1),
    ("<a href=\"", 1),
    ("<![CDATA[", 1),
    ("*", 5),
    ("**", 2),
    ("_", 3),
    ("~~", 1),
    ("/*", 3),
    ("*/", 2),
    ("//", 2),
    ("--", 2),
    ("r#\"", 2),
    ("\"#", 1),
    ("r##\"", 1),
    ("b'", 1),
    ("f\"", 1),
    ("<<EOF\n", 1),
    ("\nEOF\n", 1),
    ("[", 3),
    ("](", 2),
    (")", 2),
    ("![", 1),
    ("http://x.y", 1),
    ("javascript:", 1),
    ("|", 3),
    ("\n|---|", 1),
    ("- ", 3),
    ("1. ", 2),
    ("  ", 4),
    ("    ", 2),
    (" ", 10),
    ("\n", 14),
    ("\n\n", 4),
    ("\r\n", 2),
    ("\r", 1),
    ("\t", 4),
    ("&amp;", 1),
    ("&#", 1),
    (":", 2),
    ("=", 2),
    ("(", 2),
    ("x", 6),
    ("fn", 1),
    ("let", 1),
    ("def", 1),
    ("12", 2),
    ("0x", 1),
    ("1e-", 1),
    ("é", 2),
    ("e\u{301}", 2),
    ("日本", 2),
    ("\u{1F980}", 2),
    ("\u{1F469}\u{200D}\u{1F467}", 1),
    ("\u{200D}", 2),
    ("\u{0}", 1),
    ("\u{FEFF}", 1),
];

/// A document of up to `max_fragments` weighted fragments; after a fence opener it sometimes
/// puts a language name, as models do.
fn random_doc(rng: &mut Rng, langs: &[Option<&str>], max_fragments: usize) -> String {
    let total: u32 = FRAGMENTS.iter().map(|(_, w)| w).sum();
    let n = 1 + rng.below(max_fragments);
    let mut doc = String::new();
    for _ in 0..n {
        let mut r = (rng.next() % u64::from(total)) as u32;
        let mut pick = FRAGMENTS[0].0;
        for (frag, w) in FRAGMENTS {
            if r < *w {
                pick = frag;
                break;
            }
            r -= w;
        }
        doc.push_str(pick);
        if (pick.ends_with("```") || pick.ends_with("~~~")) && rng.below(2) == 0 {
            if let Some(lang) = langs[rng.below(langs.len())] {
                doc.push_str(lang);
            }
            doc.push('\n');
        }
    }
    doc
}

fn seed() -> u64 {
    match std::env::var("RENDER_CORPUS_SEED") {
        Ok(s) => {
            let s = s.trim();
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|e| panic!("RENDER_CORPUS_SEED={s:?} is not a u64: {e}"))
        }
        Err(_) => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            now ^ u64::from(std::process::id()).rotate_left(32)
        }
    }
}

const RANDOM_DOCS: usize = if RELEASE { 4_000 } else { 600 };

#[test]
fn random_documents_keep_the_invariants() {
    let seed = seed();
    eprintln!(
        "[render_corpus] random documents: seed {seed} (replay with RENDER_CORPUS_SEED={seed})"
    );
    // Took 7-11 s in release, 8.7 s in a debug build (2 cores).
    let docs = run_bounded("random documents", deadline(220, 180), move |progress| {
        let langs = all_langs();
        let hl_langs = highlight_langs();
        let mut rng = Rng::new(seed);
        let mut code_blocks = 0usize;
        for n in 0..RANDOM_DOCS {
            // Mostly short replies, some long ones.
            let max = if n % 50 == 0 { 2_000 } else { 120 };
            let doc = random_doc(&mut rng, &langs, max);
            let what = format!(
                "random document {n} of seed {seed} (RENDER_CORPUS_SEED={seed}): {}",
                show(&doc)
            );
            let step = if doc.len() > 4_000 { 16 } else { 4 };
            let mut last = Vec::new();
            for cut in stream_cuts(&doc, step) {
                progress.set(format!("{what}, prefix of {cut}/{} bytes", doc.len()));
                let prefix = &doc[..cut];
                let label = format!("{what}, prefix {}", show(prefix));
                last = parse_and_check(&label, prefix).1;
                // The raw text as code in one language per prefix, rotating.
                let lang = &hl_langs[(n + cut) % hl_langs.len()];
                check_highlight(&label, Some(lang), prefix);
            }
            code_blocks += last.len();
            progress.set(format!("{what}, highlighted in every language"));
            for lang in &hl_langs {
                check_highlight(&format!("{what} as {lang:?}"), Some(lang), &doc);
            }
            check_highlight(&what, None, &doc);
            // Each code block of the full parse, re-highlighted in every language.
            for (_, code) in &last {
                for lang in langs.iter().step_by(7) {
                    check_highlight(&format!("{what}, a code block as {lang:?}"), *lang, code);
                }
            }
        }
        assert!(
            code_blocks > RANDOM_DOCS / 4,
            "seed {seed}: only {code_blocks} code blocks in {RANDOM_DOCS} documents; \
             the generator no longer makes fences"
        );
        RANDOM_DOCS
    });
    assert_eq!(docs, RANDOM_DOCS);
}

// ---------------------------------------------------------------------------------------------
// The harness itself
// ---------------------------------------------------------------------------------------------

#[test]
fn the_deadline_fails_a_hang_and_names_the_input() {
    let (release, stuck) = mpsc::channel::<()>();
    let result = bounded("self-test", Duration::from_millis(200), move |progress| {
        progress.set("corpus item \"x\" in language \"rust\"");
        // Stands in for an endless loop; released below so the thread ends.
        let _ = stuck.recv();
    });
    drop(release);
    let message = result.expect_err("a stuck worker must fail");
    assert!(message.contains("no result within"), "{message}");
    assert!(
        message.contains("corpus item \"x\" in language \"rust\""),
        "{message}"
    );

    let result = bounded("self-test", Duration::from_secs(60), |progress| {
        progress.set("random document 7");
        check_spans(
            "broken spans",
            "ab",
            &[Span {
                kind: TokenKind::Plain,
                start: 0,
                end: 1,
            }],
        );
    });
    let message = result.expect_err("broken spans must fail");
    assert!(message.contains("random document 7"), "{message}");
    assert!(message.contains("spans stop at 1 of 2 bytes"), "{message}");

    let shown = show(&"y".repeat(1_000));
    assert!(shown.ends_with("(1000 bytes)"), "{shown}");
}
