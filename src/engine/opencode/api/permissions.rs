//! Permission requests and model questions waiting for the user, and the reply bodies.

use crate::engine::json::Json;
use crate::engine::json::Value;

/// Points at the tool call that raised a permission request or a question.
#[derive(Debug, Clone, PartialEq, Eq, Json)]
pub struct ToolRef {
    #[json(rename = "messageID")]
    pub message_id: String,
    #[json(rename = "callID")]
    pub call_id: String,
}

/// How the user answered a permission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Json)]
#[json(rename_all = "lowercase")]
pub enum PermissionReply {
    /// Allow this one call.
    Once,
    /// Allow this and matching future calls (`always` patterns).
    Always,
    Reject,
}

/// Body of `POST /permission/{requestID}/reply`.
#[derive(Debug, Clone, PartialEq, Json)]
pub struct PermissionReplyBody {
    pub reply: PermissionReply,
    /// Optional note to the model, useful with `reject` to say why.
    #[json(default, skip_none)]
    pub message: Option<String>,
}

/// A tool call waiting for the user's approval (`GET /permission`, `permission.asked`).
#[derive(Debug, Clone, PartialEq, Json)]
pub struct PermissionRequest {
    pub id: String,
    #[json(rename = "sessionID")]
    pub session_id: String,
    /// What is asked for, e.g. `bash`, `edit`, `external_directory`.
    pub permission: String,
    #[json(default)]
    pub patterns: Vec<String>,
    #[json(default)]
    pub metadata: Value,
    #[json(default)]
    pub always: Vec<String>,
    #[json(default, skip_none)]
    pub tool: Option<ToolRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Json)]
pub struct QuestionOption {
    pub label: String,
    #[json(default)]
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Json)]
pub struct QuestionInfo {
    pub question: String,
    #[json(default)]
    pub header: String,
    #[json(default)]
    pub options: Vec<QuestionOption>,
    /// More than one option may be chosen.
    #[json(default, skip_none)]
    pub multiple: Option<bool>,
    /// A free-text answer is allowed.
    #[json(default, skip_none)]
    pub custom: Option<bool>,
}

/// Questions the model asks the user (`GET /question`, `question.asked`).
#[derive(Debug, Clone, PartialEq, Eq, Json)]
pub struct QuestionRequest {
    pub id: String,
    #[json(rename = "sessionID")]
    pub session_id: String,
    #[json(default)]
    pub questions: Vec<QuestionInfo>,
    #[json(default, skip_none)]
    pub tool: Option<ToolRef>,
}

/// Body of `POST /question/{requestID}/reply`: one answer per question, in order; each answer
/// is the list of chosen labels (or the custom text).
#[derive(Debug, Clone, Default, PartialEq, Eq, Json)]
pub struct QuestionReplyBody {
    pub answers: Vec<Vec<String>>,
}

/// A piece of a request's title: words of this client's, or text from the server (a command)
/// to be shown as code. The server's text is never parsed as markup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TitleRun {
    Text(String),
    Code(String),
}

impl PermissionRequest {
    /// One line saying what the tool call would do: the command for `bash`, the file for
    /// `edit`/`write`, otherwise the patterns it asks for. The command is in backticks, for a
    /// terminal; a screen shows [`PermissionRequest::title_runs`] instead.
    pub fn title(&self) -> String {
        self.title_runs()
            .into_iter()
            .map(|run| match run {
                TitleRun::Text(t) => t,
                TitleRun::Code(c) => format!("`{c}`"),
            })
            .collect()
    }

    /// [`PermissionRequest::title`] in pieces, the command apart from the words around it, so
    /// a screen can show it as code without reading backticks out of (hostile) server text: a
    /// command may hold backticks of its own.
    pub fn title_runs(&self) -> Vec<TitleRun> {
        let meta = |key: &str| self.metadata.get(key).and_then(Value::as_str);
        if let Some(command) = meta("command") {
            return vec![
                TitleRun::Text("Run ".into()),
                TitleRun::Code(command.to_owned()),
            ];
        }
        let text = if let Some(path) = meta("filepath").or_else(|| meta("filePath")) {
            format!("Change {path}")
        } else if self.patterns.is_empty() {
            format!("Use {}", self.permission)
        } else {
            format!("Use {} on {}", self.permission, self.patterns.join(", "))
        };
        vec![TitleRun::Text(text)]
    }
}

impl QuestionInfo {
    /// The labels of the options, in order.
    pub fn labels(&self) -> Vec<&str> {
        self.options.iter().map(|o| o.label.as_str()).collect()
    }

    /// Whether a typed answer (not one of the options) is allowed; the server allows one
    /// unless the question says otherwise.
    pub fn allows_custom(&self) -> bool {
        self.custom != Some(false)
    }
}

impl QuestionRequest {
    /// Checks the answers a user gave (one per question; a question with `multiple` may take
    /// several labels) and builds the reply body, or says what is wrong with them.
    pub fn answer(&self, answers: &[Vec<String>]) -> Result<QuestionReplyBody, String> {
        if answers.len() != self.questions.len() {
            return Err(format!(
                "This request has {} question(s) and {} answer(s) were given; give one answer per question, in order.",
                self.questions.len(),
                answers.len()
            ));
        }
        for (q, chosen) in self.questions.iter().zip(answers) {
            if chosen.is_empty() || chosen.iter().any(|c| c.trim().is_empty()) {
                return Err(format!("\"{}\" needs an answer.", q.question));
            }
            if chosen.len() > 1 && q.multiple != Some(true) {
                return Err(format!(
                    "\"{}\" takes one answer, not {}.",
                    q.question,
                    chosen.len()
                ));
            }
            let labels = q.labels();
            if !q.allows_custom() {
                if let Some(bad) = chosen.iter().find(|c| !labels.contains(&c.as_str())) {
                    return Err(format!(
                        "\"{bad}\" is not an option of \"{}\"; choose one of: {}.",
                        q.question,
                        labels.join(", ")
                    ));
                }
            }
        }
        Ok(QuestionReplyBody {
            answers: answers.to_vec(),
        })
    }
}
