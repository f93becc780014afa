//! Server health, providers with their models, and agents (`/global/health`,
//! `/config/providers`, `/agent`).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::ModelRef;
use super::de::{de_count, de_null_false};

/// `GET /global/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub healthy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelLimit {
    #[serde(default, deserialize_with = "de_count")]
    pub context: u64,
    #[serde(default, deserialize_with = "de_count")]
    pub output: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(
        rename = "providerID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub provider_id: Option<String>,
    #[serde(default)]
    pub limit: ModelLimit,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Kept raw: the capability set grows often and the UI only peeks at a few flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provider {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Keyed by model id; a BTreeMap so model pickers list them in a stable order.
    #[serde(default)]
    pub models: BTreeMap<String, Model>,
}

/// `GET /config/providers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProvidersResponse {
    #[serde(default)]
    pub providers: Vec<Provider>,
    /// Provider id → default model id.
    #[serde(default)]
    pub default: HashMap<String, String>,
}

impl ProvidersResponse {
    /// The server's default model for a provider, as a [`ModelRef`].
    pub fn default_model(&self, provider_id: &str) -> Option<ModelRef> {
        self.default.get(provider_id).map(|m| ModelRef {
            provider_id: provider_id.to_owned(),
            model_id: m.clone(),
        })
    }
}

/// `GET /agent` entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub name: String,
    /// `primary`, `subagent` or `all`.
    #[serde(default)]
    pub mode: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "de_null_false")]
    pub hidden: bool,
    #[serde(default, deserialize_with = "de_null_false")]
    pub native: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

impl Agent {
    /// Whether a user can pick this agent for a prompt (primary or all, and not hidden).
    pub fn is_selectable(&self) -> bool {
        !self.hidden && self.mode != "subagent"
    }
}
