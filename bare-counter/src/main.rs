//! The baseline for the browser budgets: a bare Dioxus 0.7 web counter, built by
//! `scripts/build-web.sh` with the same profile, wasm-bindgen and wasm-opt as the app's page
//! module, so the size and first-paint ratios compare like with like.

use dioxus::prelude::*;

fn main() {
    dioxus::launch(app);
}

fn app() -> Element {
    let mut count = use_signal(|| 0);
    rsx! {
        h1 { "Count: {count}" }
        button { onclick: move |_| count += 1, "Up" }
        button { onclick: move |_| count -= 1, "Down" }
    }
}
