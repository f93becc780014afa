//! Renders a reply's markdown from the engine's safe AST, element by element. No HTML string
//! from a model ever reaches the DOM: raw HTML arrives as text, links only carry vetted
//! http(s)/mailto URLs and open in the system browser, images are shown as links.

use dioxus::prelude::*;

use super::icons::{self, Icon};
use crate::engine::markdown::{self, Align, Block, Inline};
use crate::state::use_services;

#[component]
pub fn Markdown(text: String) -> Element {
    let blocks = use_memo(use_reactive!(|text| markdown::parse(&text)));
    let blocks = blocks.read();
    rsx! {
        div { class: "md",
            for (i, block) in blocks.iter().enumerate() {
                BlockView { key: "{i}", block: block.clone() }
            }
        }
    }
}

#[component]
fn BlockView(block: Block) -> Element {
    match block {
        Block::Heading { level, inlines } => {
            let body = rsx! { Inlines { inlines } };
            match level {
                1 => rsx! { h1 { {body} } },
                2 => rsx! { h2 { {body} } },
                3 => rsx! { h3 { {body} } },
                4 => rsx! { h4 { {body} } },
                5 => rsx! { h5 { {body} } },
                _ => rsx! { h6 { {body} } },
            }
        }
        Block::Paragraph(inlines) => rsx! { p { Inlines { inlines } } },
        Block::CodeBlock { lang, code, spans } => rsx! { CodeBlock { lang, code, spans } },
        Block::Quote(blocks) => rsx! {
            blockquote {
                for (i, b) in blocks.into_iter().enumerate() { BlockView { key: "{i}", block: b } }
            }
        },
        Block::List {
            ordered,
            start,
            items,
        } => {
            let body = rsx! {
                for (i, item) in items.into_iter().enumerate() {
                    li { key: "{i}",
                        for (j, b) in item.into_iter().enumerate() { BlockView { key: "{j}", block: b } }
                    }
                }
            };
            if ordered {
                rsx! { ol { start: "{start}", {body} } }
            } else {
                rsx! { ul { {body} } }
            }
        }
        Block::Table { align, head, rows } => {
            let class_of = move |i: usize| match align.get(i) {
                Some(Align::Center) => "al-center",
                Some(Align::Right) => "al-right",
                Some(Align::Left) => "al-left",
                _ => "",
            };
            rsx! {
                div { class: "table-wrap",
                    table {
                        thead { tr {
                            for (i, cell) in head.into_iter().enumerate() {
                                th { key: "{i}", class: class_of(i), Inlines { inlines: cell } }
                            }
                        } }
                        tbody {
                            for (r, row) in rows.into_iter().enumerate() {
                                tr { key: "{r}",
                                    for (i, cell) in row.into_iter().enumerate() {
                                        td { key: "{i}", class: class_of(i), Inlines { inlines: cell } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        Block::Rule => rsx! { hr {} },
        Block::Html(raw) => rsx! { pre { class: "raw-html", "{raw}" } },
    }
}

#[component]
fn Inlines(inlines: Vec<Inline>) -> Element {
    rsx! {
        for (i, inline) in inlines.into_iter().enumerate() {
            InlineView { key: "{i}", inline }
        }
    }
}

#[component]
fn InlineView(inline: Inline) -> Element {
    let services = use_services();
    match inline {
        Inline::Text(t) | Inline::Html(t) => rsx! { "{t}" },
        Inline::Code(c) => rsx! { code { class: "inline-code", "{c}" } },
        Inline::Emph(children) => rsx! { em { Inlines { inlines: children } } },
        Inline::Strong(children) => rsx! { strong { Inlines { inlines: children } } },
        Inline::Strike(children) => rsx! { del { Inlines { inlines: children } } },
        Inline::LineBreak => rsx! { br {} },
        Inline::SoftBreak => rsx! { " " },
        Inline::Link {
            href: Some(href),
            title,
            children,
        } => {
            let target = href.clone();
            rsx! {
                a {
                    href: "{href}",
                    title: "{title}",
                    rel: "noopener noreferrer nofollow",
                    onclick: move |e: MouseEvent| {
                        e.prevent_default();
                        if let Err(err) = services.shell.open_url(&target) {
                            tracing::warn!(error = %err, "could not open link");
                        }
                    },
                    Inlines { inlines: children }
                }
            }
        }
        Inline::Link {
            href: None,
            children,
            ..
        } => rsx! {
            span { class: "unsafe-link", title: "Link removed: only http, https and mailto links are allowed", Inlines { inlines: children } }
        },
        Inline::Image { src, alt } => {
            let label = if alt.is_empty() {
                "image".to_owned()
            } else {
                alt
            };
            match src {
                Some(src) => {
                    let target = src.clone();
                    rsx! {
                        a {
                            class: "image-link",
                            href: "{src}",
                            rel: "noopener noreferrer nofollow",
                            onclick: move |e: MouseEvent| {
                                e.prevent_default();
                                let _ = services.shell.open_url(&target);
                            },
                            Icon { path: icons::IMAGE, size: 14 }
                            " {label}"
                        }
                    }
                }
                None => {
                    rsx! { span { class: "unsafe-link", Icon { path: icons::IMAGE, size: 14 } " {label}" } }
                }
            }
        }
    }
}

#[component]
fn CodeBlock(
    lang: Option<String>,
    code: String,
    spans: Vec<crate::engine::highlight::Span>,
) -> Element {
    let services = use_services();
    // Rendered outside the app too (the fuzz target renders replies with the services alone):
    // a failed copy is then only logged.
    let state = try_use_context::<crate::state::AppState>();
    let mut copied = use_signal(|| false);
    let to_copy = code.clone();
    let label = lang.clone().unwrap_or_default();
    rsx! {
        div { class: "code-block",
            div { class: "code-head",
                span { class: "code-lang", "{label}" }
                button {
                    class: "btn-small",
                    "aria-label": "Copy code",
                    // "Copied" until the pointer or the focus leaves the button.
                    onmouseleave: move |_| if *copied.peek() { copied.set(false) },
                    onblur: move |_| if *copied.peek() { copied.set(false) },
                    onclick: move |_| {
                        match services.shell.copy_to_clipboard(&to_copy) {
                            Ok(()) => copied.set(true),
                            Err(e) => match state {
                                Some(state) => state.toast_error(e),
                                None => tracing::warn!(error = %e, "copy failed"),
                            },
                        }
                    },
                    if copied() { "Copied" } else { "Copy" }
                }
            }
            pre { tabindex: "0", code {
                for (i, span) in spans.iter().enumerate() {
                    span { key: "{i}", class: span.kind.css_class(), "{code.get(span.start..span.end).unwrap_or_default()}" }
                }
            } }
        }
    }
}
