//! The app's renderer modules, compiled from the app's own source files.

#[path = "../../src/engine/highlight.rs"]
pub mod highlight;
#[path = "../../src/engine/markdown.rs"]
pub mod markdown;
