//! Markdown → safe AST for rendering model replies.
//!
//! Model output is hostile input: a reply can contain `<script>`, event-handler
//! attributes or `javascript:` links, whether from a prompt injection or by
//! accident. The usual pipeline (markdown → HTML string → sanitizer → inner HTML)
//! makes safety depend on the sanitizer being perfect. Instead this module turns
//! markdown into a small tree of [`Block`]s and [`Inline`]s that the UI renders
//! element by element with its own components. Nothing here is ever markup:
//!
//! * raw HTML in the reply becomes [`Block::Html`] / [`Inline::Html`], which hold
//!   *literal text* that the UI shows as text, so it can never become live markup;
//! * link and image URLs go through [`safe_url`], which allows only absolute
//!   `http`, `https` and `mailto` URLs, so `href`/`src` is `None` for anything else;
//! * code blocks carry highlighter spans (byte ranges), not pre-coloured HTML.
//!
//! Replies stream in, so [`parse`] is called on every partial prefix of a document;
//! it never panics, whatever the input (unterminated fences, half tables...).

use pulldown_cmark::{
    Alignment, CodeBlockKind, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd,
};

use super::highlight::{highlight, Span};

/// A block-level element.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading {
        level: u8,
        inlines: Vec<Inline>,
    },
    Paragraph(Vec<Inline>),
    /// `spans` is the syntax highlighting of `code` (see [`highlight`]).
    CodeBlock {
        lang: Option<String>,
        code: String,
        spans: Vec<Span>,
    },
    Quote(Vec<Block>),
    /// Each item is a list of blocks; tight list items still yield `Paragraph`s.
    List {
        ordered: bool,
        start: u64,
        items: Vec<Vec<Block>>,
    },
    Table {
        align: Vec<Align>,
        head: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    Rule,
    /// A raw HTML block, kept as literal text (rendered as preformatted text).
    Html(String),
}

/// Column alignment of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    None,
    Left,
    Center,
    Right,
}

/// An inline (span-level) element.
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    Text(String),
    Code(String),
    Emph(Vec<Inline>),
    Strong(Vec<Inline>),
    Strike(Vec<Inline>),
    /// `href` is `None` when the URL is not safe; the UI then renders plain text.
    Link {
        href: Option<String>,
        title: String,
        children: Vec<Inline>,
    },
    /// Shown as a link-like placeholder with the alt text (a chat client does not
    /// load remote images on a model's say-so); `src` only if safe.
    Image {
        src: Option<String>,
        alt: String,
    },
    LineBreak,
    SoftBreak,
    /// Inline raw HTML, kept as literal text.
    Html(String),
}

/// Parses markdown (CommonMark + tables, strikethrough, task lists) into a safe AST.
///
/// Never panics, on any input, including any prefix of a streaming reply.
pub fn parse(markdown: &str) -> Vec<Block> {
    let options =
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS;
    let mut builder = Builder::new();
    for event in Parser::new_ext(markdown, options) {
        builder.event(event);
    }
    builder.finish()
}

/// Returns the cleaned URL if it is an absolute `http`, `https` or `mailto` URL.
///
/// Leading/trailing whitespace and ASCII control characters are stripped first.
/// Everything else is rejected: other schemes (`javascript:`, `vbscript:`, `data:`,
/// `file:`...), scheme obfuscation (`java\tscript:`, entities like
/// `javascript&#58;`), protocol-relative `//host` and relative URLs (a chat message
/// has no base URL). This is an allow-list on the raw bytes of the scheme, so no
/// decoding trick can smuggle another scheme past it.
pub fn safe_url(url: &str) -> Option<String> {
    let trimmed = url.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_control());
    // Browsers silently drop tabs and newlines inside URLs, which is exactly how
    // filters are bypassed; no legitimate link needs a control character.
    if trimmed.chars().any(|c| c.is_ascii_control()) {
        return None;
    }
    let bytes = trimmed.as_bytes();
    let scheme = ["https://", "http://", "mailto:"]
        .into_iter()
        .find(|s| bytes.len() > s.len() && bytes[..s.len()].eq_ignore_ascii_case(s.as_bytes()))?;
    // `scheme` is ASCII, so slicing at its length is on a char boundary.
    let rest = trimmed.get(scheme.len()..)?;
    // `http:///x` or `http:// x` has no host.
    if scheme != "mailto:" && rest.starts_with(['/', ' ']) {
        return None;
    }
    let mut clean = String::with_capacity(trimmed.len());
    clean.push_str(scheme);
    // Defence in depth in case a renderer ever builds attribute text by hand:
    // percent-encode the characters that could end an attribute or tag.
    for c in rest.chars() {
        match c {
            ' ' => clean.push_str("%20"),
            '"' => clean.push_str("%22"),
            '\'' => clean.push_str("%27"),
            '<' => clean.push_str("%3C"),
            '>' => clean.push_str("%3E"),
            '`' => clean.push_str("%60"),
            _ => clean.push(c),
        }
    }
    Some(clean)
}

/// Plain text of the blocks (for copy, search snippets and titles).
///
/// Blocks are separated by blank lines, list items are put on their own lines
/// with `- ` / `N. ` markers, table cells are tab-separated (pastes into a
/// spreadsheet), raw HTML is kept as the literal text it is shown as.
pub fn plain_text(blocks: &[Block]) -> String {
    let mut out = String::new();
    write_blocks(&mut out, blocks);
    out.trim_end().to_string()
}

fn write_blocks(out: &mut String, blocks: &[Block]) {
    for block in blocks {
        if !out.is_empty() && !out.ends_with("\n\n") {
            if !out.ends_with('\n') {
                out.push('\n');
            }
            out.push('\n');
        }
        match block {
            Block::Heading { inlines, .. } | Block::Paragraph(inlines) => {
                write_inlines(out, inlines)
            }
            Block::CodeBlock { code, .. } => out.push_str(code.trim_end_matches('\n')),
            Block::Html(html) => out.push_str(html.trim_end_matches('\n')),
            Block::Quote(inner) => write_blocks(out, inner),
            Block::List {
                ordered,
                start,
                items,
            } => {
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push('\n');
                    }
                    if *ordered {
                        let number = start.saturating_add(n as u64);
                        out.push_str(&format!("{number}. "));
                    } else {
                        out.push_str("- ");
                    }
                    // Items are written compactly: one line break between blocks.
                    let mut text = String::new();
                    write_blocks(&mut text, item);
                    out.push_str(&text.trim_end().replace("\n\n", "\n"));
                }
            }
            Block::Table { head, rows, .. } => {
                let lines = std::iter::once(head).chain(rows.iter());
                for (n, row) in lines.enumerate() {
                    if n > 0 {
                        out.push('\n');
                    }
                    for (c, cell) in row.iter().enumerate() {
                        if c > 0 {
                            out.push('\t');
                        }
                        write_inlines(out, cell);
                    }
                }
            }
            Block::Rule => out.push_str("---"),
        }
    }
}

fn write_inlines(out: &mut String, inlines: &[Inline]) {
    for inline in inlines {
        match inline {
            Inline::Text(t) | Inline::Code(t) | Inline::Html(t) => out.push_str(t),
            Inline::Emph(c) | Inline::Strong(c) | Inline::Strike(c) => write_inlines(out, c),
            Inline::Link { children, .. } => write_inlines(out, children),
            Inline::Image { alt, .. } => out.push_str(alt),
            Inline::LineBreak => out.push('\n'),
            Inline::SoftBreak => out.push(' '),
        }
    }
}

fn inlines_text(inlines: &[Inline]) -> String {
    let mut s = String::new();
    write_inlines(&mut s, inlines);
    s
}

/// What an open element collects until its end event.
enum Frame {
    /// Document root, block quote or list item: blocks, plus loose inlines that a
    /// tight list item emits without a paragraph (wrapped into one on flush).
    Blocks {
        kind: BlocksKind,
        blocks: Vec<Block>,
        loose: Vec<Inline>,
    },
    List {
        ordered: bool,
        start: u64,
        items: Vec<Vec<Block>>,
    },
    Inlines {
        kind: InlinesKind,
        inlines: Vec<Inline>,
    },
    Code {
        lang: Option<String>,
        code: String,
    },
    Html(String),
    Table {
        align: Vec<Align>,
        head: Vec<Vec<Inline>>,
        rows: Vec<Vec<Vec<Inline>>>,
    },
    Row {
        head: bool,
        cells: Vec<Vec<Inline>>,
    },
}

enum BlocksKind {
    Root,
    Quote,
    Item,
    /// Constructs we do not enable (footnotes, definition lists, metadata):
    /// their content is spliced into the parent so nothing is lost.
    Transparent,
}

enum InlinesKind {
    Paragraph,
    Heading(u8),
    Emph,
    Strong,
    Strike,
    Link {
        href: Option<String>,
        title: String,
    },
    Image {
        src: Option<String>,
    },
    Cell,
    /// Superscript/subscript and other unenabled spans: children are spliced.
    Transparent,
}

/// Deepest nesting of quotes/lists, and of emphasis/links, kept in the tree.
///
/// A hostile reply of 100k `>` characters is a 100k-deep quote to the parser.
/// The UI renders, and Rust drops, the tree recursively, so beyond this depth the
/// containers are flattened (their content is kept, spliced into the parent).
const MAX_NESTING: usize = 32;

/// Turns the flat event stream into a tree with an explicit stack, so deep
/// nesting cannot overflow the call stack while building. Every end event pops
/// exactly one frame and unexpected shapes degrade to text instead of panicking.
struct Builder {
    stack: Vec<Frame>,
    /// Open quotes and lists that will become real (nested) blocks.
    block_nesting: usize,
    /// Open emphasis/strong/strike/link frames that will become real inlines.
    inline_nesting: usize,
}

impl Builder {
    fn new() -> Self {
        Builder {
            stack: vec![Frame::Blocks {
                kind: BlocksKind::Root,
                blocks: Vec::new(),
                loose: Vec::new(),
            }],
            block_nesting: 0,
            inline_nesting: 0,
        }
    }

    /// Pops a frame, keeping the nesting counters in step with the stack.
    fn pop(&mut self) -> Option<Frame> {
        let frame = self.stack.pop()?;
        let (blocks, inlines) = nesting_of(&frame);
        self.block_nesting = self.block_nesting.saturating_sub(blocks);
        self.inline_nesting = self.inline_nesting.saturating_sub(inlines);
        Some(frame)
    }

    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Start(tag) => self.start(tag),
            Event::End(end) => self.end(end),
            Event::Text(t) => self.text(&t),
            Event::Code(t) => self.inline(Inline::Code(t.into_string())),
            Event::InlineMath(t) | Event::DisplayMath(t) => {
                self.inline(Inline::Code(t.into_string()))
            }
            Event::Html(t) => self.html(&t),
            Event::InlineHtml(t) => self.inline(Inline::Html(t.into_string())),
            Event::FootnoteReference(t) => self.text(&format!("[^{t}]")),
            Event::SoftBreak => self.inline(Inline::SoftBreak),
            Event::HardBreak => self.inline(Inline::LineBreak),
            Event::Rule => self.block(Block::Rule),
            Event::TaskListMarker(done) => self.text(if done { "☑ " } else { "☐ " }),
        }
    }

    fn start(&mut self, tag: Tag<'_>) {
        let deep_blocks = self.block_nesting >= MAX_NESTING;
        let deep_inlines = self.inline_nesting >= MAX_NESTING;
        let frame = match tag {
            Tag::BlockQuote(_) | Tag::List(_) if deep_blocks => {
                blocks_frame(BlocksKind::Transparent)
            }
            // Items of a flattened list are flattened too.
            Tag::Item if !matches!(self.stack.last(), Some(Frame::List { .. })) => {
                blocks_frame(BlocksKind::Transparent)
            }
            Tag::Emphasis | Tag::Strong | Tag::Strikethrough | Tag::Link { .. } if deep_inlines => {
                inlines_frame(InlinesKind::Transparent)
            }
            Tag::Paragraph => inlines_frame(InlinesKind::Paragraph),
            Tag::Heading { level, .. } => inlines_frame(InlinesKind::Heading(heading_level(level))),
            Tag::BlockQuote(_) => blocks_frame(BlocksKind::Quote),
            Tag::CodeBlock(kind) => Frame::Code {
                lang: match kind {
                    CodeBlockKind::Fenced(info) => fence_lang(&info),
                    CodeBlockKind::Indented => None,
                },
                code: String::new(),
            },
            Tag::HtmlBlock => Frame::Html(String::new()),
            Tag::List(first) => Frame::List {
                ordered: first.is_some(),
                start: first.unwrap_or(1),
                items: Vec::new(),
            },
            Tag::Item => blocks_frame(BlocksKind::Item),
            Tag::Table(align) => Frame::Table {
                align: align.into_iter().map(convert_align).collect(),
                head: Vec::new(),
                rows: Vec::new(),
            },
            Tag::TableHead => Frame::Row {
                head: true,
                cells: Vec::new(),
            },
            Tag::TableRow => Frame::Row {
                head: false,
                cells: Vec::new(),
            },
            Tag::TableCell => inlines_frame(InlinesKind::Cell),
            Tag::Emphasis => inlines_frame(InlinesKind::Emph),
            Tag::Strong => inlines_frame(InlinesKind::Strong),
            Tag::Strikethrough => inlines_frame(InlinesKind::Strike),
            Tag::Link {
                link_type,
                dest_url,
                title,
                ..
            } => {
                // Email autolinks `<a@b.c>` carry the bare address.
                let href = if link_type == LinkType::Email {
                    safe_url(&format!("mailto:{dest_url}"))
                } else {
                    safe_url(&dest_url)
                };
                inlines_frame(InlinesKind::Link {
                    href,
                    title: title.into_string(),
                })
            }
            Tag::Image { dest_url, .. } => inlines_frame(InlinesKind::Image {
                src: safe_url(&dest_url),
            }),
            Tag::Superscript | Tag::Subscript => inlines_frame(InlinesKind::Transparent),
            Tag::FootnoteDefinition(_)
            | Tag::DefinitionList
            | Tag::DefinitionListTitle
            | Tag::DefinitionListDefinition
            | Tag::MetadataBlock(_) => blocks_frame(BlocksKind::Transparent),
        };
        let (blocks, inlines) = nesting_of(&frame);
        self.block_nesting += blocks;
        self.inline_nesting += inlines;
        self.stack.push(frame);
    }

    fn end(&mut self, _end: TagEnd) {
        // The root frame is never popped by an end event.
        if self.stack.len() <= 1 {
            return;
        }
        if let Some(frame) = self.pop() {
            self.close(frame);
        }
    }

    /// Folds a finished frame into its parent.
    fn close(&mut self, frame: Frame) {
        match frame {
            Frame::Blocks {
                kind,
                mut blocks,
                loose,
            } => {
                flush_loose(&mut blocks, loose);
                match kind {
                    BlocksKind::Root => {
                        // Only reachable if the root were popped; keep its content.
                        for b in blocks {
                            self.block(b);
                        }
                    }
                    BlocksKind::Quote => self.block(Block::Quote(blocks)),
                    BlocksKind::Item => self.item(blocks),
                    BlocksKind::Transparent => {
                        for b in blocks {
                            self.block(b);
                        }
                    }
                }
            }
            Frame::List {
                ordered,
                start,
                items,
            } => self.block(Block::List {
                ordered,
                start,
                items,
            }),
            Frame::Inlines { kind, inlines } => match kind {
                InlinesKind::Paragraph => self.block(Block::Paragraph(inlines)),
                InlinesKind::Heading(level) => self.block(Block::Heading { level, inlines }),
                InlinesKind::Emph => self.inline(Inline::Emph(inlines)),
                InlinesKind::Strong => self.inline(Inline::Strong(inlines)),
                InlinesKind::Strike => self.inline(Inline::Strike(inlines)),
                InlinesKind::Link { href, title } => self.inline(Inline::Link {
                    href,
                    title,
                    children: inlines,
                }),
                // Alt text is plain text even when the markdown had emphasis in it.
                InlinesKind::Image { src } => self.inline(Inline::Image {
                    src,
                    alt: inlines_text(&inlines),
                }),
                InlinesKind::Cell => self.cell(inlines),
                InlinesKind::Transparent => {
                    for i in inlines {
                        self.inline(i);
                    }
                }
            },
            Frame::Code { lang, code } => {
                let spans = highlight(lang.as_deref(), &code);
                self.block(Block::CodeBlock { lang, code, spans });
            }
            Frame::Html(html) => self.block(Block::Html(html)),
            Frame::Table { align, head, rows } => self.block(Block::Table { align, head, rows }),
            Frame::Row { head, cells } => match self.stack.last_mut() {
                Some(Frame::Table {
                    head: table_head,
                    rows,
                    ..
                }) => {
                    if head {
                        *table_head = cells;
                    } else {
                        rows.push(cells);
                    }
                }
                _ => {
                    for cell in cells {
                        self.block(Block::Paragraph(cell));
                    }
                }
            },
        }
    }

    /// Adds a finished block to the innermost frame that can hold it.
    fn block(&mut self, block: Block) {
        match self.stack.last_mut() {
            Some(Frame::Blocks { blocks, loose, .. }) => {
                flush_loose(blocks, std::mem::take(loose));
                blocks.push(block);
            }
            Some(Frame::List { items, .. }) => items.push(vec![block]),
            Some(Frame::Code { code, .. }) => code.push_str(&plain_text(&[block])),
            Some(Frame::Html(html)) => html.push_str(&plain_text(&[block])),
            Some(Frame::Inlines { inlines, .. }) => {
                push_inline(inlines, Inline::Text(plain_text(&[block])))
            }
            Some(Frame::Table { rows, .. }) => {
                rows.push(vec![vec![Inline::Text(plain_text(&[block]))]])
            }
            Some(Frame::Row { cells, .. }) => cells.push(vec![Inline::Text(plain_text(&[block]))]),
            None => {}
        }
    }

    fn item(&mut self, blocks: Vec<Block>) {
        match self.stack.last_mut() {
            Some(Frame::List { items, .. }) => items.push(blocks),
            // An item outside a list cannot come from the parser; keep its content.
            _ => {
                for b in blocks {
                    self.block(b);
                }
            }
        }
    }

    fn cell(&mut self, inlines: Vec<Inline>) {
        match self.stack.last_mut() {
            Some(Frame::Row { cells, .. }) => cells.push(inlines),
            _ => self.block(Block::Paragraph(inlines)),
        }
    }

    fn inline(&mut self, inline: Inline) {
        match self.stack.last_mut() {
            Some(Frame::Inlines { inlines, .. }) => push_inline(inlines, inline),
            Some(Frame::Blocks { loose, .. }) => push_inline(loose, inline),
            Some(Frame::Code { code, .. }) => code.push_str(&inlines_text(&[inline])),
            Some(Frame::Html(html)) => html.push_str(&inlines_text(&[inline])),
            Some(Frame::List { items, .. }) => items.push(vec![Block::Paragraph(vec![inline])]),
            Some(Frame::Row { cells, .. }) => cells.push(vec![inline]),
            Some(Frame::Table { rows, .. }) => rows.push(vec![vec![inline]]),
            None => {}
        }
    }

    fn text(&mut self, text: &str) {
        match self.stack.last_mut() {
            Some(Frame::Code { code, .. }) => code.push_str(text),
            Some(Frame::Html(html)) => html.push_str(text),
            _ => self.inline(Inline::Text(text.to_string())),
        }
    }

    /// `Event::Html` is block-level raw HTML; it normally arrives inside an
    /// `HtmlBlock`, but is literal text wherever it lands.
    fn html(&mut self, html: &str) {
        match self.stack.last_mut() {
            Some(Frame::Html(buf)) => buf.push_str(html),
            Some(Frame::Blocks { .. }) | Some(Frame::List { .. }) => {
                self.block(Block::Html(html.to_string()))
            }
            _ => self.inline(Inline::Html(html.to_string())),
        }
    }

    /// Closes whatever a truncated (streaming) document left open.
    fn finish(mut self) -> Vec<Block> {
        while self.stack.len() > 1 {
            if let Some(frame) = self.pop() {
                self.close(frame);
            }
        }
        match self.stack.pop() {
            Some(Frame::Blocks {
                mut blocks, loose, ..
            }) => {
                flush_loose(&mut blocks, loose);
                blocks
            }
            _ => Vec::new(),
        }
    }
}

/// How much a frame adds to the (block, inline) nesting depth.
fn nesting_of(frame: &Frame) -> (usize, usize) {
    match frame {
        Frame::Blocks {
            kind: BlocksKind::Quote,
            ..
        }
        | Frame::List { .. } => (1, 0),
        Frame::Inlines {
            kind:
                InlinesKind::Emph | InlinesKind::Strong | InlinesKind::Strike | InlinesKind::Link { .. },
            ..
        } => (0, 1),
        _ => (0, 0),
    }
}

fn blocks_frame(kind: BlocksKind) -> Frame {
    Frame::Blocks {
        kind,
        blocks: Vec::new(),
        loose: Vec::new(),
    }
}

fn inlines_frame(kind: InlinesKind) -> Frame {
    Frame::Inlines {
        kind,
        inlines: Vec::new(),
    }
}

/// Wraps inlines that arrived directly in a block container (tight list items)
/// into a paragraph, so the UI only ever sees blocks there.
fn flush_loose(blocks: &mut Vec<Block>, loose: Vec<Inline>) {
    if !loose.is_empty() {
        blocks.push(Block::Paragraph(loose));
    }
}

/// Appends an inline, merging adjacent text (the parser splits text at entities
/// and special characters; the UI wants one node per run).
fn push_inline(inlines: &mut Vec<Inline>, inline: Inline) {
    if let Inline::Text(new) = &inline {
        if let Some(Inline::Text(last)) = inlines.last_mut() {
            last.push_str(new);
            return;
        }
    }
    inlines.push(inline);
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn convert_align(align: Alignment) -> Align {
    match align {
        Alignment::None => Align::None,
        Alignment::Left => Align::Left,
        Alignment::Center => Align::Center,
        Alignment::Right => Align::Right,
    }
}

/// The language word of a fence info string: ```` ```rust,ignore ```` → `rust`.
fn fence_lang(info: &str) -> Option<String> {
    let word = info
        .split(|c: char| c.is_whitespace() || c == ',' || c == '{' || c == '}')
        .find(|w| !w.is_empty())?;
    // It ends up as a CSS class / label in the UI, so keep it to a sane name.
    let word: String = word.chars().take(32).collect();
    Some(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Inline {
        Inline::Text(s.to_string())
    }

    fn para(s: &str) -> Block {
        Block::Paragraph(vec![text(s)])
    }

    /// Visits every inline in the tree.
    fn walk_inlines(blocks: &[Block], f: &mut dyn FnMut(&Inline)) {
        fn inl(list: &[Inline], f: &mut dyn FnMut(&Inline)) {
            for i in list {
                f(i);
                match i {
                    Inline::Emph(c) | Inline::Strong(c) | Inline::Strike(c) => inl(c, f),
                    Inline::Link { children, .. } => inl(children, f),
                    _ => {}
                }
            }
        }
        for b in blocks {
            match b {
                Block::Heading { inlines, .. } | Block::Paragraph(inlines) => inl(inlines, f),
                Block::Quote(inner) => walk_inlines(inner, f),
                Block::List { items, .. } => items.iter().for_each(|it| walk_inlines(it, f)),
                Block::Table { head, rows, .. } => {
                    head.iter().for_each(|c| inl(c, f));
                    rows.iter().flatten().for_each(|c| inl(c, f));
                }
                Block::CodeBlock { .. } | Block::Rule | Block::Html(_) => {}
            }
        }
    }

    /// The core safety property: every URL that survives is http(s) or mailto.
    fn assert_all_urls_safe(blocks: &[Block]) {
        let ok = |u: &str| {
            let l = u.to_ascii_lowercase();
            l.starts_with("http://") || l.starts_with("https://") || l.starts_with("mailto:")
        };
        walk_inlines(blocks, &mut |i| match i {
            Inline::Link { href: Some(h), .. } => assert!(ok(h), "unsafe href {h:?}"),
            Inline::Image { src: Some(s), .. } => assert!(ok(s), "unsafe src {s:?}"),
            _ => {}
        });
    }

    fn links(blocks: &[Block]) -> Vec<Inline> {
        let mut out = Vec::new();
        walk_inlines(blocks, &mut |i| {
            if matches!(i, Inline::Link { .. } | Inline::Image { .. }) {
                out.push(i.clone());
            }
        });
        out
    }

    #[test]
    fn headings_and_paragraphs() {
        let doc = parse("# One\n\n### Three *em*\n\nBody text\nsecond line");
        assert_eq!(
            doc,
            vec![
                Block::Heading {
                    level: 1,
                    inlines: vec![text("One")]
                },
                Block::Heading {
                    level: 3,
                    inlines: vec![text("Three "), Inline::Emph(vec![text("em")])]
                },
                Block::Paragraph(vec![
                    text("Body text"),
                    Inline::SoftBreak,
                    text("second line")
                ]),
            ]
        );
    }

    #[test]
    fn lists_tight_loose_ordered_start_and_nested() {
        let doc = parse("3. a\n4. b\n   - c\n   - d\n");
        assert_eq!(
            doc,
            vec![Block::List {
                ordered: true,
                start: 3,
                items: vec![
                    vec![para("a")],
                    vec![
                        para("b"),
                        Block::List {
                            ordered: false,
                            start: 1,
                            items: vec![vec![para("c")], vec![para("d")]],
                        }
                    ],
                ],
            }]
        );
        let loose = parse("- x\n\n- y\n");
        assert_eq!(
            loose,
            vec![Block::List {
                ordered: false,
                start: 1,
                items: vec![vec![para("x")], vec![para("y")]],
            }]
        );
        let tasks = parse("- [x] done\n- [ ] todo\n");
        assert_eq!(plain_text(&tasks), "- ☑ done\n- ☐ todo");
    }

    #[test]
    fn nested_structures() {
        let doc = parse("> - item\n>\n>   ```py\n>   x = 1\n>   ```\n");
        let Block::Quote(inner) = &doc[0] else {
            panic!("expected quote, got {doc:?}");
        };
        let Block::List { items, .. } = &inner[0] else {
            panic!("expected list, got {inner:?}");
        };
        assert_eq!(items[0][0], para("item"));
        match &items[0][1] {
            Block::CodeBlock { lang, code, spans } => {
                assert_eq!(lang.as_deref(), Some("py"));
                assert_eq!(code, "x = 1\n");
                assert_eq!(spans.last().map(|s| s.end), Some(code.len()));
            }
            other => panic!("expected code block, got {other:?}"),
        }
    }

    #[test]
    fn tables_with_alignment() {
        let doc = parse("| a | b | c | d |\n|:--|:-:|--:|---|\n| 1 | **2** | 3 | 4 |\n");
        assert_eq!(
            doc,
            vec![Block::Table {
                align: vec![Align::Left, Align::Center, Align::Right, Align::None],
                head: vec![
                    vec![text("a")],
                    vec![text("b")],
                    vec![text("c")],
                    vec![text("d")]
                ],
                rows: vec![vec![
                    vec![text("1")],
                    vec![Inline::Strong(vec![text("2")])],
                    vec![text("3")],
                    vec![text("4")],
                ]],
            }]
        );
        assert_eq!(plain_text(&doc), "a\tb\tc\td\n1\t2\t3\t4");
    }

    #[test]
    fn links_images_and_autolinks() {
        let doc = parse(
            "[site](https://example.com \"T\") <https://a.b/c> <me@x.org> ![pic *x*](http://i.png)",
        );
        assert_eq!(
            links(&doc),
            vec![
                Inline::Link {
                    href: Some("https://example.com".into()),
                    title: "T".into(),
                    children: vec![text("site")],
                },
                Inline::Link {
                    href: Some("https://a.b/c".into()),
                    title: String::new(),
                    children: vec![text("https://a.b/c")],
                },
                Inline::Link {
                    href: Some("mailto:me@x.org".into()),
                    title: String::new(),
                    children: vec![text("me@x.org")],
                },
                Inline::Image {
                    src: Some("http://i.png".into()),
                    alt: "pic x".into(),
                },
            ]
        );
        // Relative links keep their text but lose the link target.
        let rel = parse("[r](/local) [q](?x) [h](#top)");
        assert!(links(&rel)
            .iter()
            .all(|l| matches!(l, Inline::Link { href: None, .. })));
        assert_eq!(plain_text(&rel), "r q h");
    }

    #[test]
    fn code_inline_and_fenced() {
        let doc = parse("Use `let x` now.\n\n```rust,ignore\nfn main() {}\n```\n\n    indented\n");
        assert_eq!(
            doc[0],
            Block::Paragraph(vec![
                text("Use "),
                Inline::Code("let x".into()),
                text(" now.")
            ])
        );
        match &doc[1] {
            Block::CodeBlock { lang, code, spans } => {
                assert_eq!(lang.as_deref(), Some("rust"));
                assert_eq!(code, "fn main() {}\n");
                assert_eq!(spans, &highlight(Some("rust"), code));
                assert!(spans.iter().any(|s| &code[s.start..s.end] == "fn"
                    && s.kind == super::super::highlight::TokenKind::Keyword));
            }
            other => panic!("expected code block, got {other:?}"),
        }
        match &doc[2] {
            Block::CodeBlock { lang, code, .. } => {
                assert_eq!(lang, &None);
                assert_eq!(code, "indented\n");
            }
            other => panic!("expected indented code, got {other:?}"),
        }
    }

    #[test]
    fn emphasis_nesting_and_strike() {
        let doc = parse("***both*** and **bold _it_** ~~gone~~ a  \nb");
        let Block::Paragraph(inl) = &doc[0] else {
            panic!("expected paragraph, got {doc:?}");
        };
        assert!(
            matches!(&inl[0], Inline::Emph(c) if matches!(&c[0], Inline::Strong(s) if s == &vec![text("both")]))
                || matches!(&inl[0], Inline::Strong(c) if matches!(&c[0], Inline::Emph(s) if s == &vec![text("both")]))
        );
        assert!(inl.contains(&Inline::Strong(vec![
            text("bold "),
            Inline::Emph(vec![text("it")])
        ])));
        assert!(inl.contains(&Inline::Strike(vec![text("gone")])));
        assert!(inl.contains(&Inline::LineBreak));
    }

    #[test]
    fn raw_html_is_literal_text() {
        let doc = parse("<script>alert(1)</script>\n\npara <img src=x onerror=alert(1)> end\n\n<iframe src=javascript:alert(1)>\n");
        assert_eq!(doc[0], Block::Html("<script>alert(1)</script>\n".into()));
        assert_eq!(
            doc[1],
            Block::Paragraph(vec![
                text("para "),
                Inline::Html("<img src=x onerror=alert(1)>".into()),
                text(" end"),
            ])
        );
        assert_eq!(
            doc[2],
            Block::Html("<iframe src=javascript:alert(1)>\n".into())
        );
        assert!(links(&doc).is_empty());

        // The same payloads on their own line are HTML blocks: still literal text.
        let img = parse("<img src=x onerror=alert(1)>");
        assert_eq!(
            img,
            vec![Block::Html("<img src=x onerror=alert(1)>".into())]
        );
        assert_eq!(plain_text(&img), "<img src=x onerror=alert(1)>");

        let a = parse("<a href=\"javascript:alert(1)\">x</a>");
        assert!(
            links(&a).is_empty(),
            "raw <a> must not become a link: {a:?}"
        );
        assert_eq!(plain_text(&a), "<a href=\"javascript:alert(1)\">x</a>");
        let inline_a = parse("hi <a href=\"javascript:alert(1)\">x</a>");
        assert!(links(&inline_a).is_empty());
        assert_eq!(
            inline_a,
            vec![Block::Paragraph(vec![
                text("hi "),
                Inline::Html("<a href=\"javascript:alert(1)\">".into()),
                text("x"),
                Inline::Html("</a>".into()),
            ])]
        );
    }

    #[test]
    fn hostile_links_lose_their_target() {
        let payloads = [
            "[x](javascript:alert(1))",
            "[x](JaVaScRiPt:alert(1))",
            "[x]( javascript:alert(1))",
            "[x](java&#x09;script:alert(1))",
            "[x](javascript&#58;alert(1))",
            "[x](<javascript:alert(1)>)",
            "[x](data:text/html,<script>)",
            "[x](vbscript:msgbox)",
            "[x](file:///etc/passwd)",
            "[x](//evil.com)",
            "[x](\\\\evil.com)",
            "[x][r]\n\n[r]: javascript:alert(1)",
            "<javascript:alert(1)>",
            "![i](javascript:alert(1))",
            "![i](data:image/svg+xml,<svg onload=alert(1)>)",
        ];
        for p in payloads {
            let doc = parse(p);
            assert_all_urls_safe(&doc);
            let found = links(&doc);
            assert!(
                found.iter().all(|l| matches!(
                    l,
                    Inline::Link { href: None, .. } | Inline::Image { src: None, .. }
                )),
                "{p}: {found:?}"
            );
        }
        assert_eq!(
            links(&parse("![i](javascript:alert(1))")),
            vec![Inline::Image {
                src: None,
                alt: "i".into()
            }]
        );
    }

    #[test]
    fn safe_url_allow_list() {
        assert_eq!(
            safe_url("https://a.b/c?d=1#e").as_deref(),
            Some("https://a.b/c?d=1#e")
        );
        assert_eq!(safe_url("  HTTP://A.B \n").as_deref(), Some("http://A.B"));
        assert_eq!(
            safe_url("\u{1}mailto:x@y.z").as_deref(),
            Some("mailto:x@y.z")
        );
        assert_eq!(
            safe_url("https://a.b/x y\"<>").as_deref(),
            Some("https://a.b/x%20y%22%3C%3E")
        );
        for bad in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            " javascript:alert(1)",
            "java\tscript:alert(1)",
            "java\nscript:alert(1)",
            "javascript&#58;alert(1)",
            "&#106;avascript:alert(1)",
            "vbscript:x",
            "data:text/html,<script>",
            "file:///etc/passwd",
            "//evil.com",
            "/relative",
            "relative/path",
            "#frag",
            "",
            "http://",
            "https:///evil",
            "https:\\\\evil",
            "ht\ttp://x",
            "https://a\u{0}b",
            "mailto:",
            "ｊavascript:x",
        ] {
            assert_eq!(safe_url(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn plain_text_of_mixed_document() {
        let doc = parse(
            "# T\n\nA *b* [c](https://x.y)\n\n> q\n\n```\ncode\n```\n\n---\n\n1. one\n2. two\n",
        );
        assert_eq!(
            plain_text(&doc),
            "T\n\nA b c\n\nq\n\ncode\n\n---\n\n1. one\n2. two"
        );
        assert_eq!(plain_text(&[]), "");
    }

    const RICH: &str = "# Title ✨ with `code`\n\nSome *emph*, **strong**, ~~strike~~ and [a link](https://example.com \"t\").\nA hard break  \nand é unicode — ü 日本語.\n\n> Quote with a list:\n> 1. one\n> 2. two\n>    ```rust\n>    let x = \"s\";\n>    ```\n\n- [x] task\n- [ ] open\n  - nested *item*\n\n| left | center | right |\n|:-----|:------:|------:|\n| a | `b` | [c](http://c.d) |\n| ![img](https://i/x.png) | <b>raw</b> | 3 |\n\n```python\ndef f(x):\n    return \"\"\"doc\"\"\" # c\n```\n\n<div onclick=\"alert(1)\">\n<script>alert(1)</script>\n</div>\n\n***\n\n[ref]: javascript:alert(1)\n[bad][ref] and <https://auto.link> and <me@mail.org>\n\n    indented code\n\nTrailing ``unterminated inline\n\n```js\nconst a = `tpl";

    #[test]
    fn every_prefix_of_a_rich_document_parses() {
        for (idx, _) in RICH.char_indices().chain([(RICH.len(), ' ')]) {
            let prefix = &RICH[..idx];
            let doc = parse(prefix);
            assert_all_urls_safe(&doc);
            // Plain text never invents content: it is bounded by the input.
            assert!(
                plain_text(&doc).len() <= prefix.len() * 2 + 16,
                "{prefix:?}"
            );
        }
        let full = parse(RICH);
        assert!(
            matches!(full.last(), Some(Block::CodeBlock { lang: Some(l), code, .. }) if l == "js" && code == "const a = `tpl")
        );
        assert!(full.iter().any(|b| matches!(b, Block::Table { .. })));
        assert!(full
            .iter()
            .any(|b| matches!(b, Block::Html(h) if h.contains("<script>"))));
    }

    #[test]
    fn pathological_inputs_do_not_panic() {
        let deep_quotes = ">".repeat(5_000) + " deep";
        let deep_lists = (0..300)
            .map(|i| format!("{}- x\n", "  ".repeat(i)))
            .collect::<String>();
        let brackets = "[".repeat(5_000) + &"](x)".repeat(100);
        let emph = "*_".repeat(5_000);
        for doc in [deep_quotes, deep_lists, brackets, emph] {
            let blocks = parse(&doc);
            assert!(!blocks.is_empty());
            assert_all_urls_safe(&blocks);
        }
        assert!(parse("").is_empty());
    }

    /// Depth of the block tree (quotes and lists).
    fn depth(blocks: &[Block]) -> usize {
        blocks
            .iter()
            .map(|b| match b {
                Block::Quote(inner) => 1 + depth(inner),
                Block::List { items, .. } => 1 + items.iter().map(|i| depth(i)).max().unwrap_or(0),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    fn inline_depth(inlines: &[Inline]) -> usize {
        inlines
            .iter()
            .map(|i| match i {
                Inline::Emph(c) | Inline::Strong(c) | Inline::Strike(c) => 1 + inline_depth(c),
                Inline::Link { children, .. } => 1 + inline_depth(children),
                _ => 0,
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn hostile_nesting_is_flattened_but_kept() {
        let doc = parse(&(">".repeat(100_000) + " deep"));
        assert_eq!(depth(&doc), MAX_NESTING);
        assert_eq!(plain_text(&doc), "deep");

        let lists: String = (0..200)
            .map(|i| format!("{}- l{i}\n", "  ".repeat(i)))
            .collect();
        let doc = parse(&lists);
        assert!(depth(&doc) <= MAX_NESTING, "depth {}", depth(&doc));
        let text = plain_text(&doc);
        assert!(text.contains("l0") && text.contains("l199"), "{text}");

        let emph = "*a ".repeat(200) + "x" + &" b*".repeat(200);
        let doc = parse(&emph);
        let Some(Block::Paragraph(inl)) = doc.first() else {
            panic!("expected paragraph, got {doc:?}");
        };
        assert!(
            inline_depth(inl) <= MAX_NESTING,
            "depth {}",
            inline_depth(inl)
        );
        assert!(plain_text(&doc).contains('x'));

        let links = "[".repeat(100) + "x" + &"](http://a)".repeat(100);
        let doc = parse(&links);
        let Some(Block::Paragraph(inl)) = doc.first() else {
            panic!("expected paragraph, got {doc:?}");
        };
        assert!(inline_depth(inl) <= MAX_NESTING);
        assert_all_urls_safe(&doc);
    }
}
