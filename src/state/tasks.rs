//! Background tasks of the UI state that can be stopped safely.
//!
//! Dioxus 0.7's scheduler hangs (its task loop spins at 100% CPU, the window stops responding)
//! when a task is removed while its wake-up is already queued: `Task::cancel` empties the
//! scope's queue entry without removing it, and `VirtualDom::poll_tasks` then loops on the
//! empty entry forever. A frame pump cancelled right as its 16 ms timer fired did exactly that
//! after fast replies, in the release build where the timing lines up. (Dioxus 0.8 skips empty
//! entries.)
//!
//! So tasks here are never cancelled: [`spawn_stoppable`] wraps the future in an abort
//! registration, and [`Stopper::stop`] wakes the task, which then ends by itself on its next
//! poll, leaving the scheduler the normal way. `clippy.toml` forbids `Task::cancel`.

use dioxus::core::spawn_forever;
use futures_util::future::{AbortHandle, Abortable};

/// Ends a task started by [`spawn_stoppable`]; dropping it does not stop the task.
#[derive(Clone, Debug)]
pub struct Stopper(AbortHandle);

impl Stopper {
    /// The task stops at its next poll, without running its future again.
    pub fn stop(&self) {
        self.0.abort();
    }

    pub fn is_stopped(&self) -> bool {
        self.0.is_aborted()
    }
}

/// Run `fut` in the root scope (it outlives the component that starts it) until it finishes or
/// is stopped.
pub fn spawn_stoppable(fut: impl std::future::Future<Output = ()> + 'static) -> Stopper {
    let (handle, registration) = AbortHandle::new_pair();
    spawn_forever(async move {
        let _ = Abortable::new(fut, registration).await;
    });
    Stopper(handle)
}

/// Like `use_resource`, without its hazard: re-running (a dependency changed) or unmounting
/// never cancels a task, it stops it ([`Stopper`]). `make` reads its signals synchronously
/// (those reads are what re-runs it) and returns the future; the signal holds the latest
/// finished result, and results of superseded runs are dropped.
pub fn use_latest<T, F>(mut make: impl FnMut() -> F + 'static) -> dioxus::prelude::Signal<Option<T>>
where
    T: 'static,
    F: std::future::Future<Output = T> + 'static,
{
    use dioxus::prelude::*;
    let mut value = use_signal(|| None::<T>);
    let running = use_hook(|| std::rc::Rc::new(std::cell::RefCell::new(None::<Stopper>)));
    let on_drop = running.clone();
    use_drop(move || {
        if let Some(s) = on_drop.borrow_mut().take() {
            s.stop();
        }
    });
    use_effect(move || {
        let fut = make();
        if let Some(previous) = running.borrow_mut().take() {
            previous.stop();
        }
        let stopper = spawn_stoppable(async move {
            let v = fut.await;
            value.set(Some(v));
        });
        *running.borrow_mut() = Some(stopper);
    });
    value
}
