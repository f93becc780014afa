//! `doctor`: version, paths, database health, keychain status, crash reports.

use super::*;

pub(super) async fn doctor(
    services: &Services,
    dirs: &DataDirs,
    json: bool,
    bundle: Option<PathBuf>,
) -> CliResult {
    let mut profiles = Vec::new();
    if let Ok(list) = services.store.list_profiles().await {
        for p in list {
            let r = test_profile(services, &p).await;
            crate::platform::vitals::record_latency(services, &p.name, r.latency_ms as u64).await;
            profiles.push(json!({"name": p.name, "kind": p.kind, "url": p.base_url, "ok": r.ok, "detail": r.detail, "latency_ms": r.latency_ms}));
        }
    }
    // After the profile tests, so their latencies are part of the report.
    let report = crate::platform::ops::diagnostics(services, Some(dirs)).await;
    let healthy = report.database_ok;
    let mut value = serde_json::to_value(&report).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "profiles".into(),
            serde_json::Value::Array(profiles.clone()),
        );
        obj.insert("healthy".into(), healthy.into());
    }
    if let Some(dest) = &bundle {
        let entries = crate::maintenance::write_bundle(services, dirs, &value, dest).await?;
        eprintln!(
            "Wrote {} ({} files: {}). Keys were redacted; read it before attaching it to a bug report.",
            dest.display(),
            entries.len(),
            entries.join(", ")
        );
    }
    if json {
        print_json(&value);
    } else {
        println!("OpenCode Nexus {}", report.version);
        println!(
            "data directory   {}",
            report.data_dir.as_deref().unwrap_or("-")
        );
        println!(
            "database         {} ({} bytes, schema v{})",
            report.database_path.as_deref().unwrap_or("-"),
            report.database_bytes,
            report.schema_version
        );
        println!("integrity        {}", report.integrity);
        println!("conversations    {}", report.conversations);
        println!(
            "log directory    {}",
            report.log_dir.as_deref().unwrap_or("-")
        );
        match &report.secrets {
            SecretStatus::Available { backend } => {
                println!("keychain         available ({backend})")
            }
            SecretStatus::Unavailable { reason } => {
                println!("keychain         UNAVAILABLE: {reason}")
            }
            SecretStatus::DeviceStorage { note } => println!("keychain         none: {note}"),
        }
        for p in &profiles {
            println!(
                "profile          {} ({}): {}",
                p["name"].as_str().unwrap_or(""),
                p["url"].as_str().unwrap_or(""),
                if p["ok"].as_bool() == Some(true) {
                    format!("reachable ({} ms)", p["latency_ms"])
                } else {
                    format!("NOT OK: {}", p["detail"].as_str().unwrap_or(""))
                }
            );
        }
        println!(
            "start-up         {}",
            report
                .startup_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_else(|| "-".into())
        );
        println!(
            "memory           {}",
            report
                .rss_bytes
                .map(|b| format!("{:.1} MB resident", b as f64 / 1e6))
                .unwrap_or_else(|| "-".into())
        );
        for l in &report.backend_latency {
            println!(
                "latency          {}: last {} ms, average {} ms over {} test(s)",
                l.profile, l.last_ms, l.avg_ms, l.samples
            );
        }
        if report.crash_reports.is_empty() {
            println!("crash reports    none");
        }
        for c in &report.crash_reports {
            println!("crash report     {c} (local only; delete it when read)");
        }
        println!(
            "status           {}",
            if healthy { "healthy" } else { "PROBLEMS FOUND" }
        );
    }
    if healthy {
        Ok(())
    } else {
        Err(fail("The database check failed; see the report above."))
    }
}
