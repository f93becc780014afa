//! ChatGPT's `conversations.json` (Settings → Data controls → Export) into conversation dumps.
//!
//! Each ChatGPT conversation is a `mapping` of nodes linked by `parent`/`children`, with
//! `current_node` the leaf the user last saw. Regenerated answers and edited prompts are sibling
//! nodes, which is exactly our message tree, so the whole tree is imported (other branches stay
//! reachable as alternatives) and `current_node` becomes the head. Nodes the ChatGPT UI never
//! shows — the null-message root, hidden nodes (`is_visually_hidden_from_conversation`) and
//! empty system/tool messages — are dropped and their children attached to the nearest kept
//! ancestor.
//!
//! Ids are derived, not random: the conversation keeps ChatGPT's id and each message gets a
//! UUIDv5 of (conversation id, node id), so importing the same file again finds the same ids
//! and skips what is already there. (Node ids alone are not unique across conversations: older
//! exports call every root `client-created-root`.)

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{json, Value};

use super::{ConversationDump, ImportFormat, MessageDump};
use crate::engine::error::{Error, Result};
use crate::engine::json::Json;
use crate::engine::model::*;

/// Namespace for ids derived from ChatGPT exports (a fixed random UUID; never change it, or
/// re-imports would duplicate).
const NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x5f0c_1a52_8e4b_4d7c_9a61_3b2e_7d90_c4a8);

#[derive(Json)]
#[json(no_serde)]
struct GptConversation {
    title: Option<String>,
    create_time: Option<f64>,
    update_time: Option<f64>,
    mapping: BTreeMap<String, GptNode>,
    current_node: Option<String>,
    conversation_id: Option<String>,
    id: Option<String>,
    default_model_slug: Option<String>,
    is_archived: Option<bool>,
}

#[derive(Json)]
#[json(no_serde)]
struct GptNode {
    message: Option<GptMessage>,
    parent: Option<String>,
    children: Option<Vec<String>>,
}

#[derive(Json)]
#[json(no_serde)]
struct GptMessage {
    author: GptAuthor,
    create_time: Option<f64>,
    update_time: Option<f64>,
    content: Option<Value>,
    status: Option<String>,
    metadata: Option<Value>,
}

#[derive(Json)]
#[json(no_serde)]
struct GptAuthor {
    role: String,
    name: Option<String>,
}

/// How the note for a non-text part (an image, a file) ends: "[image not included…]".
const NOTE_END: &str = " not included in the ChatGPT export]";

fn bad(detail: String) -> Error {
    Error::BadImport {
        format: ImportFormat::ChatGpt.label().into(),
        detail,
    }
}

pub(super) fn parse(text: &str) -> Result<Vec<ConversationDump>> {
    let list: Vec<GptConversation> =
        crate::engine::json::from_str(text).map_err(|e| bad(e.to_string()))?;
    list.into_iter()
        .enumerate()
        .map(|(i, c)| convert(i, c))
        .collect()
}

/// Seconds (float) to milliseconds; out-of-range values count as unknown.
fn ms(seconds: Option<f64>) -> Option<i64> {
    let s = seconds?;
    // Years 1970..=9999: anything else is damage, not a date.
    (s.is_finite() && (0.0..253_402_300_800.0).contains(&s)).then(|| (s * 1000.0).round() as i64)
}

fn convert(index: usize, c: GptConversation) -> Result<ConversationDump> {
    let at = format!("[{index}]");
    let conversation_id = c
        .conversation_id
        .clone()
        .or(c.id.clone())
        .filter(|id| !id.trim().is_empty())
        .unwrap_or_else(|| {
            // No id at all (hand-made files): derive one from what identifies the conversation.
            let keys: Vec<&str> = c.mapping.keys().map(String::as_str).collect();
            uuid::Uuid::new_v5(
                &NAMESPACE,
                format!(
                    "conversation\n{}\n{:?}\n{}",
                    c.title.as_deref().unwrap_or(""),
                    c.create_time,
                    keys.join("\n")
                )
                .as_bytes(),
            )
            .to_string()
        });
    let message_id = |node: &str| {
        uuid::Uuid::new_v5(&NAMESPACE, format!("{conversation_id}\n{node}").as_bytes()).to_string()
    };

    for (key, node) in &c.mapping {
        if let Some(p) = &node.parent {
            if !c.mapping.contains_key(p) {
                return Err(bad(format!(
                    "{at}.mapping.{key}.parent: the node {p} is not in the mapping"
                )));
            }
        }
    }
    // Children in the order ChatGPT lists them (oldest first), which becomes the order of
    // alternatives; nodes missing from a parent's list follow, by time.
    let mut children: HashMap<Option<&str>, Vec<&str>> = HashMap::new();
    for (key, node) in &c.mapping {
        children
            .entry(node.parent.as_deref())
            .or_default()
            .push(key);
    }
    let node_time =
        |k: &str| ms(c.mapping[k].message.as_ref().and_then(|m| m.create_time)).unwrap_or(0);
    for (parent, kids) in children.iter_mut() {
        let listed: Vec<&str> = parent
            .and_then(|p| c.mapping[p].children.as_ref())
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default();
        kids.sort_by_key(|k| {
            (
                listed.iter().position(|l| l == k).unwrap_or(usize::MAX),
                node_time(k),
                k.to_string(),
            )
        });
    }

    let conv_created = ms(c.create_time);
    let mut messages: Vec<MessageDump> = Vec::new();
    // node key -> id of the message that stands for it (itself, or its nearest kept ancestor).
    let mut stands_for: HashMap<&str, Option<String>> = HashMap::new();
    let mut visited: HashSet<&str> = HashSet::new();
    // Depth-first from the roots, so parents are written before children and siblings keep
    // their order. Each entry: node, kept ancestor id, inherited time.
    let mut stack: Vec<(&str, Option<String>, Option<i64>)> = children
        .get(&None)
        .map(|roots| {
            roots
                .iter()
                .rev()
                .map(|r| (*r, None, conv_created))
                .collect()
        })
        .unwrap_or_default();
    while let Some((key, ancestor, inherited)) = stack.pop() {
        if !visited.insert(key) {
            continue;
        }
        let node = &c.mapping[key];
        let converted = node
            .message
            .as_ref()
            .and_then(|m| convert_message(m, message_id(key), ancestor.clone(), inherited));
        let (own, time) = match converted {
            Some(m) => {
                let id = m.id.clone();
                let t = m.created_at;
                messages.push(m);
                (Some(id), Some(t))
            }
            None => (
                ancestor.clone(),
                node.message
                    .as_ref()
                    .and_then(|m| ms(m.create_time))
                    .or(inherited),
            ),
        };
        stands_for.insert(key, own.clone());
        if let Some(kids) = children.get(&Some(key)) {
            for kid in kids.iter().rev() {
                stack.push((kid, own.clone(), time));
            }
        }
    }
    if visited.len() != c.mapping.len() {
        let stuck = c
            .mapping
            .keys()
            .find(|k| !visited.contains(k.as_str()))
            .cloned()
            .unwrap_or_default();
        return Err(bad(format!(
            "{at}.mapping.{stuck}.parent: the parent links form a cycle that never reaches a root"
        )));
    }

    let head_id = match c.current_node.as_deref() {
        Some(node) => match stands_for.get(node) {
            Some(id) => id.clone(),
            None => {
                return Err(bad(format!(
                    "{at}.current_node: the node {node} is not in the mapping"
                )))
            }
        },
        // No current node recorded: the newest branch, which is the last one written.
        None => messages.last().map(|m| m.id.clone()),
    };

    let thread = {
        let by_id: HashMap<&str, &MessageDump> =
            messages.iter().map(|m| (m.id.as_str(), m)).collect();
        let mut chain = Vec::new();
        let mut cursor = head_id.as_deref();
        while let Some(id) = cursor {
            let Some(m) = by_id.get(id) else { break };
            chain.push(*m);
            cursor = m.parent_id.as_deref();
        }
        chain.reverse();
        chain
    };
    let title = c
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            thread
                .iter()
                .find(|m| m.role == Role::User)
                .map(|m| crate::engine::chat::fallback_title(&text_of(m)))
                .filter(|t| !t.is_empty())
        })
        .unwrap_or_else(|| "Imported chat".to_owned());
    let model = c.default_model_slug.clone().or_else(|| {
        thread
            .iter()
            .rev()
            .find(|m| m.role == Role::Assistant && m.model.is_some())
            .and_then(|m| m.model.clone())
    });
    let created_at = conv_created
        .or_else(|| messages.iter().map(|m| m.created_at).min())
        .unwrap_or(0);
    let updated_at = ms(c.update_time)
        .or_else(|| messages.iter().map(|m| m.updated_at).max())
        .unwrap_or(created_at);

    Ok(ConversationDump {
        id: conversation_id,
        title,
        created_at,
        updated_at,
        pinned: false,
        archived: c.is_archived.unwrap_or(false),
        profile: None,
        model,
        system_prompt: None,
        params: SamplingParams::default(),
        head_id,
        remote_session: None,
        preset_id: None,
        messages,
    })
}

/// The message's own text, without the notes standing for non-text parts.
fn text_of(m: &MessageDump) -> String {
    let mut out = String::new();
    for p in &m.parts {
        if let Part::Text { text } = p {
            if text.starts_with('[') && text.ends_with(NOTE_END) {
                continue;
            }
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(text);
        }
    }
    out
}

/// One ChatGPT message as ours, or `None` for what the ChatGPT UI does not show.
fn convert_message(
    m: &GptMessage,
    id: String,
    parent_id: Option<String>,
    inherited_time: Option<i64>,
) -> Option<MessageDump> {
    let metadata = m.metadata.as_ref();
    let hidden = metadata
        .and_then(|md| md.get("is_visually_hidden_from_conversation"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if hidden {
        return None;
    }
    let content_type = m
        .content
        .as_ref()
        .and_then(|c| c.get("content_type"))
        .and_then(Value::as_str)
        .unwrap_or("text");
    // Context the user set up elsewhere (custom instructions, memory): never part of the chat.
    if matches!(
        content_type,
        "user_editable_context" | "model_editable_context"
    ) {
        return None;
    }
    let mut parts = m.content.as_ref().map(content_parts).unwrap_or_default();
    if parts.is_empty() {
        return None;
    }
    let role = match m.author.role.as_str() {
        "user" => Role::User,
        "system" => Role::System,
        "tool" => {
            // Tool output (code runs, browsing) is kept as a tool part of an assistant turn.
            let output = parts
                .iter()
                .filter_map(|p| match p {
                    Part::Text { text } => Some(text.as_str()),
                    _ => None,
                })
                .collect::<Vec<_>>()
                .join("\n");
            parts = vec![Part::Tool {
                data: json!({
                    "source": "chatgpt",
                    "tool": m.author.name,
                    "content_type": content_type,
                    "output": output,
                }),
            }];
            Role::Assistant
        }
        _ => Role::Assistant,
    };
    let (status, error) = match m.status.as_deref() {
        Some("in_progress") | Some("finished_partial_completion") => (
            MessageStatus::Interrupted,
            Some("ChatGPT had not finished this reply when the conversation was exported.".into()),
        ),
        _ => (MessageStatus::Complete, None),
    };
    let created_at = ms(m.create_time).or(inherited_time).unwrap_or(0);
    let updated_at = ms(m.update_time).unwrap_or(created_at).max(created_at);
    let model = match role {
        Role::Assistant => metadata
            .and_then(|md| md.get("model_slug"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    };
    Some(MessageDump {
        id,
        parent_id,
        role,
        parts,
        status,
        error,
        model,
        usage: None,
        finish_reason: None,
        cost: None,
        created_at,
        updated_at,
    })
}

/// The text of a ChatGPT `content` object as our parts. Strings are kept; non-text parts
/// (images, files, audio) become a visible note plus the original object as a file part.
fn content_parts(content: &Value) -> Vec<Part> {
    let content_type = content
        .get("content_type")
        .and_then(Value::as_str)
        .unwrap_or("text");
    let text_field = |name: &str| {
        content
            .get(name)
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .map(|t| Part::Text { text: t.to_owned() })
    };
    match content_type {
        "code" => {
            let code = content.get("text").and_then(Value::as_str).unwrap_or("");
            if code.trim().is_empty() {
                return Vec::new();
            }
            let language = content
                .get("language")
                .and_then(Value::as_str)
                .filter(|l| *l != "unknown")
                .unwrap_or("");
            vec![Part::Text {
                text: format!("```{language}\n{}\n```", code.trim_end()),
            }]
        }
        "thoughts" => content
            .get("thoughts")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|t| {
                        let summary = t.get("summary").and_then(Value::as_str).unwrap_or("");
                        let body = t.get("content").and_then(Value::as_str).unwrap_or("");
                        let text = [summary, body]
                            .iter()
                            .filter(|s| !s.trim().is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join("\n");
                        (!text.is_empty()).then_some(Part::Reasoning { text })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        // "Thought for 8 seconds": a label, not content.
        "reasoning_recap" => Vec::new(),
        _ => {
            if let Some(parts) = content.get("parts").and_then(Value::as_array) {
                let mut out = Vec::new();
                for p in parts {
                    match p {
                        Value::String(s) if !s.trim().is_empty() => {
                            out.push(Part::Text { text: s.clone() })
                        }
                        Value::String(_) | Value::Null => {}
                        Value::Object(o) => {
                            let kind = o
                                .get("content_type")
                                .and_then(Value::as_str)
                                .unwrap_or("attachment");
                            // A transcript is text in an object.
                            if let Some(t) = o
                                .get("text")
                                .and_then(Value::as_str)
                                .filter(|t| !t.trim().is_empty())
                            {
                                out.push(Part::Text { text: t.to_owned() });
                                continue;
                            }
                            let label = match kind {
                                "image_asset_pointer" => "image".to_owned(),
                                "audio_asset_pointer"
                                | "real_time_user_audio_video_asset_pointer" => "audio".to_owned(),
                                other => other.replace('_', " "),
                            };
                            out.push(Part::Text {
                                text: format!("[{label}{NOTE_END}"),
                            });
                            out.push(Part::File { data: p.clone() });
                        }
                        other => out.push(Part::Text {
                            text: other.to_string(),
                        }),
                    }
                }
                out
            } else {
                text_field("text")
                    .or_else(|| text_field("result"))
                    .into_iter()
                    .collect()
            }
        }
    }
}
