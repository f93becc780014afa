//! Backend profiles as Settings edits them: the form's values, saving them (the profile row,
//! the key in the keychain or for this session only) and removing a profile with its key.

use crate::engine::error::{Error, Result};
use crate::engine::model::{now_ms, BackendKind, Id, Profile};
use crate::engine::providers::normalize_base_url;
use crate::platform::Services;

/// What the profile editor holds while the user types.
#[derive(Clone, PartialEq, Default, Debug)]
pub struct ProfileForm {
    pub id: Option<Id>,
    pub name: String,
    pub kind: String,
    pub url: String,
    pub model: String,
    pub key: String,
    pub headers: String,
    pub username: String,
    pub directory: String,
}

impl ProfileForm {
    pub fn from_profile(p: &Profile) -> Self {
        ProfileForm {
            id: Some(p.id.clone()),
            name: p.name.clone(),
            kind: p.kind.as_str().into(),
            url: p.base_url.clone(),
            model: p.default_model.clone().unwrap_or_default(),
            key: String::new(),
            headers: p
                .headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}"))
                .collect::<Vec<_>>()
                .join("\n"),
            username: p.username.clone().unwrap_or_default(),
            directory: p.directory.clone().unwrap_or_default(),
        }
    }
}

/// Save the form as a profile (new or edited); the key goes to the keychain, or is kept for
/// this session only when `session_only`. An invalid URL or a refused key changes nothing.
pub async fn save(services: &Services, form: &ProfileForm, session_only: bool) -> Result<Profile> {
    if form.name.trim().is_empty() {
        return Err(Error::Invalid("Give the backend a name.".into()));
    }
    let kind = BackendKind::parse(&form.kind).unwrap_or(BackendKind::OpenAiCompatible);
    let url = normalize_base_url(&form.url)?;
    let mut profile = match &form.id {
        Some(id) => services.store.get_profile(id.clone()).await?,
        None => Profile::new(form.name.trim(), kind, url.clone()),
    };
    profile.name = form.name.trim().to_owned();
    profile.kind = kind;
    profile.base_url = url;
    profile.default_model = Some(form.model.trim().to_owned()).filter(|m| !m.is_empty());
    profile.username = Some(form.username.trim().to_owned()).filter(|m| !m.is_empty());
    profile.directory = Some(form.directory.trim().to_owned()).filter(|m| !m.is_empty());
    profile.headers = form
        .headers
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .filter(|(n, _)| !n.is_empty())
        .collect();
    profile.updated_at = now_ms();
    let key = form.key.trim();
    // The key first: a keychain that refuses it leaves no profile without its key behind.
    if !key.is_empty() && !session_only {
        services.secrets.set(&profile.id, key).await?;
    }
    services.store.save_profile(profile.clone()).await?;
    if !key.is_empty() && session_only {
        services.set_session_key(&profile.id, key);
    }
    Ok(profile)
}

/// Remove a profile and its key (from the keychain and this session).
pub async fn remove(services: &Services, id: &Id) -> Result<()> {
    services.store.delete_profile(id.clone()).await?;
    services.forget_session_key(id);
    match services.secrets.delete(id).await {
        Ok(()) | Err(Error::SecretServiceUnavailable { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
