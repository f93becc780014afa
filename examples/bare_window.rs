//! The baseline for the start-up and idle-memory budgets: a bare Dioxus 0.7 desktop window of
//! the same size and configuration as the app's, showing one line of text. `scripts/bench.sh`
//! starts it and the app alternately under Xvfb and compares them. It prints the same two
//! start-up trace lines as the app (root component created, first frame painted; milliseconds
//! since `main`), so the benchmark can say where the app's extra time goes.

use std::sync::OnceLock;
use std::time::Instant;

use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;

static START: OnceLock<Instant> = OnceLock::new();

fn since_start_ms() -> u128 {
    START.get().map(|s| s.elapsed().as_millis()).unwrap_or(0)
}

fn main() {
    START.get_or_init(Instant::now);
    let window = WindowBuilder::new()
        .with_title("Bare Dioxus window")
        .with_inner_size(LogicalSize::new(1100.0, 760.0));
    dioxus::LaunchBuilder::new()
        .with_cfg(Config::new().with_window(window).with_menu(None))
        .launch(app);
}

fn app() -> Element {
    use_hook(|| eprintln!("root component created ms={}", since_start_ms()));
    use_effect(|| {
        spawn(async {
            let mut frame = document::eval(opencode_nexus::platform::vitals::FIRST_FRAME_JS);
            let page = frame.recv::<[i64; 4]>().await.unwrap_or([-1; 4]);
            eprintln!(
                "first frame painted painted_ms={} page_applied_ms={} page_painted_ms={} page_loaded_ms={} page_fcp_ms={}",
                since_start_ms(),
                page[0],
                page[1],
                page[2],
                page[3]
            );
        });
    });
    rsx! { p { "A bare Dioxus window." } }
}
