//! `permissions` and `questions`: what an OpenCode server's agents are waiting for, answered
//! from this device (a run started in the TUI, the app or another machine).

use super::*;
use crate::engine::opencode::api::{
    PermissionReply, PermissionReplyBody, PermissionRequest, QuestionRequest,
};
use crate::engine::opencode::OpenCodeClient;
use crate::platform::ops::opencode_client;

/// Which OpenCode server to list, and how.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[arg(long)]
    profile: String,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
pub enum PermissionsCmd {
    /// Tool calls waiting for approval on an OpenCode server.
    List(ListArgs),
    /// Answer one: allow it once, always (this and matching calls), or reject it.
    Reply {
        #[arg(long)]
        profile: String,
        id: String,
        #[arg(value_enum)]
        reply: ReplyArg,
        /// Told to the agent with the answer (with `reject`: why, or what to do instead).
        #[arg(long, value_name = "TEXT")]
        message: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum QuestionsCmd {
    /// Questions an agent is waiting on.
    List(ListArgs),
    /// Answer one: an ANSWER per question, in order (an option's label, or your own text
    /// where allowed; several labels separated by commas where several may be chosen).
    Reply {
        #[arg(long)]
        profile: String,
        id: String,
        #[arg(required = true)]
        answers: Vec<String>,
    },
    /// Dismiss one without answering.
    Reject {
        #[arg(long)]
        profile: String,
        id: String,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReplyArg {
    Once,
    Always,
    Reject,
}

impl From<ReplyArg> for PermissionReply {
    fn from(r: ReplyArg) -> Self {
        match r {
            ReplyArg::Once => PermissionReply::Once,
            ReplyArg::Always => PermissionReply::Always,
            ReplyArg::Reject => PermissionReply::Reject,
        }
    }
}

/// The client of an OpenCode profile, or a sentence for any other kind.
async fn client_for(
    services: &Services,
    name: &str,
) -> std::result::Result<OpenCodeClient, Failure> {
    let profile = services.store.get_profile(name.to_owned()).await?;
    if profile.kind != BackendKind::OpenCode {
        return Err(Failure {
            code: 2,
            message: format!(
                "\"{}\" is an OpenAI-compatible backend; permissions and questions come from OpenCode servers. Name an OpenCode profile (see `profiles list`).",
                profile.name
            ),
        });
    }
    let password = services.resolve_key(&profile).await?;
    Ok(opencode_client(services, &profile, password)?)
}

/// The JSON form of `permissions list`.
pub fn permission_json(p: &PermissionRequest) -> serde_json::Value {
    json!({
        "id": p.id,
        "session": p.session_id,
        "tool": p.permission,
        "title": p.title(),
        "patterns": p.patterns,
    })
}

fn question_json(q: &QuestionRequest) -> serde_json::Value {
    json!({
        "id": q.id,
        "session": q.session_id,
        "questions": q.questions.iter().map(|i| json!({
            "question": i.question,
            "header": i.header,
            "options": i.labels(),
            "multiple": i.multiple == Some(true),
            "custom": i.allows_custom(),
        })).collect::<Vec<_>>(),
    })
}

fn gone(what: &str, id: &str, profile: &str) -> Failure {
    fail(format!(
        "No open {what} with id {id} on \"{profile}\": it was answered elsewhere or its run ended. See what is open with `opencode-nexus {what}s list --profile {profile}`.",
    ))
}

pub(super) async fn permissions(services: &Services, cmd: PermissionsCmd) -> CliResult {
    match cmd {
        PermissionsCmd::List(ListArgs { profile, json }) => {
            let client = client_for(services, &profile).await?;
            let list = client.permissions().await.map_err(Error::from)?;
            if json {
                print_json(&json!(list.iter().map(permission_json).collect::<Vec<_>>()));
            } else if list.is_empty() {
                println!("Nothing is waiting for approval on \"{profile}\".");
            } else {
                for p in &list {
                    println!(
                        "{}  {}  {}  (session {})",
                        p.id,
                        p.permission,
                        p.title(),
                        p.session_id
                    );
                }
            }
            Ok(())
        }
        PermissionsCmd::Reply {
            profile,
            id,
            reply,
            message,
        } => {
            let client = client_for(services, &profile).await?;
            let open = client.permissions().await.map_err(Error::from)?;
            let Some(request) = open.iter().find(|p| p.id == id) else {
                return Err(gone("permission", &id, &profile));
            };
            let body = PermissionReplyBody {
                reply: reply.into(),
                message,
            };
            match client.reply_permission(&id, &body).await {
                Ok(true) => {
                    eprintln!("{}: {}", answered(reply), request.title());
                    Ok(())
                }
                Ok(false) | Err(crate::engine::opencode::OpenCodeError::NotFound { .. }) => {
                    Err(gone("permission", &id, &profile))
                }
                Err(e) => Err(Error::from(e).into()),
            }
        }
    }
}

fn answered(reply: ReplyArg) -> &'static str {
    match reply {
        ReplyArg::Once => "Allowed once",
        ReplyArg::Always => "Allowed from now on",
        ReplyArg::Reject => "Rejected",
    }
}

/// Splits one command-line answer into its labels (`a,b` for a question taking several).
fn split_answer(
    question: &crate::engine::opencode::api::QuestionInfo,
    answer: &str,
) -> Vec<String> {
    if question.multiple == Some(true) {
        answer
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    } else {
        vec![answer.trim().to_owned()]
    }
}

pub(super) async fn questions(services: &Services, cmd: QuestionsCmd) -> CliResult {
    match cmd {
        QuestionsCmd::List(ListArgs { profile, json }) => {
            let client = client_for(services, &profile).await?;
            let list = client.questions().await.map_err(Error::from)?;
            if json {
                print_json(&json!(list.iter().map(question_json).collect::<Vec<_>>()));
            } else if list.is_empty() {
                println!("No agent is waiting on a question on \"{profile}\".");
            } else {
                for q in &list {
                    println!("{}  (session {})", q.id, q.session_id);
                    for i in &q.questions {
                        println!("  {}  [{}]", i.question, i.labels().join(" | "));
                    }
                }
            }
            Ok(())
        }
        QuestionsCmd::Reply {
            profile,
            id,
            answers,
        } => {
            let client = client_for(services, &profile).await?;
            let open = client.questions().await.map_err(Error::from)?;
            let Some(request) = open.iter().find(|q| q.id == id) else {
                return Err(gone("question", &id, &profile));
            };
            let chosen: Vec<Vec<String>> = if answers.len() == request.questions.len() {
                request
                    .questions
                    .iter()
                    .zip(&answers)
                    .map(|(q, a)| split_answer(q, a))
                    .collect()
            } else {
                // The count is wrong: `answer` says so.
                answers.iter().map(|a| vec![a.clone()]).collect()
            };
            let body = request.answer(&chosen).map_err(|m| Failure {
                code: 2,
                message: m,
            })?;
            match client.reply_question(&id, &body).await {
                Ok(true) => {
                    eprintln!("Answered.");
                    Ok(())
                }
                Ok(false) | Err(crate::engine::opencode::OpenCodeError::NotFound { .. }) => {
                    Err(gone("question", &id, &profile))
                }
                Err(e) => Err(Error::from(e).into()),
            }
        }
        QuestionsCmd::Reject { profile, id } => {
            let client = client_for(services, &profile).await?;
            match client.reject_question(&id).await {
                Ok(true) => {
                    eprintln!("Dismissed.");
                    Ok(())
                }
                Ok(false) | Err(crate::engine::opencode::OpenCodeError::NotFound { .. }) => {
                    Err(gone("question", &id, &profile))
                }
                Err(e) => Err(Error::from(e).into()),
            }
        }
    }
}
