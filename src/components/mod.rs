//! Reusable presentational components. They take owned props and callbacks; data loading and
//! effects belong to the views.

pub mod composer;
pub mod confirm;
pub mod icons;
pub mod markdown;
pub mod message;
pub mod nav;
pub mod notices;
pub mod params;
pub mod parts;
pub mod rename;
pub mod shortcuts;

pub use markdown::Markdown;
pub use message::MessageBubble;
