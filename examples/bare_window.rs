//! The baseline for the start-up and idle-memory budgets: a bare Dioxus 0.7 desktop window of
//! the same size and configuration as the app's, showing one line of text. `scripts/bench.sh`
//! starts it and the app alternately under Xvfb and compares them.

use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;

fn main() {
    let window = WindowBuilder::new()
        .with_title("Bare Dioxus window")
        .with_inner_size(LogicalSize::new(1100.0, 760.0));
    dioxus::LaunchBuilder::new()
        .with_cfg(Config::new().with_window(window).with_menu(None))
        .launch(app);
}

fn app() -> Element {
    rsx! { p { "A bare Dioxus window." } }
}
