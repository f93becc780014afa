//! `profiles`: add, list, test, edit and remove backend profiles (keys go to the keychain).

use super::*;

pub(super) async fn profiles(services: &Services, cmd: ProfilesCmd) -> CliResult {
    match cmd {
        ProfilesCmd::Add {
            name,
            kind,
            url,
            model,
            key_stdin,
            key_env,
            headers,
            directory,
        } => {
            let kind = match kind {
                KindArg::OpenAiCompatible => BackendKind::OpenAiCompatible,
                KindArg::OpenCode => BackendKind::OpenCode,
            };
            let url = normalize_base_url(&url)?;
            let mut profile = Profile::new(name.trim(), kind, url);
            profile.default_model = model;
            profile.key_env = key_env;
            profile.directory = directory;
            for h in headers {
                let (n, v) = h.split_once('=').ok_or_else(|| Failure {
                    code: 2,
                    message: format!("The header '{h}' is not NAME=VALUE."),
                })?;
                profile
                    .headers
                    .push((n.trim().to_owned(), v.trim().to_owned()));
            }
            let key = if key_stdin {
                let mut buf = String::new();
                std::io::stdin()
                    .read_to_string(&mut buf)
                    .map_err(|e| fail(format!("Could not read the key from stdin: {e}.")))?;
                let key = buf.trim().to_owned();
                if key.is_empty() {
                    return Err(fail("No key arrived on stdin. Pipe it in, e.g. `printf %s \"$KEY\" | opencode-nexus profiles add ... --key-stdin`."));
                }
                Some(key)
            } else {
                None
            };
            // Store the key first: a profile whose key could not be saved would fail later in a
            // more confusing way.
            if let Some(key) = &key {
                crate::engine::redact::register_secret(key);
                services
                    .secrets
                    .set(&profile.id, key)
                    .await
                    .map_err(|e| match e {
                        Error::SecretServiceUnavailable { .. } => fail(format!(
                            "{e} On a headless machine, use --key-env VAR instead: the key is then read from that environment variable each time and never stored."
                        )),
                        other => other.into(),
                    })?;
            }
            if let Err(e) = services.store.save_profile(profile.clone()).await {
                if key.is_some() {
                    let _ = services.secrets.delete(&profile.id).await;
                }
                return Err(e.into());
            }
            eprintln!(
                "Added {} profile '{}' ({}){}.",
                profile.kind.label(),
                profile.name,
                profile.base_url,
                match (&key, &profile.key_env) {
                    (Some(_), _) => ", key stored in the system keychain".to_owned(),
                    (None, Some(var)) => format!(", key read from ${var} at use time"),
                    (None, None) => ", no key".to_owned(),
                }
            );
            Ok(())
        }
        ProfilesCmd::List { json } => {
            let list = services.store.list_profiles().await?;
            if json {
                let mut out = Vec::new();
                for p in &list {
                    out.push(json!({
                        "id": p.id, "name": p.name, "kind": p.kind, "url": p.base_url,
                        "model": p.default_model, "key_env": p.key_env,
                        "key_stored": services.secrets.get(&p.id).await.ok().flatten().is_some(),
                    }));
                }
                print_json(&serde_json::Value::Array(out));
            } else if list.is_empty() {
                eprintln!("No profiles yet. Add one with `opencode-nexus profiles add NAME --kind openai-compatible --url URL`.");
            } else {
                for p in list {
                    println!(
                        "{}\t{}\t{}\t{}",
                        p.name,
                        p.kind.as_str(),
                        p.base_url,
                        p.default_model.unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        ProfilesCmd::Remove { name } => {
            let p = services.store.get_profile(name).await?;
            services.store.delete_profile(p.id.clone()).await?;
            if let Err(e) = services.secrets.delete(&p.id).await {
                eprintln!(
                    "warning: the profile was removed but its stored key could not be deleted: {e}"
                );
            }
            eprintln!("Removed profile '{}'.", p.name);
            Ok(())
        }
        ProfilesCmd::Test { name, json } => {
            let p = services.store.get_profile(name).await?;
            let report = test_profile(services, &p).await;
            crate::platform::vitals::record_latency(services, &p.name, report.latency_ms as u64)
                .await;
            if json {
                print_json(&report.to_json());
            } else {
                println!("{}", report.summary());
            }
            if report.ok {
                Ok(())
            } else {
                Err(fail(String::new()))
            }
        }
        ProfilesCmd::Price {
            name,
            model,
            input,
            output,
            remove,
        } => {
            let p = services.store.get_profile(name).await?;
            if remove {
                services
                    .store
                    .delete_price(p.id.clone(), model.clone())
                    .await?;
                eprintln!("Forgot the price of {model} on '{}'.", p.name);
                return Ok(());
            }
            let price = ModelPrice {
                profile_id: p.id.clone(),
                model: model.trim().to_owned(),
                input_per_million: input.unwrap_or_default(),
                output_per_million: output.unwrap_or_default(),
            };
            price.validate().map_err(|e| Failure {
                code: 2,
                message: e.to_string(),
            })?;
            services.store.set_price(price.clone()).await?;
            eprintln!(
                "{} on '{}' costs ${} in and ${} out per million tokens.",
                price.model, p.name, price.input_per_million, price.output_per_million
            );
            Ok(())
        }
    }
}

/// The outcome of "Test connection".
pub struct ProfileReport {
    pub ok: bool,
    pub detail: String,
    pub models: Vec<String>,
    pub latency_ms: u128,
}

impl ProfileReport {
    fn to_json(&self) -> serde_json::Value {
        json!({"ok": self.ok, "detail": self.detail, "models": self.models, "latency_ms": self.latency_ms})
    }
    fn summary(&self) -> String {
        if self.ok {
            format!(
                "OK in {} ms: {}{}",
                self.latency_ms,
                self.detail,
                if self.models.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", self.models.join(", "))
                }
            )
        } else {
            format!("FAILED: {}", self.detail)
        }
    }
}

pub async fn test_profile(services: &Services, p: &Profile) -> ProfileReport {
    let started = std::time::Instant::now();
    let result = crate::platform::ops::test_connection(services, p).await;
    let latency_ms = started.elapsed().as_millis();
    match result {
        Ok(reached) => ProfileReport {
            ok: true,
            detail: reached.detail,
            models: reached.models,
            latency_ms,
        },
        Err(e) => ProfileReport {
            ok: false,
            detail: e.to_string(),
            models: Vec::new(),
            latency_ms,
        },
    }
}
