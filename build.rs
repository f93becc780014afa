//! Stamps the binary with its git commit, build date and release channel for `--version`, the
//! About panel and crash reports.

use std::process::Command;

fn main() {
    // Builds from a source tarball (no .git) can pass the commit in.
    let commit = std::env::var("NEXUS_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=10", "HEAD"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".into());
    // Reproducible builds set SOURCE_DATE_EPOCH; otherwise the build machine's clock.
    let epoch: i64 = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs() as i64)
                .unwrap_or(0)
        });
    let days = epoch.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let channel = std::env::var("NEXUS_CHANNEL").unwrap_or_else(|_| "dev".into());
    println!("cargo:rustc-env=NEXUS_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=NEXUS_BUILD_DATE={y:04}-{m:02}-{d:02}");
    println!("cargo:rustc-env=NEXUS_CHANNEL={channel}");
    println!("cargo:rerun-if-env-changed=NEXUS_CHANNEL");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=.git/HEAD");
    // HEAD names a branch; a commit moves the branch, not HEAD, so watch the branch too.
    if let Ok(head) = std::fs::read_to_string(".git/HEAD") {
        if let Some(branch) = head.trim().strip_prefix("ref: ") {
            println!("cargo:rerun-if-changed=.git/{branch}");
        }
    }
    // Only files that exist: cargo reruns a build script whose watched file is missing on
    // every build, which would rebuild the crate each time.
    if std::path::Path::new(".git/packed-refs").exists() {
        println!("cargo:rerun-if-changed=.git/packed-refs");
    }
    println!("cargo:rerun-if-env-changed=NEXUS_GIT_COMMIT");
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}
