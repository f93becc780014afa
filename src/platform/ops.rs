//! Operations over the services that both faces (GUI and CLI) offer: testing a backend
//! connection and collecting diagnostics. They live here, not in a view, so the CLI and the
//! settings panel give the same answers.

use serde::Serialize;

use super::{SecretStatus, Services};
use crate::engine::error::Result;
use crate::engine::model::{BackendKind, Profile};
use crate::engine::providers::openai::OpenAiClient;
#[cfg(feature = "native")]
use crate::engine::version;

/// What [`test_connection`] found.
pub struct Reached {
    /// One line: reachable, how many models, and any change made to the address.
    pub detail: String,
    pub models: Vec<String>,
    /// The address the backend was saved with instead (its API answered under `/v1`, where
    /// the one entered gave 404): the caller reloads its profiles.
    pub moved_to: Option<String>,
}

/// Reach the backend, check the key, list models. An OpenAI-compatible address without `/v1`
/// that answers 404 is tried with `/v1` added (Ollama, llama.cpp and vLLM serve their API
/// there; their roots are what users copy), and saved with it when that answers.
pub async fn test_connection(services: &Services, profile: &Profile) -> Result<Reached> {
    let key = services.resolve_key(profile).await?;
    match profile.kind {
        BackendKind::OpenAiCompatible => {
            let mut tried = profile.clone();
            let mut first_404 = None;
            let infos = loop {
                let client = OpenAiClient::new(services.http.client(), &tried, key.clone())?;
                match client.model_infos().await {
                    Ok(infos) => break infos,
                    Err(e @ crate::engine::error::Error::Http { status: 404, .. })
                        if first_404.is_none() && !tried.base_url.ends_with("/v1") =>
                    {
                        first_404 = Some(e);
                        tried.base_url = format!("{}/v1", tried.base_url.trim_end_matches('/'));
                    }
                    Err(e) => return Err(first_404.unwrap_or(e)),
                }
            };
            let moved_to = first_404.map(|_| tried.base_url.clone());
            if moved_to.is_some() {
                services.store.save_profile(tried).await?;
            }
            // Cached per backend: the model dropdown shows it at once next time.
            let list = crate::engine::model::ModelList {
                models: infos.clone(),
                fetched_at: crate::engine::model::now_ms(),
            };
            if let Err(e) = services
                .store
                .save_model_list(profile.id.clone(), list)
                .await
            {
                tracing::warn!(error = %e, "caching the model list failed");
            }
            let models: Vec<String> = infos.into_iter().map(|m| m.id).collect();
            let mut detail = if models.is_empty() {
                "reachable; the server lists no models, enter one by hand".to_owned()
            } else {
                format!(
                    "reachable, {}",
                    crate::engine::model::counted(models.len() as i64, "model")
                )
            };
            if let Some(url) = &moved_to {
                detail = format!(
                    "{detail}; its API is at {url}, which the backend now uses ({} answered 404)",
                    profile.base_url
                );
            }
            Ok(Reached {
                detail,
                models,
                moved_to,
            })
        }
        BackendKind::OpenCode => {
            let client = opencode_client(services, profile, key)?;
            let health = client.health().await?;
            let providers = client.providers().await?;
            let models: Vec<String> = providers
                .providers
                .iter()
                .flat_map(|p| p.models.keys().map(move |m| format!("{}/{}", p.id, m)))
                .collect();
            Ok(Reached {
                detail: format!(
                    "OpenCode server {} is healthy",
                    health.version.as_deref().unwrap_or("(version unknown)")
                ),
                models,
                moved_to: None,
            })
        }
    }
}

pub fn opencode_client(
    services: &Services,
    profile: &Profile,
    password: Option<String>,
) -> Result<crate::engine::opencode::client::OpenCodeClient> {
    Ok(crate::engine::opencode::client::OpenCodeClient::new(
        services.http.client(),
        &profile.base_url,
        password,
        profile.username.clone(),
        profile.directory.clone(),
    )?)
}

#[derive(Debug, Clone, Serialize)]
pub struct Diagnostics {
    pub version: String,
    pub commit: String,
    pub build_date: String,
    pub channel: String,
    pub os: String,
    pub data_dir: Option<String>,
    pub database_path: Option<String>,
    pub database_bytes: i64,
    pub schema_version: i64,
    pub integrity: String,
    pub database_ok: bool,
    pub conversations: i64,
    pub log_dir: Option<String>,
    pub secrets: SecretStatus,
    /// Milliseconds from `main` entry to the first frame (app) or to this report (CLI).
    pub startup_ms: Option<u64>,
    /// Resident memory of this process in bytes; `None` where the platform does not say.
    pub rss_bytes: Option<u64>,
    /// Connection-test round trips per backend (last and average).
    pub backend_latency: Vec<super::vitals::LatencyStat>,
    /// Local crash reports (paths), newest first.
    pub crash_reports: Vec<String>,
}

/// Version, paths, database health and keychain status.
#[cfg(feature = "native")]
pub async fn diagnostics(
    services: &Services,
    dirs: Option<&super::native::DataDirs>,
) -> Diagnostics {
    let (integrity, database_ok) = match services.store.integrity_check().await {
        Ok(rows) if rows == ["ok"] => ("ok".to_owned(), true),
        Ok(rows) => (rows.join("; "), false),
        Err(e) => (e.to_string(), false),
    };
    Diagnostics {
        version: version::VERSION.into(),
        commit: version::GIT_COMMIT.into(),
        build_date: version::BUILD_DATE.into(),
        channel: version::CHANNEL.into(),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        data_dir: dirs.map(|d| d.root.display().to_string()),
        database_path: dirs.map(|d| d.database().display().to_string()),
        database_bytes: services.store.size_bytes().await.unwrap_or(0),
        schema_version: services.store.schema_version().await.unwrap_or(0),
        integrity,
        database_ok,
        conversations: services.store.count_conversations().await.unwrap_or(0),
        log_dir: dirs.map(|d| d.logs().display().to_string()),
        secrets: services.secrets.status().await,
        startup_ms: super::vitals::startup_ms(),
        rss_bytes: super::vitals::rss_bytes(),
        backend_latency: super::vitals::latency_stats(services).await,
        crash_reports: dirs
            .map(|d| crate::crash::list(&d.crash_reports()))
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.path)
            .collect(),
    }
}

/// Sync's setup as this device keeps it, and the folder it names with the password or keys and
/// the passphrase from the keychain. `None` when sync is not set up here.
pub async fn sync_remote(
    services: &Services,
) -> Result<
    Option<(
        crate::engine::sync::SyncSetup,
        Box<dyn crate::engine::sync::remote::Remote>,
        String,
    )>,
> {
    use crate::engine::error::Error;
    use crate::engine::sync as esync;
    let setup = services
        .store
        .get_setting(esync::SETUP_KEY.into())
        .await?
        .and_then(|v| serde_json::from_value::<esync::SyncSetup>(v).ok());
    let set_up = services.store.sync_state().await?.device.is_some();
    let Some(setup) = setup.filter(|_| set_up) else {
        return Ok(None);
    };
    let passphrase = services
        .secrets
        .get(esync::PASSPHRASE_SECRET)
        .await?
        .ok_or_else(|| {
            Error::Invalid(
                "The sync passphrase is no longer in this device's keychain. Set sync up again (Settings → Sync, or `opencode-nexus sync setup`)."
                    .into(),
            )
        })?;
    let password = services.secrets.get(esync::PASSWORD_SECRET).await?;
    let access_key = services.secrets.get(esync::ACCESS_KEY_SECRET).await?;
    for secret in [Some(&passphrase), password.as_ref(), access_key.as_ref()]
        .into_iter()
        .flatten()
    {
        crate::engine::redact::register_secret(secret);
    }
    let remote = esync::open_remote(services.http.client(), &setup, password, access_key)?;
    Ok(Some((setup, remote, passphrase)))
}

/// Set sync up: the folder is checked first (reachable, the password or keys, the
/// passphrase; an empty folder becomes a new sync folder), and only then are the secrets put
/// in the keychain, this device given an id and the setup saved. Returns the folder.
pub async fn sync_set_up(
    services: &Services,
    setup: crate::engine::sync::SyncSetup,
    password: Option<String>,
    access_key: Option<String>,
    passphrase: &str,
    name: &str,
) -> Result<Box<dyn crate::engine::sync::remote::Remote>> {
    use crate::engine::error::Error;
    use crate::engine::sync as esync;
    if crate::engine::idn::parse_http_url(&setup.url).is_some_and(|u| u.password().is_some()) {
        return Err(Error::Invalid(
            "Put the password in its own field, not in the URL (the URL is saved in the history database, passwords only in the keychain); nothing was saved."
                .into(),
        ));
    }
    for secret in [Some(passphrase), password.as_deref(), access_key.as_deref()]
        .into_iter()
        .flatten()
    {
        crate::engine::redact::register_secret(secret);
    }
    let remote = esync::open_remote(
        services.http.client(),
        &setup,
        password.clone(),
        access_key.clone(),
    )?;
    esync::open_folder(&*remote, passphrase).await?;
    services
        .secrets
        .set(esync::PASSPHRASE_SECRET, passphrase)
        .await?;
    for (id, value) in [
        (esync::PASSWORD_SECRET, &password),
        (esync::ACCESS_KEY_SECRET, &access_key),
    ] {
        match value {
            Some(v) => services.secrets.set(id, v).await?,
            None => services.secrets.delete(id).await?,
        }
    }
    let device = services
        .store
        .sync_state()
        .await?
        .device
        .unwrap_or_else(crate::engine::model::new_id);
    services.store.sync_enable(device, name.to_owned()).await?;
    services
        .store
        .set_setting(
            esync::SETUP_KEY.into(),
            serde_json::to_value(&setup).map_err(Error::db)?,
        )
        .await?;
    Ok(remote)
}

/// Stop syncing this device: its sync records, the setup and the keychain entries go; the
/// history and the folder stay.
pub async fn sync_forget(services: &Services) -> Result<()> {
    use crate::engine::sync as esync;
    services.store.sync_forget().await?;
    services
        .store
        .set_setting(esync::SETUP_KEY.into(), serde_json::Value::Null)
        .await?;
    for id in esync::SECRETS {
        services.secrets.delete(id).await?;
    }
    Ok(())
}
