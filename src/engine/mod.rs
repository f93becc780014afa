//! The engine: everything that is not UI. Domain types, the SQLite store, provider clients,
//! stream decoding, markdown, import/export. Nothing here imports dioxus, so it is tested and
//! reused (CLI, benchmarks) without a window.

pub mod attachments;
pub mod chat;
pub mod error;
pub mod highlight;
pub mod idn;
pub mod json;
pub mod markdown;
pub mod model;
pub mod opencode;
pub mod portability;
pub mod providers;
pub mod redact;
pub mod rt;
pub mod sse;
pub mod store;
pub mod sync;
pub mod update;
pub mod version;
pub mod wire;

pub use error::{Error, Result};
