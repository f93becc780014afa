//! Stroke icons drawn on a 24×24 grid, inline SVG: no icon font or emoji font is needed, so
//! they render the same on every platform (a minimal Linux or a phone browser included).

use dioxus::prelude::*;

pub const CHAT: &str = "M4 5h16v11H9l-5 4z";
pub const HISTORY: &str = "M3 12a9 9 0 1 0 3-6.7M3 4v4h4M12 7v5l3 3";
pub const SETTINGS: &str = "M12 9a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z";
pub const PIN: &str = "M9 4h6l-1 6 4 4H6l4-4zM12 14v7";
pub const UNPIN: &str = "M9 4h6l-1 6 4 4H6l4-4zM12 14v7M4 4l16 16";
pub const RENAME: &str = "M4 20h4L19 9l-4-4L4 16zM13 7l4 4";
pub const ARCHIVE: &str = "M3 4h18v4H3zM5 8v12h14V8M10 12h4";
/// The archive box with an arrow leaving it upwards: Archive and Unarchive must not look alike.
pub const UNARCHIVE: &str = "M3 4h18v4H3zM5 8v12h14V8M12 18v-6M9 15l3-3 3 3";
pub const DELETE: &str = "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6";
pub const EXPORT: &str = "M12 4v11M7 10l5 5 5-5M5 20h14";
/// Approvals: a shield with a check.
pub const SHIELD: &str = "M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6zM9 12l2 2 4-4";
pub const IMAGE: &str = "M4 5h16v14H4zM4 16l5-5 4 4 3-3 4 4M15 9h.01";
/// An attached text file (a page with a folded corner).
pub const FILE: &str = "M6 3h8l4 4v14H6zM14 3v4h4M9 12h6M9 16h6";

/// A decorative icon; the control that holds it carries the accessible name.
#[component]
pub fn Icon(path: &'static str, #[props(default = 18)] size: u32) -> Element {
    rsx! {
        svg {
            class: "icon",
            "aria-hidden": "true",
            view_box: "0 0 24 24",
            width: "{size}",
            height: "{size}",
            fill: "none",
            stroke: "currentColor",
            stroke_width: "1.8",
            stroke_linecap: "round",
            stroke_linejoin: "round",
            path { d: path }
        }
    }
}
