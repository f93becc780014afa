//! `chat`: one prompt, the reply streamed to stdout, through the engine's send path (the same
//! one the app uses: it creates, names and finishes the conversation).

use super::*;
use crate::engine::chat;

pub(super) async fn chat_cmd(services: &Services, args: ChatArgs) -> CliResult {
    let prompt = args.prompt.join(" ");
    if prompt.trim().is_empty() {
        return Err(Failure {
            code: 2,
            message: "Give a prompt: opencode-nexus chat --profile NAME \"your question\"".into(),
        });
    }
    let profile = services.store.get_profile(args.profile.clone()).await?;
    if profile.kind != BackendKind::OpenCode && args.approve.is_some() {
        return Err(Failure {
            code: 2,
            message: "--approve answers an OpenCode agent's permission requests; an OpenAI-compatible backend runs no tools.".into(),
        });
    }
    if profile.kind == BackendKind::OpenCode && !args.attach.is_empty() {
        return Err(Failure {
            code: 2,
            message: "--attach works with OpenAI-compatible backends; an OpenCode session reads files from its project directory.".into(),
        });
    }
    if profile.kind == BackendKind::OpenCode {
        return match super::opencode::opencode_cli_chat(
            services,
            &profile,
            args,
            &prompt,
        )
        .await
        {
            Ok(()) => Ok(()),
            Err(Error::Cancelled) => Err(Failure {
                code: 130,
                message: "Stopped. The run was aborted on the server; the partial reply was saved and marked interrupted.".into(),
            }),
            Err(e) => Err(e.into()),
        };
    }
    // Everything the user asked for is checked before anything is sent or saved.
    crate::engine::attachments::check_count(args.attach.len())?;
    let mut files = Vec::with_capacity(args.attach.len());
    for path in &args.attach {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        files.push(crate::engine::attachments::prepare(
            &path.display().to_string(),
            data,
        )?);
    }
    let preset = match &args.preset {
        Some(name) => Some(services.store.get_preset(name.clone()).await?),
        None if args.conversation.is_none() => services.store.default_preset().await?,
        None => None,
    };
    let key = services.resolve_key(&profile).await?;
    let client = OpenAiClient::new(services.http.client(), &profile, key)?;

    let target = match &args.conversation {
        Some(id) => {
            let c = services.store.get_conversation(id.clone()).await?;
            let mut edits = Vec::new();
            if args.params.any() {
                edits.push(ConversationEdit::Params(args.params.apply(&c.params)?));
            }
            if let Some(m) = &args.model {
                edits.push(ConversationEdit::Model(Some(m.clone())));
            }
            if let Some(system) = &args.system {
                edits.push(ConversationEdit::SystemPrompt(
                    Some(system.clone()).filter(|s| !s.trim().is_empty()),
                ));
            }
            if !edits.is_empty() {
                services
                    .store
                    .update_conversation(c.id.clone(), edits)
                    .await?;
            }
            eprintln!("conversation {}", c.id);
            Target::Existing(c.id)
        }
        None => {
            // The profile given here wins over the preset's; so does a model given here.
            let mut setup = match &preset {
                Some(p) => {
                    let mut s = chat::NewChat::from_preset(p, profile.id.clone(), None);
                    if s.profile_id != profile.id {
                        s.profile_id = profile.id.clone();
                        s.model = None;
                    }
                    s
                }
                None => chat::NewChat::on(profile.id.clone(), None),
            };
            setup.params = args.params.apply(&setup.params)?;
            if let Some(system) = &args.system {
                setup.system_prompt = Some(system.clone());
            }
            setup.model = match args
                .model
                .clone()
                .or(setup.model)
                .or(profile.default_model.clone())
            {
                Some(m) => Some(m),
                None => client
                    .models()
                    .await
                    .ok()
                    .and_then(|m| m.into_iter().next()),
            };
            Target::New(setup)
        }
    };

    let (stop_handle, stop) = chat::stop_pair();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop_handle.stop();
            true
        } else {
            false
        }
    });
    let options = EngineOptions::default();
    let ctx = ReplyContext {
        store: &services.store,
        client: &client,
        options: &options,
    };
    let mut stdout = std::io::stdout();
    let mut printed_any = false;
    let result = ctx
        .send_with(target, &prompt, files, stop, &mut |update| match update {
            ChatUpdate::Started {
                conversation: Some(c),
                ..
            } => eprintln!("conversation {}", c.id),
            ChatUpdate::Content { text, .. } => {
                printed_any = true;
                let _ = stdout.write_all(text.as_bytes());
                let _ = stdout.flush();
            }
            _ => {}
        })
        .await;
    ctrl_c.abort();
    if printed_any {
        let _ = writeln!(stdout);
    }
    let reply = result?;
    // The app and the command line name conversations the same way (Settings → "Name new
    // conversations automatically").
    let auto_title = services
        .store
        .load_settings()
        .await
        .map(|s| s.auto_title)
        .unwrap_or(true);
    let title = if auto_title {
        ctx.name(&reply).await
    } else {
        None
    };
    let conversation = title.unwrap_or_else(|| reply.conversation.clone());
    let message = &reply.message;
    if args.json {
        eprintln!(
            "{}",
            json!({"conversation": conversation.id, "title": conversation.title, "message": message.id, "status": message.status, "outcome": format!("{:?}", reply.outcome).to_lowercase(), "error": message.error})
        );
    }
    match reply.outcome {
        Outcome::Complete => Ok(()),
        Outcome::Stopped => Err(Failure {
            code: 130,
            message: "Stopped. The partial reply was saved and marked interrupted.".into(),
        }),
        Outcome::Interrupted | Outcome::Failed => Err(fail(
            message
                .error
                .clone()
                .unwrap_or_else(|| "The reply failed.".into()),
        )),
    }
}
