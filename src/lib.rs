//! OpenCode Nexus: a fast, private AI chat client for OpenCode servers and OpenAI-compatible
//! APIs, on desktop, mobile and the web.
//!
//! - [`engine`] — domain, storage, providers; no UI.
//! - [`platform`] — the host services (store, secrets, settings, HTTP, shell) as small traits
//!   with one implementation per target.
//! - [`state`] — UI state and the long-lived controllers (chat, OpenCode hub, data jobs); no
//!   markup.
//! - [`app`], [`views`], [`components`] — the Dioxus face, the same tree on every target: they
//!   render state and send intents.

pub mod engine;
pub mod platform;

pub mod state;

pub mod app;
pub mod components;
pub mod crash;
pub mod views;

#[cfg(feature = "native")]
pub mod cli;
#[cfg(feature = "native")]
pub mod logging;
#[cfg(feature = "native")]
pub mod maintenance;
