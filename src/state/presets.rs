//! Presets as Settings edits them: saving one (checked first, nothing saved when a value is
//! out of range) and removing one; the list the app holds is read again after each.

use crate::engine::error::Result;
use dioxus::prelude::*;

use crate::engine::model::{now_ms, Preset};
use crate::platform::Services;
use crate::state::chat::ChatController;
use crate::state::AppState;

/// Save a preset the editor holds (new or edited), then reload the list. A new default
/// preset also applies to the chat about to start, if none was chosen for it.
pub async fn save(
    state: AppState,
    chat: ChatController,
    services: &Services,
    preset: Preset,
) -> Result<()> {
    let mut preset = preset;
    preset.name = preset.name.trim().to_owned();
    preset.system_prompt = preset.system_prompt.filter(|s| !s.trim().is_empty());
    preset.model = preset
        .model
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty());
    preset.updated_at = now_ms();
    preset.validate()?;
    services.store.save_preset(preset.clone()).await?;
    state.reload_presets(services).await;
    if preset.is_default && chat.conversation.peek().is_none() && chat.new_preset.peek().is_none() {
        chat.choose_preset(Some(&preset));
    }
    Ok(())
}

/// Remove a preset; conversations started from it keep their own settings.
pub async fn remove(state: AppState, services: &Services, id: String) -> Result<()> {
    services.store.delete_preset(id).await?;
    state.reload_presets(services).await;
    Ok(())
}
