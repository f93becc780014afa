//! Small types shared by several topics: timestamps, token usage and model references.

use crate::engine::json::Json;

use super::de::de_count;

/// Epoch milliseconds. The schema types some times as `number`, so they are read leniently.
pub type Millis = u64;

/// Cache token counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Json)]
pub struct CacheTokens {
    #[json(default, with = "de_count")]
    pub read: u64,
    #[json(default, with = "de_count")]
    pub write: u64,
}

/// Token usage of a message, a step or a whole session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Json)]
pub struct Tokens {
    #[json(default, with = "de_count")]
    pub input: u64,
    #[json(default, with = "de_count")]
    pub output: u64,
    #[json(default, with = "de_count")]
    pub reasoning: u64,
    #[json(default)]
    pub cache: CacheTokens,
}

impl Tokens {
    /// Adds another usage record to this one (saturating, counts never wrap).
    pub fn add(&mut self, other: &Tokens) {
        self.input = self.input.saturating_add(other.input);
        self.output = self.output.saturating_add(other.output);
        self.reasoning = self.reasoning.saturating_add(other.reasoning);
        self.cache.read = self.cache.read.saturating_add(other.cache.read);
        self.cache.write = self.cache.write.saturating_add(other.cache.write);
    }

    /// Everything counted, for a compact "N tokens" label.
    pub fn total(&self) -> u64 {
        self.input
            .saturating_add(self.output)
            .saturating_add(self.reasoning)
            .saturating_add(self.cache.read)
            .saturating_add(self.cache.write)
    }
}

/// A model chosen for a prompt: `{"providerID","modelID"}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Json)]
pub struct ModelRef {
    #[json(rename = "providerID")]
    pub provider_id: String,
    #[json(rename = "modelID")]
    pub model_id: String,
}

impl ModelRef {
    /// From the "provider/model" form pickers and stored conversations use.
    pub fn parse(s: &str) -> Option<ModelRef> {
        let (provider, model) = s.split_once('/')?;
        Some(ModelRef {
            provider_id: provider.to_owned(),
            model_id: model.to_owned(),
        })
    }

    /// "provider/model", as [`ModelRef::parse`] reads it.
    pub fn key(&self) -> String {
        format!("{}/{}", self.provider_id, self.model_id)
    }
}
