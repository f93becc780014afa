//! OpenCode Nexus: a fast, private AI chat client for OpenCode servers and OpenAI-compatible
//! APIs, on desktop, mobile and the web.
//!
//! - [`engine`] — domain, storage, providers; no UI.
//! - [`platform`] — the host services (store, secrets, settings, HTTP, shell) as small traits
//!   with one implementation per target.
//! - [`app`], [`views`], [`components`] — the Dioxus face, the same tree on every target.

pub mod engine;
pub mod platform;

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
#[cfg(feature = "native")]
pub mod serve_web;
