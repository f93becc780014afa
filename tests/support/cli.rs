//! Running the real `opencode-nexus` binary on a data directory, as a user would.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

/// `opencode-nexus --data-dir DATA ARGS…`, with `RUST_LOG` cleared so stderr holds only what
/// the command says to the user.
pub fn nexus(data: &Path, args: &[&str]) -> Output {
    nexus_env(data, args, &[])
}

/// [`nexus`] with environment variables set (secrets are passed by name: `--…-env VAR`).
pub fn nexus_env(data: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_opencode-nexus"))
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .output()
        .expect("the opencode-nexus binary runs")
}

/// `profiles add NAME --kind openai-compatible --url URL`, which must succeed.
pub fn add_openai_profile(data: &Path, name: &str, url: &str) {
    let out = nexus(
        data,
        &[
            "profiles",
            "add",
            name,
            "--kind",
            "openai-compatible",
            "--url",
            url,
        ],
    );
    assert!(
        out.status.success(),
        "profiles add {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run a command that must succeed; its stdout.
pub fn run_ok(data: &Path, args: &[&str]) -> String {
    run_ok_env(data, args, &[])
}

/// [`run_ok`] with environment variables set.
pub fn run_ok_env(data: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = nexus_env(data, args, env);
    assert!(
        out.status.success(),
        "{args:?} failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The JSON a command that must succeed printed.
pub fn json_of(data: &Path, args: &[&str]) -> serde_json::Value {
    serde_json::from_str(&run_ok(data, args)).unwrap()
}

/// What a `chat --json` run that must succeed printed on stderr's last line.
pub fn chat_json(data: &Path, args: &[&str]) -> serde_json::Value {
    let out = nexus(data, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {err}");
    serde_json::from_str(err.lines().last().unwrap()).unwrap()
}

/// The device names `sync status --json` lists.
pub fn device_names(status: &serde_json::Value) -> Vec<&str> {
    status["devices"]
        .as_array()
        .expect("a device list")
        .iter()
        .map(|d| d["name"].as_str().expect("a device name"))
        .collect()
}
