//! Wire types of the OpenCode server (`opencode serve`, checked against 1.18.33).
//!
//! Everything the chat client sends to or reads from the server lives in this one module so
//! that schema drift has a single place to be fixed. The field names follow the server's JSON
//! exactly (`sessionID`, `messageID`, `providerID`, `modelID`, `callID`), which is why many
//! fields carry explicit renames: serde's `camelCase` would produce `sessionId`.
//!
//! Parsing is deliberately lenient in the directions the server is known to grow:
//! unknown fields are ignored, an unknown part type becomes [`Part::Unknown`] (keeping the raw
//! JSON so nothing is lost), an unknown session status becomes [`SessionStatus::Unknown`], and
//! an unknown event type becomes [`Event::Other`]. A chat client must keep streaming when a
//! newer server adds something, rather than drop the whole event stream.
//!
//! The types are split by topic into private files and re-exported here, so every item is
//! named `api::Foo` whichever file holds it: `common` (timestamps, tokens, model references),
//! `sessions`, `messages`, `parts`, `prompts`, `permissions` (and questions), `providers`
//! (health, providers, agents) and `events`; `de` holds the lenient number readers.

mod common;
mod de;
mod events;
mod messages;
mod parts;
mod permissions;
mod prompts;
mod providers;
mod sessions;

pub use common::*;
pub use events::*;
pub use messages::*;
pub use parts::*;
pub use permissions::*;
pub use prompts::*;
pub use providers::*;
pub use sessions::*;
