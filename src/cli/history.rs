//! `history`: list, show, search, rename, pin, archive and delete conversations.

use super::*;

pub(super) async fn history(services: &Services, cmd: HistoryCmd) -> CliResult {
    match cmd {
        HistoryCmd::List {
            json,
            archived,
            limit,
        } => {
            let list = services
                .store
                .list_conversations(ConversationFilter {
                    archived,
                    limit,
                    ..Default::default()
                })
                .await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|s| {
                        json!({
                            "id": s.conversation.id, "title": s.conversation.title,
                            "created_at": s.conversation.created_at, "updated_at": s.conversation.updated_at,
                            "pinned": s.conversation.pinned, "archived": s.conversation.archived,
                            "profile": s.profile_name, "model": s.conversation.model,
                            "messages": s.message_count,
                        })
                    })
                    .collect();
                print_json(&serde_json::Value::Array(rows));
            } else {
                for s in list {
                    println!(
                        "{}\t{}\t{}\t{} messages",
                        s.conversation.id,
                        format_time(s.conversation.updated_at),
                        s.conversation.title,
                        s.message_count
                    );
                }
            }
            Ok(())
        }
        HistoryCmd::Show { id, json } => {
            let conv = services.store.get_conversation(id.clone()).await?;
            let thread = services.store.thread(id).await?;
            if json {
                let messages: Vec<_> = thread
                    .iter()
                    .map(|t| {
                        let m = &t.message;
                        json!({
                            "id": m.id, "parent_id": m.parent_id, "role": m.role, "text": m.text(),
                            "parts": m.parts, "status": m.status, "error": m.error, "model": m.model,
                            "usage": m.usage.as_ref().map(|u| json!({
                                "input": u.prompt_tokens, "output": u.completion_tokens,
                                "cost": m.cost, "estimated": u.estimated,
                            })),
                            "attachments": m.attachments().iter().map(|a| json!({
                                "name": a.name, "mime": a.mime, "bytes": a.bytes, "sha256": a.sha256,
                            })).collect::<Vec<_>>(),
                            "created_at": m.created_at,
                            "alternatives": t.sibling_count,
                        })
                    })
                    .collect();
                let total = services.store.usage_total(conv.id.clone()).await?;
                print_json(&json!({
                    "conversation": conv, "messages": messages,
                    "usage": {"input": total.input, "output": total.output, "cost": total.cost, "estimated": total.estimated},
                }));
            } else {
                println!("# {}", conv.title);
                for t in thread {
                    let m = t.message;
                    let status = match m.status {
                        MessageStatus::Complete => String::new(),
                        s => format!(" [{}]", s.as_str()),
                    };
                    println!("\n{}{}:\n{}", m.role.as_str(), status, m.text());
                }
            }
            Ok(())
        }
        HistoryCmd::Search { query, json, limit } => {
            let hits = services.store.search(query.join(" "), limit).await?;
            if json {
                let rows: Vec<_> = hits
                    .iter()
                    .map(|h| {
                        json!({
                            "conversation_id": h.conversation_id, "conversation_title": h.conversation_title,
                            "message_id": h.message_id, "role": h.role,
                            "snippet": h.snippet.replace([HIT_START, HIT_END], ""),
                            "created_at": h.created_at,
                        })
                    })
                    .collect();
                print_json(&serde_json::Value::Array(rows));
            } else {
                let highlight = std::io::stdout().is_terminal();
                for h in hits {
                    let snippet: String = snippet_runs(&h.snippet)
                        .into_iter()
                        .map(|(t, hit)| {
                            if hit && highlight {
                                format!("\x1b[1m{t}\x1b[0m")
                            } else {
                                t
                            }
                        })
                        .collect();
                    println!(
                        "{}\t{}\t{}",
                        h.conversation_id,
                        h.conversation_title,
                        snippet.replace('\n', " ")
                    );
                }
            }
            Ok(())
        }
        HistoryCmd::Rename { id, title } => {
            let title = title.join(" ");
            let c = services
                .store
                .rename_conversation(id, title)
                .await
                .map_err(usage_if_invalid)?;
            eprintln!("Renamed the conversation to '{}'.", c.title);
            Ok(())
        }
        HistoryCmd::Pin { id, off } => {
            let c = services.store.set_pinned(id, !off).await?;
            eprintln!("{} '{}'.", if off { "Unpinned" } else { "Pinned" }, c.title);
            Ok(())
        }
        HistoryCmd::Archive { ids, off } => {
            // All found first, so a mistyped ID changes nothing.
            for id in &ids {
                services.store.get_conversation(id.clone()).await?;
            }
            for id in ids {
                let c = services.store.set_archived(id, !off).await?;
                eprintln!(
                    "{} '{}'.",
                    if off {
                        "Took out of the archive"
                    } else {
                        "Archived"
                    },
                    c.title
                );
            }
            Ok(())
        }
        HistoryCmd::Delete { ids } => {
            let mut found = Vec::new();
            for id in &ids {
                found.push(services.store.get_conversation(id.clone()).await?);
            }
            for c in found {
                services.store.delete_conversation(c.id.clone()).await?;
                eprintln!("Deleted '{}'.", c.title);
            }
            Ok(())
        }
    }
}

/// A value the engine refuses (an empty title) is a usage error: exit 2, nothing changed.
fn usage_if_invalid(e: Error) -> Failure {
    match e {
        Error::Invalid(message) => Failure { code: 2, message },
        other => other.into(),
    }
}
