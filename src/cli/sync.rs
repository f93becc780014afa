//! `sync`: set up, run and inspect sync with the user's other devices (engine::sync).

use super::*;
use crate::engine::sync::{self as esync, remote::Remote, SyncSetup};

pub(super) async fn sync(services: &Services, cmd: SyncCmd) -> CliResult {
    match cmd {
        SyncCmd::Setup {
            url,
            user,
            password_env,
            endpoint,
            region,
            access_key_env,
            secret_key_env,
            passphrase_env,
            name,
        } => {
            let s3 = url.trim().starts_with("s3://");
            if s3 && (endpoint.is_none() || access_key_env.is_none() || secret_key_env.is_none()) {
                return Err(Failure {
                    code: 2,
                    message: "An s3:// folder needs --endpoint, --access-key-env and --secret-key-env; nothing was changed.".into(),
                });
            }
            let (password_env, access_key) = if s3 {
                let access = access_key_env
                    .as_deref()
                    .map(|v| read_env(v, "S3 access key"))
                    .transpose()?;
                (secret_key_env, access)
            } else {
                (password_env, None)
            };
            let wanted = SyncSetup {
                url,
                user: if s3 { None } else { user },
                endpoint: if s3 { endpoint } else { None },
                region: if s3 { region } else { None },
            };
            setup(
                services,
                wanted,
                password_env,
                access_key,
                passphrase_env,
                name,
            )
            .await
        }
        SyncCmd::Now { json } => now(services, json).await,
        SyncCmd::Remove { device, json } => remove(services, &device, json).await,
        SyncCmd::Status { json } => status(services, json).await,
        SyncCmd::Forget => {
            crate::platform::ops::sync_forget(services).await?;
            eprintln!("This device no longer syncs. Its history and the sync folder were left as they are.");
            Ok(())
        }
    }
}

fn read_env(var: &str, what: &str) -> std::result::Result<String, Failure> {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(Failure {
            code: 2,
            message: format!("The environment variable {var} (the {what}) is not set or empty; nothing was changed."),
        }),
    }
}

async fn setup(
    services: &Services,
    setup: SyncSetup,
    password_env: Option<String>,
    access_key: Option<String>,
    passphrase_env: String,
    name: Option<String>,
) -> CliResult {
    let passphrase = read_env(&passphrase_env, "sync passphrase")?;
    let what = if setup.is_s3() {
        "S3 secret key"
    } else {
        "server password"
    };
    let password = password_env
        .as_deref()
        .map(|v| read_env(v, what))
        .transpose()?;
    let name = name
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(crate::platform::native::host_name);
    let usage = |e: Error| match e {
        Error::BadUrl { .. } => Failure {
            code: 2,
            message: e.to_string(),
        },
        other => other.into(),
    };
    let remote = crate::platform::ops::sync_set_up(
        services,
        setup,
        password,
        access_key,
        &passphrase,
        &name,
    )
    .await
    .map_err(usage)?;
    eprintln!(
        "Sync is set up: this device is '{name}', syncing with {}. Run `opencode-nexus sync now` to sync.",
        remote.describe()
    );
    Ok(())
}

/// The saved setup's folder and the passphrase.
async fn open(services: &Services) -> std::result::Result<(Box<dyn Remote>, String), Failure> {
    let (_, remote, passphrase) = crate::platform::ops::sync_remote(services)
        .await?
        .ok_or_else(|| {
            fail("Sync is not set up on this device. Run `opencode-nexus sync setup --url URL --passphrase-env VAR` first.")
        })?;
    Ok((remote, passphrase))
}

async fn now(services: &Services, json: bool) -> CliResult {
    let (remote, passphrase) = open(services).await?;
    let report = esync::sync_now(&services.store, &*remote, &passphrase).await?;
    if json {
        print_json(&json!({
            "pushed": report.pushed, "pulled": report.pulled,
            "conversations": report.conversations, "messages": report.messages,
            "kept": report.kept, "devices": report.devices.len(),
        }));
    } else {
        println!(
            "Synced with {}. {} Devices: {}.",
            remote.describe(),
            report.summary(),
            report.devices.len()
        );
        for id in &report.kept {
            println!("Kept {id}: deleted on another device, but messages were added to it after the delete.");
        }
    }
    Ok(())
}

async fn remove(services: &Services, device: &str, json: bool) -> CliResult {
    let (remote, passphrase) = open(services).await?;
    let key = esync::open_folder(&*remote, &passphrase).await?;
    let removal = esync::remove_device(
        &services.store,
        &*remote,
        &key,
        device,
        &esync::SyncOptions::default(),
    )
    .await?;
    if json {
        print_json(&json!({
            "device": removal.device, "name": removal.name,
            "files_removed": removal.files_removed, "snapshot_written": removal.snapshot_written,
        }));
    } else {
        println!(
            "Removed '{}' from {}: its changes are in this device's history{}, and its {} files were deleted from the folder. If it syncs again, it joins again.",
            removal.name,
            remote.describe(),
            if removal.snapshot_written {
                " and in a snapshot for the other devices"
            } else {
                ""
            },
            removal.files_removed
        );
    }
    Ok(())
}

async fn status(services: &Services, json: bool) -> CliResult {
    let setup: Option<SyncSetup> = services
        .store
        .get_setting(esync::SETUP_KEY.into())
        .await?
        .and_then(|v| serde_json::from_value(v).ok());
    let state = services.store.sync_state().await?;
    let Some(setup) = setup.filter(|_| state.device.is_some()) else {
        if json {
            print_json(&json!({"set_up": false}));
        } else {
            println!("Sync is not set up on this device.");
        }
        return Ok(());
    };
    let (remote, passphrase) = open(services).await?;
    let devices = match esync::open_folder(&*remote, &passphrase).await {
        Ok(key) => esync::devices(&*remote, &key, state.device.as_deref().unwrap_or("")).await,
        Err(e) => Err(e),
    };
    if json {
        let (list, error) = match &devices {
            Ok(d) => (serde_json::to_value(d).unwrap_or_default(), None),
            Err(e) => (serde_json::Value::Array(Vec::new()), Some(e.to_string())),
        };
        print_json(&json!({
            "set_up": true, "url": setup.url, "user": setup.user,
            "device": state.device, "name": state.device_name,
            "last_sync": state.last_sync_ms, "pending": state.pending,
            "devices": list, "error": error,
        }));
    } else {
        println!("Folder: {}", remote.describe());
        println!(
            "This device: {} ({})",
            state.device_name.unwrap_or_default(),
            state.device.unwrap_or_default()
        );
        match state.last_sync_ms {
            Some(t) => println!("Last sync: {}", format_time(t)),
            None => println!("Last sync: never"),
        }
        println!("Changes waiting to be sent: {}", state.pending);
        match &devices {
            Ok(list) => {
                for d in list {
                    println!(
                        "Device: {}{} — last sync {}",
                        d.name,
                        if d.this_device { " (this device)" } else { "" },
                        format_time(d.last_sync_ms)
                    );
                }
            }
            Err(e) => println!("Devices: {e}"),
        }
    }
    if let Err(e) = devices {
        return Err(e.into());
    }
    Ok(())
}
