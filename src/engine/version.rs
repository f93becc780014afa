//! Build identity: version, git commit, build date and channel, stamped in by `build.rs`.

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const GIT_COMMIT: &str = env!("NEXUS_GIT_COMMIT");
pub const BUILD_DATE: &str = env!("NEXUS_BUILD_DATE");
pub const CHANNEL: &str = env!("NEXUS_CHANNEL");

/// `0.1.0 (abc1234567, 2026-11-22, dev)`
pub const VERSION_LINE: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("NEXUS_GIT_COMMIT"),
    ", ",
    env!("NEXUS_BUILD_DATE"),
    ", ",
    env!("NEXUS_CHANNEL"),
    ")"
);
