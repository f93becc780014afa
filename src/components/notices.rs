//! Start-up notices above the views: a crash report left by an earlier run (view it, keep it,
//! or delete it; it never leaves the device) and, only when the user turned update checks on,
//! a newer signed release. Also marks the first rendered frame for the start-up time in
//! diagnostics.

use dioxus::prelude::*;

use crate::app::{use_app_state, use_services};

#[component]
pub fn StartupNotices() -> Element {
    let services = use_services();
    let state = use_app_state();
    // Names of crash reports not yet dealt with, and the one being viewed (name, text).
    let mut reports = use_signal(Vec::<String>::new);
    let mut viewing = use_signal(|| None::<(String, String)>);
    let mut update_note = use_signal(|| None::<String>);
    let mut update_checked = use_signal(|| false);

    use_effect(crate::platform::vitals::mark_first_render);

    use_hook(move || {
        spawn(async move {
            reports.set(unseen_reports().await);
        });
    });

    // Once settings have loaded: check for updates only if the user asked for it.
    use_effect(move || {
        if !(state.loaded)() || *update_checked.peek() {
            return;
        }
        update_checked.set(true);
        let settings = state.settings.peek().clone();
        let Some(url) = settings
            .update_url
            .filter(|u| settings.check_updates && !u.is_empty())
        else {
            return;
        };
        let client = services.http.client();
        spawn(async move {
            use crate::engine::update::{self, UpdateStatus};
            match update::check(
                &client,
                &url,
                crate::engine::version::VERSION,
                &update::UPDATE_PUBLIC_KEY,
            )
            .await
            {
                Ok(status @ UpdateStatus::Available(_)) => update_note.set(Some(format!(
                    "{} See Settings → Updates for the notes and the download.",
                    status.summary()
                ))),
                Ok(UpdateStatus::UpToDate { .. }) => {}
                // A failed background check is not worth interrupting the user; Settings shows
                // it on "Check now".
                Err(e) => tracing::info!(error = %e, "update check at start-up failed"),
            }
        });
    });

    // Keep (marked seen) or delete a report, then take its banner away.
    let dismiss = move |name: String, delete: bool| {
        spawn(async move {
            if delete {
                delete_report(name.clone()).await;
            } else {
                keep_report(name.clone()).await;
            }
            reports.write().retain(|n| *n != name);
            viewing.set(None);
        });
    };
    let first = reports.read().first().cloned();
    rsx! {
        if let Some(name) = first {
            div { class: "banner banner-warn", role: "status", "aria-live": "polite",
                span {
                    "OpenCode Nexus closed unexpectedly last time. A crash report was saved on this device (nothing was sent)."
                }
                span { class: "form-actions",
                    button { class: "btn-small", r#type: "button",
                        onclick: {
                            let name = name.clone();
                            move |_| {
                                let name = name.clone();
                                spawn(async move {
                                    let text = read_report(name.clone()).await;
                                    viewing.set(Some((name, text)));
                                });
                            }
                        },
                        "View"
                    }
                    button { class: "btn-small", r#type: "button",
                        onclick: { let name = name.clone(); move |_| dismiss(name.clone(), false) },
                        "Keep"
                    }
                    button { class: "btn-small danger", r#type: "button",
                        onclick: { let name = name.clone(); move |_| dismiss(name.clone(), true) },
                        "Delete"
                    }
                }
            }
        }
        if let Some((name, text)) = viewing() {
            section { class: "prompt-card crash-report", "aria-label": "Crash report {name}",
                h3 { "{name}" }
                pre { class: "mono", "{text}" }
            }
        }
        if let Some(note) = update_note() {
            div { class: "banner banner-warn", role: "status",
                span { "{note}" }
                button { class: "btn-small", r#type: "button", onclick: move |_| update_note.set(None), "Dismiss" }
            }
        }
    }
}

// The report files live in the data directory (desktop and mobile); file I/O runs on the
// blocking pool, not the UI thread. The browser keeps no crash reports.

#[cfg(feature = "native")]
fn crash_dir() -> Option<std::path::PathBuf> {
    crate::platform::data_dirs().map(|d| d.crash_reports())
}

#[cfg(feature = "native")]
async fn on_disk<T: Send + 'static>(
    f: impl FnOnce(&std::path::Path) -> T + Send + 'static,
) -> Option<T> {
    let dir = crash_dir()?;
    tokio::task::spawn_blocking(move || f(&dir)).await.ok()
}

#[cfg(feature = "native")]
async fn unseen_reports() -> Vec<String> {
    on_disk(|d| {
        crate::crash::unseen(d)
            .into_iter()
            .map(|r| r.name)
            .collect()
    })
    .await
    .unwrap_or_default()
}

#[cfg(feature = "native")]
async fn read_report(name: String) -> String {
    on_disk(move |d| {
        crate::crash::read(d, &name)
            .unwrap_or_else(|e| format!("The report could not be read: {e}."))
    })
    .await
    .unwrap_or_default()
}

#[cfg(feature = "native")]
async fn keep_report(name: String) {
    let _ = on_disk(move |d| crate::crash::mark_seen(d, &name)).await;
}

#[cfg(feature = "native")]
async fn delete_report(name: String) {
    let _ = on_disk(move |d| crate::crash::delete(d, &name)).await;
}

#[cfg(not(feature = "native"))]
async fn unseen_reports() -> Vec<String> {
    Vec::new()
}

#[cfg(not(feature = "native"))]
async fn read_report(_name: String) -> String {
    String::new()
}

#[cfg(not(feature = "native"))]
async fn keep_report(_name: String) {}

#[cfg(not(feature = "native"))]
async fn delete_report(_name: String) {}
