//! Domain types persisted by the store and exchanged with the views and the CLI.
//!
//! Conversations are trees: every message points at its parent and the conversation remembers
//! its current leaf (`head_id`). Regenerating a reply or editing a user message adds a sibling
//! instead of overwriting, so earlier answers stay reachable, and ChatGPT's mapping tree imports
//! without loss. IDs are UUIDv7 strings: sortable by creation time and stable across export/import.

use crate::engine::json::Json;
use crate::engine::wire::Wire;
use serde::{Deserialize, Serialize};

pub type Id = String;

pub fn new_id() -> Id {
    uuid::Uuid::now_v7().to_string()
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    #[cfg(not(target_family = "wasm"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }
    #[cfg(target_family = "wasm")]
    {
        js_sys::Date::now() as i64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Json, Wire)]
pub enum BackendKind {
    #[json(rename = "openai-compatible")]
    OpenAiCompatible,
    #[json(rename = "opencode")]
    OpenCode,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::OpenAiCompatible => "openai-compatible",
            BackendKind::OpenCode => "opencode",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BackendKind::OpenAiCompatible => "OpenAI-compatible",
            BackendKind::OpenCode => "OpenCode",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "openai-compatible" | "openai" => Some(BackendKind::OpenAiCompatible),
            "opencode" => Some(BackendKind::OpenCode),
            _ => None,
        }
    }
}

/// A configured backend. The API key (or OpenCode password) is never part of this struct: it
/// lives in the secret store under `id`, or is read from the environment variable `key_env`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct Profile {
    pub id: Id,
    pub name: String,
    pub kind: BackendKind,
    pub base_url: String,
    pub default_model: Option<String>,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Read the key from this environment variable at use time instead of the keychain.
    pub key_env: Option<String>,
    /// OpenCode Basic-auth user name (default `opencode`).
    pub username: Option<String>,
    /// OpenCode project directory (`?directory=`).
    pub directory: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Profile {
    pub fn new(name: impl Into<String>, kind: BackendKind, base_url: impl Into<String>) -> Self {
        let now = now_ms();
        Profile {
            id: new_id(),
            name: name.into(),
            kind,
            base_url: base_url.into(),
            default_model: None,
            headers: Vec::new(),
            key_env: None,
            username: None,
            directory: None,
            created_at: now,
            updated_at: now,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Json, Wire)]
pub struct SamplingParams {
    #[json(skip_none)]
    pub temperature: Option<f64>,
    #[json(skip_none)]
    pub top_p: Option<f64>,
    #[json(skip_none)]
    pub max_tokens: Option<u32>,
    /// The model's context window in tokens, when the user knows it; drives history trimming.
    #[json(skip_none)]
    pub context_tokens: Option<u32>,
    #[json(default, skip_none)]
    pub presence_penalty: Option<f64>,
    #[json(default, skip_none)]
    pub frequency_penalty: Option<f64>,
    #[json(default, skip_none)]
    pub seed: Option<i64>,
}

/// One sampling parameter as a form shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKey {
    Temperature,
    TopP,
    MaxTokens,
    PresencePenalty,
    FrequencyPenalty,
    Seed,
    ContextTokens,
}

/// A parameter's field: its label, the hint giving its valid range, and the keyboard a phone
/// shows for it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    pub key: ParamKey,
    /// The field's element id (prefixed by the form it is in).
    pub id: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    /// The field's `inputmode`: `numeric` for whole numbers of at least 0, `decimal` for
    /// fractions of at least 0, `text` where a minus sign is valid (phones' number pads have
    /// none).
    pub inputmode: &'static str,
}

/// The parameters in the order forms show them.
pub const PARAM_SPECS: &[ParamSpec] = &[
    ParamSpec {
        key: ParamKey::Temperature,
        id: "temperature",
        label: "Temperature",
        hint: "0–2; higher is more varied",
        inputmode: "decimal",
    },
    ParamSpec {
        key: ParamKey::TopP,
        id: "top-p",
        label: "Top P",
        hint: "0–1; the share of likely tokens considered",
        inputmode: "decimal",
    },
    ParamSpec {
        key: ParamKey::MaxTokens,
        id: "max-tokens",
        label: "Max tokens",
        hint: "At least 1; the longest reply",
        inputmode: "numeric",
    },
    ParamSpec {
        key: ParamKey::PresencePenalty,
        id: "presence-penalty",
        label: "Presence penalty",
        hint: "−2–2; above 0 favours new topics",
        inputmode: "text",
    },
    ParamSpec {
        key: ParamKey::FrequencyPenalty,
        id: "frequency-penalty",
        label: "Frequency penalty",
        hint: "−2–2; above 0 repeats less",
        inputmode: "text",
    },
    ParamSpec {
        key: ParamKey::Seed,
        id: "seed",
        label: "Seed",
        hint: "A whole number, for repeatable replies where the server supports it",
        inputmode: "text",
    },
    ParamSpec {
        key: ParamKey::ContextTokens,
        id: "context",
        label: "Context (tokens)",
        hint: "At least 256; older turns are left out to fit",
        inputmode: "numeric",
    },
];

impl SamplingParams {
    /// A parameter as a field shows it; empty when not set (the server's default).
    pub fn text(&self, key: ParamKey) -> String {
        fn show<T: ToString>(v: Option<T>) -> String {
            v.map(|v| v.to_string()).unwrap_or_default()
        }
        match key {
            ParamKey::Temperature => show(self.temperature),
            ParamKey::TopP => show(self.top_p),
            ParamKey::MaxTokens => show(self.max_tokens),
            ParamKey::PresencePenalty => show(self.presence_penalty),
            ParamKey::FrequencyPenalty => show(self.frequency_penalty),
            ParamKey::Seed => show(self.seed),
            ParamKey::ContextTokens => show(self.context_tokens),
        }
    }

    /// These parameters with one set from a field's text (empty unsets it), checked; a
    /// value that is not a number or is out of range gives the sentence to show instead. A
    /// decimal comma is read as a point ("0,7" is 0.7).
    pub fn with_text(&self, key: ParamKey, text: &str) -> Result<SamplingParams, String> {
        let text = text.trim();
        let label = PARAM_SPECS
            .iter()
            .find(|s| s.key == key)
            .map_or("The value", |s| s.label);
        let mut next = self.clone();
        match key {
            ParamKey::Temperature => next.temperature = parse_number(text, label)?,
            ParamKey::TopP => next.top_p = parse_number(text, label)?,
            ParamKey::MaxTokens => next.max_tokens = parse_number(text, label)?,
            ParamKey::PresencePenalty => next.presence_penalty = parse_number(text, label)?,
            ParamKey::FrequencyPenalty => next.frequency_penalty = parse_number(text, label)?,
            ParamKey::Seed => next.seed = parse_number(text, label)?,
            ParamKey::ContextTokens => next.context_tokens = parse_number(text, label)?,
        }
        next.validate().map_err(|e| e.to_string())?;
        Ok(next)
    }
}

/// A number a field takes: [`parse_number`] reads it from the text typed.
pub trait FieldNumber: Sized {
    fn read(text: &str) -> Option<Self>;
}

impl FieldNumber for f64 {
    fn read(text: &str) -> Option<Self> {
        parse_decimal(text)
    }
}

macro_rules! integer_field {
    ($($t:ty),*) => {$(
        impl FieldNumber for $t {
            fn read(text: &str) -> Option<Self> {
                text.parse().ok()
            }
        }
    )*};
}

integer_field!(u32, i64);

/// Reads a decimal number ("0.7", "-1.5e3", ".5", "5.", "+2") as `f64::from_str` reads finite
/// decimals. Up to 15 significant digits and a power of ten up to 22 (every value a person
/// types into a parameter or price field), the result is the same bits: the digits and the
/// power of ten are both exact, and one division or multiplication rounds once. Longer ones
/// go through the JSON reader. `f64::from_str` would bring its own tables into the browser's
/// module for this one use (about 12 KB compressed).
pub fn parse_decimal(text: &str) -> Option<f64> {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    let bytes = text.as_bytes();
    let (negative, rest) = match bytes.first()? {
        b'-' => (true, &bytes[1..]),
        b'+' => (false, &bytes[1..]),
        _ => (false, bytes),
    };
    let mut digits = String::new();
    let mut exponent: i64 = 0;
    let mut any = false;
    let mut i = 0;
    let mut fraction = false;
    while i < rest.len() {
        match rest[i] {
            d @ b'0'..=b'9' => {
                any = true;
                if !(digits.is_empty() && d == b'0') {
                    digits.push(char::from(d));
                }
                if fraction {
                    exponent -= 1;
                }
            }
            b'.' if !fraction => fraction = true,
            _ => break,
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if i < rest.len() && rest[i].eq_ignore_ascii_case(&b'e') {
        let tail = std::str::from_utf8(&rest[i + 1..]).ok()?;
        let unsigned = tail.strip_prefix(['+', '-']).unwrap_or(tail);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let magnitude = unsigned.trim_start_matches('0').parse::<i64>().unwrap_or(
            if unsigned.trim_start_matches('0').is_empty() {
                0
            } else {
                1 << 40
            },
        );
        exponent = exponent.saturating_add(if tail.starts_with('-') {
            -magnitude
        } else {
            magnitude
        });
    } else if i != rest.len() {
        return None;
    }
    while digits.ends_with('0') {
        digits.pop();
        exponent = exponent.saturating_add(1);
    }
    let value = if digits.is_empty() {
        0.0
    } else if digits.len() <= 15 && (-22..=22).contains(&exponent) {
        let mantissa = digits.parse::<u64>().ok()? as f64;
        let scale = POW10[exponent.unsigned_abs() as usize];
        if exponent < 0 {
            mantissa / scale
        } else {
            mantissa * scale
        }
    } else {
        serde_json::from_str::<f64>(&format!("{digits}e{exponent}")).ok()?
    };
    Some(if negative { -value } else { value })
}

/// A number typed into a field: empty is `None`; a decimal comma is read as a point ("0,7" is
/// 0.7); anything else that is not a number gives the sentence to show.
pub fn parse_number<T: FieldNumber>(text: &str, label: &str) -> Result<Option<T>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let point;
    let number = if text.contains('.') || text.matches(',').count() != 1 {
        text
    } else {
        point = text.replace(',', ".");
        &point
    };
    T::read(number).map(Some).ok_or_else(|| {
        format!("{label} must be a number; “{text}” is not one, so nothing was changed.")
    })
}

/// A named starting point for new chats ("assistant"): a system prompt, optionally a backend
/// and model, and parameters. One preset may be the default for new chats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct Preset {
    pub id: Id,
    pub name: String,
    pub system_prompt: Option<String>,
    pub profile_id: Option<Id>,
    pub model: Option<String>,
    #[serde(default)]
    pub params: SamplingParams,
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Preset {
    pub fn new(name: impl Into<String>) -> Self {
        let now = now_ms();
        Preset {
            id: new_id(),
            name: name.into(),
            system_prompt: None,
            profile_id: None,
            model: None,
            params: SamplingParams::default(),
            is_default: false,
            created_at: now,
            updated_at: now,
        }
    }

    /// A sentence for a preset that must not be saved.
    pub fn validate(&self) -> crate::engine::error::Result<()> {
        if self.name.trim().is_empty() {
            return Err(crate::engine::error::Error::Invalid(
                "A preset needs a name; nothing was saved.".into(),
            ));
        }
        self.params.validate()
    }
}

/// What the user pays a backend for a model, per million tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct ModelPrice {
    pub profile_id: Id,
    pub model: String,
    pub input_per_million: f64,
    pub output_per_million: f64,
}

impl ModelPrice {
    /// The cost of a reply with this usage.
    pub fn cost(&self, usage: &Usage) -> f64 {
        (usage.prompt_tokens as f64 * self.input_per_million
            + usage.completion_tokens as f64 * self.output_per_million)
            / 1_000_000.0
    }

    pub fn validate(&self) -> crate::engine::error::Result<()> {
        let ok = |x: f64| x.is_finite() && x >= 0.0;
        if !ok(self.input_per_million) || !ok(self.output_per_million) {
            return Err(crate::engine::error::Error::Invalid(
                "A price must be a number of at least 0 (per million tokens); nothing was saved."
                    .into(),
            ));
        }
        if self.model.trim().is_empty() {
            return Err(crate::engine::error::Error::Invalid(
                "A price needs the model it applies to; nothing was saved.".into(),
            ));
        }
        Ok(())
    }
}

/// A model a backend offers, as its `/models` list describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Wire)]
pub struct ModelInfo {
    pub id: String,
    /// The context window in tokens, when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u32>,
}

/// A backend's model list as last fetched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Wire)]
pub struct ModelList {
    pub models: Vec<ModelInfo>,
    pub fetched_at: i64,
}

/// Tokens and cost summed over a conversation's replies (every branch: each was paid for).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Wire)]
pub struct UsageTotal {
    pub input: u64,
    pub output: u64,
    /// `None` when no reply has a price.
    pub cost: Option<f64>,
    /// Some of the figures are estimates (the server reported no usage).
    pub estimated: bool,
    pub replies: u64,
}

impl UsageTotal {
    pub fn add(&mut self, usage: Option<&Usage>, cost: Option<f64>) {
        if let Some(u) = usage {
            self.input += u.prompt_tokens;
            self.output += u.completion_tokens;
            self.estimated |= u.estimated;
            self.replies += 1;
        }
        if let Some(c) = cost {
            *self.cost.get_or_insert(0.0) += c;
        }
    }
}

/// "1,234 in · 56 out · $0.0012", with "≈" before estimates; empty when there is nothing.
pub fn usage_summary(input: u64, output: u64, cost: Option<f64>, estimated: bool) -> String {
    if input == 0 && output == 0 && cost.is_none() {
        return String::new();
    }
    let approx = if estimated { "≈" } else { "" };
    let mut s = format!(
        "{approx}{} in · {approx}{} out",
        group_digits(input),
        group_digits(output)
    );
    if let Some(c) = cost {
        s.push_str(&format!(" · {approx}{}", format_cost(c)));
    }
    s
}

/// Dollars: cents from a cent up, and two significant digits below it ("$0.0012",
/// "$0.000021"), so a cheap reply does not read as free.
pub fn format_cost(c: f64) -> String {
    if c == 0.0 {
        return "$0".into();
    }
    if c >= 0.01 {
        return format!("${c:.2}");
    }
    let mut digits = 4;
    while digits < 10 && c * 10f64.powi(digits as i32) < 10.0 {
        digits += 1;
    }
    format!("${c:.digits$}")
}

/// 1234567 → "1,234,567".
pub fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct Conversation {
    pub id: Id,
    pub title: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub pinned: bool,
    pub archived: bool,
    pub profile_id: Option<Id>,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    #[serde(default)]
    pub params: SamplingParams,
    /// The current leaf of the message tree; the visible thread is its ancestor chain.
    pub head_id: Option<Id>,
    /// For OpenCode backends: the server session this conversation mirrors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_session: Option<String>,
    /// The preset this conversation was started from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset_id: Option<Id>,
}

impl Conversation {
    pub fn new(title: impl Into<String>) -> Self {
        let now = now_ms();
        Conversation {
            id: new_id(),
            title: title.into(),
            created_at: now,
            updated_at: now,
            pinned: false,
            archived: false,
            profile_id: None,
            model: None,
            system_prompt: None,
            params: SamplingParams::default(),
            head_id: None,
            remote_session: None,
            preset_id: None,
        }
    }
}

/// One change to a conversation's own fields. Saving a message and choosing a branch are the
/// only ways to move its head, so no edit carries one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub enum ConversationEdit {
    Title(String),
    Pinned(bool),
    Archived(bool),
    /// A new backend; the model goes with it (models are per backend).
    Backend {
        profile_id: Option<Id>,
        model: Option<String>,
    },
    Model(Option<String>),
    SystemPrompt(Option<String>),
    Params(SamplingParams),
    /// The OpenCode session an offline copy mirrors.
    RemoteSession(Option<String>),
    CreatedAt(i64),
}

impl ConversationEdit {
    /// A sentence for an edit that must not be saved.
    pub fn validate(&self) -> crate::engine::error::Result<()> {
        use crate::engine::error::Error;
        match self {
            ConversationEdit::Title(t) if t.trim().is_empty() => Err(Error::Invalid(
                "A conversation needs a title; the old one was kept.".into(),
            )),
            ConversationEdit::Params(p) => p.validate(),
            _ => Ok(()),
        }
    }
}

impl SamplingParams {
    /// Each parameter's valid range; a value outside it gets a sentence and nothing is saved.
    pub fn validate(&self) -> crate::engine::error::Result<()> {
        use crate::engine::error::Error;
        let bad = |what: &str, range: &str| {
            Err(Error::Invalid(format!(
                "{what} must be {range}; nothing was changed."
            )))
        };
        if let Some(t) = self.temperature {
            if !(0.0..=2.0).contains(&t) {
                return bad("Temperature", "between 0 and 2");
            }
        }
        if let Some(p) = self.top_p {
            if !(0.0..=1.0).contains(&p) {
                return bad("Top P", "between 0 and 1");
            }
        }
        if self.max_tokens == Some(0) {
            return bad("Max tokens", "at least 1");
        }
        if let Some(c) = self.context_tokens {
            if c < 256 {
                return bad("The context size", "at least 256 tokens");
            }
        }
        if let Some(p) = self.presence_penalty {
            if !(-2.0..=2.0).contains(&p) {
                return bad("Presence penalty", "between -2 and 2");
            }
        }
        if let Some(p) = self.frequency_penalty {
            if !(-2.0..=2.0).contains(&p) {
                return bad("Frequency penalty", "between -2 and 2");
            }
        }
        Ok(())
    }
}

/// A conversation row as the history list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct ConversationSummary {
    pub conversation: Conversation,
    pub profile_name: Option<String>,
    pub profile_kind: Option<BackendKind>,
    pub message_count: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Json, Wire)]
#[json(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "system" => Some(Role::System),
            "user" => Some(Role::User),
            "assistant" => Some(Role::Assistant),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Json, Wire)]
#[json(rename_all = "lowercase")]
pub enum MessageStatus {
    Complete,
    Streaming,
    Interrupted,
    Error,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Complete => "complete",
            MessageStatus::Streaming => "streaming",
            MessageStatus::Interrupted => "interrupted",
            MessageStatus::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "complete" => Some(MessageStatus::Complete),
            "streaming" => Some(MessageStatus::Streaming),
            "interrupted" => Some(MessageStatus::Interrupted),
            "error" => Some(MessageStatus::Error),
            _ => None,
        }
    }
}

/// One ordered piece of a message. Plain chat uses `Text` (and `Reasoning` when the model sends
/// it); OpenCode sessions add tool calls, files and patches, kept as their server JSON so nothing
/// is lost when the server adds fields.
#[derive(Debug, Clone, PartialEq, Json, Wire)]
#[json(tag = "type", rename_all = "snake_case")]
pub enum Part {
    Text {
        text: String,
    },
    Reasoning {
        text: String,
    },
    Tool {
        data: serde_json::Value,
    },
    File {
        data: serde_json::Value,
    },
    Patch {
        data: serde_json::Value,
    },
    Other {
        data: serde_json::Value,
    },
    /// A file the user attached (its content is stored once, by SHA-256).
    Attachment(AttachmentRef),
}

/// A file attached to a message, as the message records it.
#[derive(Debug, Clone, PartialEq, Eq, Json, Wire)]
pub struct AttachmentRef {
    pub name: String,
    pub mime: String,
    pub sha256: String,
    pub bytes: u64,
}

impl AttachmentRef {
    pub fn is_image(&self) -> bool {
        self.mime.starts_with("image/")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Json, Wire)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    #[json(default, skip_none)]
    pub reasoning_tokens: Option<u64>,
    /// Counted by this app from the text (about 3 characters a token) because the server
    /// reported no usage; shown with "≈".
    #[json(default, skip_if = "std::ops::Not::not")]
    pub estimated: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct Message {
    pub id: Id,
    pub conversation_id: Id,
    pub parent_id: Option<Id>,
    pub role: Role,
    pub parts: Vec<Part>,
    pub status: MessageStatus,
    pub error: Option<String>,
    pub model: Option<String>,
    pub usage: Option<Usage>,
    pub cost: Option<f64>,
    /// Why the server ended the reply (`stop`, `length`, …), when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Message {
    /// The reply stopped at the token limit: "Continue" can carry it on.
    pub fn cut_at_limit(&self) -> bool {
        self.role == Role::Assistant
            && self.status == MessageStatus::Complete
            && self.finish_reason.as_deref() == Some("length")
    }

    pub fn new(conversation_id: &str, parent_id: Option<Id>, role: Role, text: &str) -> Self {
        let now = now_ms();
        Message {
            id: new_id(),
            conversation_id: conversation_id.to_owned(),
            parent_id,
            role,
            parts: if text.is_empty() {
                Vec::new()
            } else {
                vec![Part::Text {
                    text: text.to_owned(),
                }]
            },
            status: MessageStatus::Complete,
            error: None,
            model: None,
            usage: None,
            cost: None,
            finish_reason: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The visible text: all text parts joined. Indexed for search.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            if let Part::Text { text } = part {
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(text);
            }
        }
        out
    }

    /// The files attached to the message, in order.
    pub fn attachments(&self) -> Vec<&AttachmentRef> {
        self.parts
            .iter()
            .filter_map(|p| match p {
                Part::Attachment(a) => Some(a),
                _ => None,
            })
            .collect()
    }

    pub fn reasoning(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            if let Part::Reasoning { text } = part {
                out.push_str(text);
            }
        }
        out
    }
}

/// A message on the visible thread, with its position among alternatives (siblings that share
/// its parent) so the view can offer "‹ 2/3 ›".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct ThreadMessage {
    pub message: Message,
    pub sibling_index: usize,
    pub sibling_count: usize,
    pub sibling_ids: Vec<Id>,
}

/// The end of a visible thread (see `Store::thread_tail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct ThreadTail {
    pub messages: Vec<ThreadMessage>,
    /// The thread goes on above these messages.
    pub earlier: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Wire)]
pub struct SearchHit {
    pub conversation_id: Id,
    pub conversation_title: String,
    pub message_id: Id,
    pub role: Role,
    /// The matching excerpt; matched terms are wrapped in `HIT_START`/`HIT_END`.
    pub snippet: String,
    pub created_at: i64,
}

/// Markers around matched terms in snippets: private-use characters that never occur in text,
/// so the view can split on them without parsing any markup.
pub const HIT_START: char = '\u{E000}';
pub const HIT_END: char = '\u{E001}';

/// Split a snippet into (text, is_match) runs.
pub fn snippet_runs(snippet: &str) -> Vec<(String, bool)> {
    let mut runs = Vec::new();
    let mut cur = String::new();
    let mut in_hit = false;
    for c in snippet.chars() {
        if c == HIT_START || c == HIT_END {
            if !cur.is_empty() {
                runs.push((std::mem::take(&mut cur), in_hit));
            }
            in_hit = c == HIT_START;
        } else {
            cur.push(c);
        }
    }
    if !cur.is_empty() {
        runs.push((cur, in_hit));
    }
    runs
}

/// Filter for the history list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Wire)]
pub struct ConversationFilter {
    pub archived: bool,
    pub profile_id: Option<Id>,
    pub limit: u32,
    pub offset: u32,
}

/// "1 conversation", "2 conversations".
pub fn counted(n: impl Into<i64>, what: &str) -> String {
    let n = n.into();
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// The retention setting's cut-off: conversations untouched since then (and not pinned) are
/// deleted at start.
pub fn retention_cutoff(days: u32) -> i64 {
    now_ms() - i64::from(days) * 86_400_000
}

/// "2026-11-22 14:05" (UTC) for lists and the CLI.
pub fn format_time(ms: i64) -> String {
    // Written out from the date's parts: `time`'s format descriptions bring an interpreter
    // the browser's module does not need for three fixed layouts.
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn decimals_read_as_the_standard_library_reads_them() {
        use super::parse_decimal;
        for text in [
            "0",
            "-0",
            "+0",
            "0.7",
            ".5",
            "5.",
            "1",
            "2",
            "-1.5",
            "+2.25",
            "0.95",
            "1e3",
            "1E-3",
            "2.5e+2",
            "0.000001",
            "0.15",
            "0.6",
            "123456789012345",
            "0.1e-5",
            "00012.5000",
            "1e22",
            "1e-22",
            "3.0e0",
            "4e0007",
        ] {
            let ours = parse_decimal(text);
            let std = text.parse::<f64>().ok();
            assert_eq!(ours.map(f64::to_bits), std.map(f64::to_bits), "{text}");
        }
        for text in [
            "", "-", ".", "e5", "1e", "1e+", "1.2.3", "1,5", "0x10", "1 ", " 1", "½", "--1",
        ] {
            assert_eq!(parse_decimal(text), None, "{text:?}");
        }
        for text in [
            "1.7976931348623157",
            "9007199254740993",
            "0.1234567890123456789",
        ] {
            let (ours, std) = (parse_decimal(text).unwrap(), text.parse::<f64>().unwrap());
            assert!(
                (ours - std).abs() <= std.abs() * 1e-15,
                "{text}: {ours} {std}"
            );
        }
        // Words the standard library reads are not numbers a field takes.
        assert_eq!(parse_decimal("inf"), None);
        assert_eq!(parse_decimal("NaN"), None);
        // Random values against the standard library: bit for bit with up to 15 digits and a
        // power of ten within 22 (the point anywhere, an exponent of up to ±7); within one part
        // in 10^15 for up to 20 digits and exponents of up to ±20.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..40_000 {
            let exact = round % 2 == 0;
            let (max_len, max_exp) = if exact { (15, 7) } else { (20, 20) };
            let len = 1 + (next() % max_len) as usize;
            let mut text: String = (0..len)
                .map(|_| char::from(b'0' + (next() % 10) as u8))
                .collect();
            let point = (next() as usize) % (len + 1);
            text.insert(point, '.');
            if next() % 3 == 0 {
                let e = (next() % (2 * max_exp + 1)) as i64 - max_exp as i64;
                text.push_str(&format!("e{e}"));
            }
            let std = text.parse::<f64>().unwrap();
            let ours = parse_decimal(&text).unwrap();
            if exact {
                assert_eq!(ours.to_bits(), std.to_bits(), "{text}");
            } else {
                assert!(
                    (ours - std).abs() <= std.abs() * 1e-15,
                    "{text}: {ours} {std}"
                );
            }
        }
    }

    #[test]
    fn small_costs_keep_two_significant_digits() {
        use super::format_cost;
        assert_eq!(format_cost(0.0), "$0");
        assert_eq!(format_cost(12.345), "$12.35");
        assert_eq!(format_cost(0.01), "$0.01");
        assert_eq!(format_cost(0.0012), "$0.0012");
        assert_eq!(format_cost(0.005), "$0.0050");
        // 58 tokens in at $0.15 and 21 out at $0.60 per million.
        assert_eq!(format_cost((58.0 * 0.15 + 21.0 * 0.6) / 1e6), "$0.000021");
        assert_eq!(format_cost(3e-12), "$0.0000000000");
    }

    #[test]
    fn times_are_written_in_utc_with_zero_padding() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00");
        assert_eq!(super::format_time(1_700_000_000_000), "2023-11-14 22:13");
        assert_eq!(
            crate::engine::portability::stamp(1_700_000_000_999),
            "20231114-221320"
        );
        assert_eq!(
            crate::engine::portability::stamp(86_400_000 * 31 + 3_723_000),
            "19700201-010203"
        );
    }

    #[test]
    fn a_field_s_text_sets_its_parameter_or_is_refused_with_a_sentence() {
        use super::{ParamKey, SamplingParams};
        let p = SamplingParams::default();
        assert_eq!(
            p.with_text(ParamKey::Temperature, " 0.7 ")
                .unwrap()
                .temperature,
            Some(0.7)
        );
        assert_eq!(
            p.with_text(ParamKey::Temperature, "0,7")
                .unwrap()
                .temperature,
            Some(0.7),
            "a decimal comma"
        );
        assert_eq!(
            p.with_text(ParamKey::PresencePenalty, "-1,5")
                .unwrap()
                .presence_penalty,
            Some(-1.5)
        );
        let set = p.with_text(ParamKey::MaxTokens, "40").unwrap();
        assert_eq!(set.max_tokens, Some(40));
        assert_eq!(
            set.with_text(ParamKey::MaxTokens, "").unwrap().max_tokens,
            None
        );
        for (key, text, sentence) in [
            (
                ParamKey::Temperature,
                "3",
                "Temperature must be between 0 and 2",
            ),
            (ParamKey::Temperature, "1,2,3", "“1,2,3” is not one"),
            (ParamKey::MaxTokens, "1,000", "“1,000” is not one"),
            (ParamKey::Seed, "abc", "“abc” is not one"),
        ] {
            let refused = set.with_text(key, text).unwrap_err();
            assert!(refused.contains(sentence), "{text}: {refused}");
        }
    }
}
