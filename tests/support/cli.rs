//! Running the real `opencode-nexus` binary on a data directory, as a user would.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// `opencode-nexus --data-dir DATA ARGS…`, with `RUST_LOG` cleared so stderr holds only what
/// the command says to the user.
pub fn nexus(data: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opencode-nexus"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the opencode-nexus binary runs")
}
