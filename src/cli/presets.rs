//! `presets`: add, list and remove presets for new chats.

use super::*;

pub(super) async fn presets(services: &Services, cmd: PresetsCmd) -> CliResult {
    match cmd {
        PresetsCmd::Add {
            name,
            system,
            profile,
            model,
            params,
            default,
        } => {
            let profile_id = match &profile {
                Some(p) => Some(services.store.get_profile(p.clone()).await?.id),
                None => None,
            };
            // Adding a preset under an existing name replaces it (keeping its id, so the
            // conversations started from it still name it).
            let mut preset = match services.store.get_preset(name.trim().to_owned()).await {
                Ok(p) => p,
                Err(Error::NotFound { .. }) => Preset::new(name.trim()),
                Err(e) => return Err(e.into()),
            };
            preset.system_prompt = system.filter(|s| !s.trim().is_empty());
            preset.profile_id = profile_id;
            preset.model = model.filter(|m| !m.trim().is_empty());
            preset.params = params.apply(&SamplingParams::default())?;
            preset.is_default = default;
            preset.updated_at = now_ms();
            preset.validate().map_err(|e| Failure {
                code: 2,
                message: e.to_string(),
            })?;
            services.store.save_preset(preset.clone()).await?;
            eprintln!(
                "Saved the preset '{}'{}.",
                preset.name,
                if preset.is_default {
                    ", the default for new chats"
                } else {
                    ""
                }
            );
            Ok(())
        }
        PresetsCmd::List { json } => {
            let list = services.store.list_presets().await?;
            let profiles = services.store.list_profiles().await?;
            let profile_name = |id: &Option<Id>| {
                id.as_ref().and_then(|id| {
                    profiles
                        .iter()
                        .find(|p| &p.id == id)
                        .map(|p| p.name.clone())
                })
            };
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|p| {
                        json!({
                            "id": p.id, "name": p.name, "system": p.system_prompt,
                            "profile": profile_name(&p.profile_id), "model": p.model,
                            "params": p.params, "default": p.is_default,
                        })
                    })
                    .collect();
                print_json(&serde_json::Value::Array(rows));
            } else if list.is_empty() {
                eprintln!(
                    "No presets. Add one with `opencode-nexus presets add NAME --system TEXT`."
                );
            } else {
                for p in list {
                    println!(
                        "{}{}\t{}\t{}",
                        p.name,
                        if p.is_default { " (default)" } else { "" },
                        profile_name(&p.profile_id).unwrap_or_else(|| "any backend".into()),
                        p.model.as_deref().unwrap_or("-"),
                    );
                }
            }
            Ok(())
        }
        PresetsCmd::Remove { name } => {
            services.store.delete_preset(name.clone()).await?;
            eprintln!(
                "Removed the preset '{name}'. Conversations started from it keep their settings."
            );
            Ok(())
        }
    }
}
