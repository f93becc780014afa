//! Start-up notices above the views: a crash report left by an earlier run (view it, keep it,
//! or delete it; it never leaves the device) and, only when the user turned update checks on,
//! a newer signed release. Also marks the first rendered frame for the start-up time in
//! diagnostics.

use dioxus::prelude::*;

use crate::state::{use_app_state, use_services};

#[component]
pub fn StartupNotices() -> Element {
    let services = use_services();
    let state = use_app_state();
    // Names of crash reports not yet dealt with, and the one being viewed (name, text).
    let mut reports = use_signal(Vec::<String>::new);
    let mut viewing = use_signal(|| None::<(String, String)>);
    let mut update_note = use_signal(|| None::<String>);
    let mut update_checked = use_signal(|| false);

    use_effect(|| {
        crate::platform::vitals::mark_first_render();
        // The start-up trace in the log: main → first render applied → its frame painted.
        spawn(async {
            let mut frame = document::eval(crate::platform::vitals::FIRST_FRAME_JS);
            let page = frame.recv::<[i64; 4]>().await.unwrap_or([-1; 4]);
            let ms = |v: Option<u64>| v.map_or(-1, |v| v as i64);
            crate::platform::vitals::report(
                "first frame painted",
                format_args!(
                    "rendered_ms={} painted_ms={} page_applied_ms={} page_painted_ms={} page_loaded_ms={} page_fcp_ms={}",
                    ms(crate::platform::vitals::startup_ms()),
                    ms(crate::platform::vitals::since_start_ms()),
                    page[0], page[1], page[2], page[3],
                ),
            );
        });
    });

    let support = services.support.clone();
    use_hook(move || {
        if crate::platform::KEEPS_FILES {
            spawn(async move {
                reports.set(support.unseen_crash_reports().await);
            });
        }
    });

    // Once settings have loaded: check for updates only if the user asked for it.
    use_effect(move || {
        if !crate::platform::SELF_UPDATES || !(state.loaded)() || *update_checked.peek() {
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
        let updates = services.updates.clone();
        spawn(async move {
            use crate::engine::update::UpdateStatus;
            match updates.check(&client, &url).await {
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
    let support = services.support.clone();
    let dismiss = move |name: String, delete: bool| {
        let support = support.clone();
        spawn(async move {
            let done = if delete {
                support.delete_crash_report(&name).await
            } else {
                support.keep_crash_report(&name).await
            };
            match done {
                Ok(()) => {
                    reports.write().retain(|n| *n != name);
                    viewing.set(None);
                }
                Err(e) => state.toast_error(e),
            }
        });
    };
    let support_read = services.support.clone();
    let first = reports
        .read()
        .first()
        .cloned()
        .filter(|_| crate::platform::KEEPS_FILES);
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
                                let support = support_read.clone();
                                spawn(async move {
                                    let text = support.read_crash_report(&name).await;
                                    viewing.set(Some((name, text)));
                                });
                            }
                        },
                        "View"
                    }
                    button { class: "btn-small", r#type: "button",
                        onclick: { let name = name.clone(); let dismiss = dismiss.clone(); move |_| dismiss(name.clone(), false) },
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

/// The app's toast: the sentence of something that just failed, with Dismiss; it goes by
/// itself after a while.
#[component]
pub fn ToastView() -> Element {
    let state = use_app_state();
    let mut toast = state.toast;
    let current = toast.read().clone();
    let serial = current.as_ref().map(|t| t.serial);
    use_effect(use_reactive!(|serial| {
        if let Some(serial) = serial {
            spawn(async move {
                crate::engine::rt::sleep(std::time::Duration::from_secs(10)).await;
                if toast.peek().as_ref().map(|t| t.serial) == Some(serial) {
                    toast.set(None);
                }
            });
        }
    }));
    rsx! {
        if let Some(t) = current {
            div { class: "toast app-toast", role: "alert",
                span { "{t.text}" }
                button { class: "btn-small", r#type: "button", onclick: move |_| toast.set(None), "Dismiss" }
            }
        }
    }
}
