//! Server health, providers with their models, and agents (`/global/health`,
//! `/config/providers`, `/agent`).

use std::collections::{BTreeMap, HashMap};

use crate::engine::json::Json;
use crate::engine::json::Value;

use super::common::ModelRef;
use super::de::{de_count, de_null_false};

/// `GET /global/health`.
#[derive(Debug, Clone, PartialEq, Eq, Json)]
pub struct Health {
    pub healthy: bool,
    #[json(default, skip_none)]
    pub version: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Json)]
pub struct ModelLimit {
    #[json(default, with = "de_count")]
    pub context: u64,
    #[json(default, with = "de_count")]
    pub output: u64,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct Model {
    pub id: String,
    #[json(default)]
    pub name: String,
    #[json(rename = "providerID", default, skip_none)]
    pub provider_id: Option<String>,
    #[json(default)]
    pub limit: ModelLimit,
    #[json(default, skip_none)]
    pub status: Option<String>,
    /// Kept raw: the capability set grows often and the UI only peeks at a few flags.
    #[json(default, skip_none)]
    pub capabilities: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Json)]
pub struct Provider {
    pub id: String,
    #[json(default)]
    pub name: String,
    #[json(default, skip_none)]
    pub source: Option<String>,
    /// Keyed by model id; a BTreeMap so model pickers list them in a stable order.
    #[json(default)]
    pub models: BTreeMap<String, Model>,
}

/// `GET /config/providers`.
#[derive(Debug, Clone, Default, PartialEq, Json)]
pub struct ProvidersResponse {
    #[json(default)]
    pub providers: Vec<Provider>,
    /// Provider id → default model id.
    #[json(default)]
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
#[derive(Debug, Clone, PartialEq, Json)]
pub struct Agent {
    pub name: String,
    /// `primary`, `subagent` or `all`.
    #[json(default)]
    pub mode: String,
    #[json(default, skip_none)]
    pub description: Option<String>,
    #[json(default, with = "de_null_false")]
    pub hidden: bool,
    #[json(default, with = "de_null_false")]
    pub native: bool,
    #[json(default, skip_none)]
    pub model: Option<ModelRef>,
    #[json(default, skip_none)]
    pub variant: Option<String>,
    #[json(default, skip_none)]
    pub color: Option<String>,
}

impl Agent {
    /// Whether a user can pick this agent for a prompt (primary or all, and not hidden).
    pub fn is_selectable(&self) -> bool {
        !self.hidden && self.mode != "subagent"
    }
}
