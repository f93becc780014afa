//! The few runtime primitives the engine needs (sleep, timeout), on tokio natively and on
//! browser timers in wasm, so engine code is written once for both.

use std::future::Future;
use std::time::Duration;

use futures_util::future::{select, Either};

pub async fn sleep(duration: Duration) {
    #[cfg(not(target_family = "wasm"))]
    tokio::time::sleep(duration).await;
    #[cfg(target_family = "wasm")]
    gloo_timers::future::sleep(duration).await;
}

/// `None` when `duration` passed before `fut` finished (the future is dropped).
pub async fn timeout<F: Future>(duration: Duration, fut: F) -> Option<F::Output> {
    let fut = std::pin::pin!(fut);
    let timer = std::pin::pin!(sleep(duration));
    match select(fut, timer).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

/// A monotonic clock for rate limiting (persisting progress every N ms).
#[derive(Clone, Copy)]
pub struct Instant(f64);

impl Instant {
    pub fn now() -> Self {
        #[cfg(not(target_family = "wasm"))]
        {
            use std::sync::OnceLock;
            static START: OnceLock<std::time::Instant> = OnceLock::new();
            let start = START.get_or_init(std::time::Instant::now);
            Instant(start.elapsed().as_secs_f64() * 1000.0)
        }
        #[cfg(target_family = "wasm")]
        {
            Instant(js_sys::Date::now())
        }
    }

    pub fn elapsed(&self) -> Duration {
        Duration::from_secs_f64(((Instant::now().0 - self.0).max(0.0)) / 1000.0)
    }
}
