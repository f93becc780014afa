//! Reusable presentational components. They take owned props and callbacks; data loading and
//! effects belong to the views.

pub mod composer;
pub mod confirm;
pub mod fields;
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

/// An `onmounted` handler that gives the element the focus (`autofocus` does not move a focus
/// already on the page). One function for every element that takes it.
pub fn focus_on_mount(e: dioxus::prelude::MountedEvent) {
    dioxus::prelude::spawn(async move {
        let _ = e.data().set_focus(true).await;
    });
}
pub use message::MessageBubble;
