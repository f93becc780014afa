//! The history store: one SQLite database per data directory holding backends, conversations,
//! messages (with an FTS5 index), drafts and settings.
//!
//! `Store` is synchronous and owns its connection; it is driven from a single worker (a thread on
//! native, a Web Worker in the browser) through the serializable [`api::Request`] enum, so the UI
//! thread never touches SQLite and both targets share the same SQL.

pub mod api;
#[cfg(feature = "sqlite")]
mod db;
pub mod dump;
#[cfg(feature = "sqlite")]
pub mod schema;
#[cfg(feature = "sqlite")]
pub mod sql_json;
pub mod sync;

#[cfg(feature = "sqlite")]
pub use db::*;
