//! What the chat and session composers share: which key press sends.

use dioxus::prelude::*;

/// Whether `e` is the send key: Enter (not Shift/Alt+Enter, which add a line, and not while an
/// input method is composing) when `enter_sends`, otherwise Ctrl/Cmd+Enter.
pub fn is_send_key(e: &KeyboardEvent, enter_sends: bool) -> bool {
    if e.key() != Key::Enter {
        return false;
    }
    let mods = e.modifiers();
    if enter_sends {
        !mods.shift() && !mods.alt() && !e.is_composing()
    } else {
        mods.ctrl() || mods.meta()
    }
}
