//! The three views. Each owns its data loading and effects and hands owned props to the
//! presentational components.

pub mod approvals;
pub mod chat;
pub mod data;
pub mod history;
pub mod presets;
pub mod session;
pub mod sessions;
pub mod settings;
pub mod sidebar;
pub mod sync;

pub use chat::ChatView;
pub use history::HistoryView;
pub use settings::SettingsView;
