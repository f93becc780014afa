//! Fuzz target for model output → what the user sees: markdown → the engine's safe AST → the
//! app's own `Markdown` component rendered to HTML (dioxus-ssr). Model output is hostile, so
//! whatever the bytes:
//! - every link or image target in the AST is an absolute http(s)/mailto URL that `safe_url`
//!   keeps as it is, and raw HTML stays literal text;
//! - the rendered HTML holds only the elements and attributes the component itself writes: no
//!   `script` (or any other element a reply could smuggle in), no event-handler attribute, no
//!   `href` other than http(s)/mailto.
//!
//! Streaming replies are parsed prefix by prefix, so a prefix of the input is checked too.
#![no_main]

use dioxus::prelude::*;
use libfuzzer_sys::fuzz_target;

use opencode_nexus::components::markdown::{Markdown, MarkdownProps};
use opencode_nexus::engine::markdown::{parse, safe_url, Block, Inline};
use opencode_nexus::platform::{memory, Services};

/// The elements the component and its icons write.
const ELEMENTS: &[&str] = &[
    "div", "p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "code", "span", "blockquote", "ul",
    "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "hr", "br", "em", "strong", "del",
    "a", "button", "svg", "path",
];
/// The attributes they carry.
const ATTRIBUTES: &[&str] = &[
    "class", "href", "title", "rel", "start", "tabindex", "aria-label", "aria-hidden",
    "viewBox", "width", "height", "fill", "stroke", "stroke-width", "stroke-linecap",
    "stroke-linejoin", "d", "data-node-hydration",
];

fn check_url(url: &str) {
    assert_eq!(safe_url(url).as_deref(), Some(url), "unsafe or unclean URL {url:?}");
}

fn check_inlines(inlines: &[Inline]) {
    for inline in inlines {
        match inline {
            Inline::Emph(c) | Inline::Strong(c) | Inline::Strike(c) => check_inlines(c),
            Inline::Link { href, children, .. } => {
                if let Some(h) = href {
                    check_url(h);
                }
                check_inlines(children);
            }
            Inline::Image { src: Some(s), .. } => check_url(s),
            _ => {}
        }
    }
}

fn check_blocks(blocks: &[Block]) {
    for block in blocks {
        match block {
            Block::Heading { inlines, .. } | Block::Paragraph(inlines) => check_inlines(inlines),
            Block::Quote(b) => check_blocks(b),
            Block::List { items, .. } => items.iter().for_each(|i| check_blocks(i)),
            Block::Table { head, rows, .. } => {
                head.iter().for_each(|c| check_inlines(c));
                rows.iter().flatten().for_each(|c| check_inlines(c));
            }
            Block::CodeBlock { code, spans, .. } => {
                for s in spans {
                    assert!(s.start <= s.end && code.get(s.start..s.end).is_some());
                }
            }
            _ => {}
        }
    }
}

/// Walks the rendered HTML tag by tag. Text and attribute values are escaped by the renderer,
/// so every `<` starts a tag or a comment.
fn check_html(html: &str) {
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at + 1..];
        if let Some(comment) = rest.strip_prefix("!--") {
            let end = comment.find("-->").expect("unterminated comment");
            rest = &comment[end + 3..];
            continue;
        }
        let end = rest.find('>').expect("unterminated tag");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        let tag = tag.strip_prefix('/').unwrap_or(tag).trim_end_matches('/');
        let mut words = tag.splitn(2, char::is_whitespace);
        let name = words.next().unwrap_or_default();
        assert!(ELEMENTS.contains(&name), "element <{name}> in {html}");
        let mut attrs = words.next().unwrap_or_default().trim();
        while !attrs.is_empty() {
            let eq = attrs.find('=').unwrap_or(attrs.len());
            let attr = attrs[..eq].trim();
            assert!(ATTRIBUTES.contains(&attr), "attribute {attr:?} on <{name}> in {html}");
            let after = attrs[eq..].trim_start_matches('=');
            let value_and_rest = after.strip_prefix('"').expect("quoted attribute value");
            let close = value_and_rest.find('"').expect("closed attribute value");
            let value = &value_and_rest[..close];
            if attr == "href" {
                let lower = value.to_ascii_lowercase();
                assert!(
                    lower.starts_with("https://")
                        || lower.starts_with("http://")
                        || lower.starts_with("mailto:"),
                    "href {value:?} in {html}"
                );
            }
            attrs = value_and_rest[close + 1..].trim_start();
        }
    }
}

thread_local! {
    static SERVICES: Services = memory::services();
}

fn render(text: &str) -> String {
    let services = SERVICES.with(Services::clone);
    let mut dom = VirtualDom::new_with_props(
        Markdown,
        MarkdownProps {
            text: text.to_owned(),
        },
    )
    .with_root_context(services);
    dom.rebuild_in_place();
    dioxus_ssr::render(&dom)
}

fuzz_target!(|bytes: &[u8]| {
    let text = String::from_utf8_lossy(bytes);
    let cut = text.floor_char_boundary(text.len() / 2);
    for t in [&text[..cut], &text[..]] {
        check_blocks(&parse(t));
        check_html(&render(t));
    }
});
