//! In-memory fakes of the platform traits, for tests only: component tests and engine tests
//! drive these instead of the keychain, the desktop shell or real HTTP settings.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::rc::Rc;

use super::{HttpFactory, SecretStatus, SecretStore, Services, Shell};
use crate::engine::error::{Error, Result};
use crate::engine::store::api::StoreClient;
#[cfg(feature = "sqlite")]
use crate::engine::store::Store;

#[derive(Default)]
pub struct MemorySecrets {
    pub values: RefCell<HashMap<String, String>>,
    /// Simulate a machine without a secret service.
    pub unavailable: bool,
}

#[async_trait::async_trait(?Send)]
impl SecretStore for MemorySecrets {
    async fn get(&self, profile_id: &str) -> Result<Option<String>> {
        if self.unavailable {
            return Err(Error::SecretServiceUnavailable {
                detail: "test: no secret service".into(),
            });
        }
        Ok(self.values.borrow().get(profile_id).cloned())
    }
    async fn set(&self, profile_id: &str, secret: &str) -> Result<()> {
        if self.unavailable {
            return Err(Error::SecretServiceUnavailable {
                detail: "test: no secret service".into(),
            });
        }
        self.values
            .borrow_mut()
            .insert(profile_id.to_owned(), secret.to_owned());
        Ok(())
    }
    async fn delete(&self, profile_id: &str) -> Result<()> {
        self.values.borrow_mut().remove(profile_id);
        Ok(())
    }
    async fn status(&self) -> SecretStatus {
        if self.unavailable {
            SecretStatus::Unavailable {
                reason: "test: no secret service".into(),
            }
        } else {
            SecretStatus::Available {
                backend: "memory (tests)".into(),
            }
        }
    }
}

/// Records what the app asked the shell to do.
#[derive(Default)]
pub struct MemoryShell {
    pub opened: RefCell<Vec<String>>,
    pub clipboard: RefCell<String>,
    pub notifications: RefCell<Vec<(String, String)>>,
    /// Files handed over with `save_file`: (name, contents).
    pub saved: RefCell<Vec<(String, Vec<u8>)>>,
}

#[async_trait::async_trait(?Send)]
impl Shell for MemoryShell {
    fn data_dir(&self) -> Option<PathBuf> {
        None
    }
    fn open_url(&self, url: &str) -> Result<()> {
        self.opened.borrow_mut().push(url.to_owned());
        Ok(())
    }
    fn copy_to_clipboard(&self, text: &str) -> Result<()> {
        *self.clipboard.borrow_mut() = text.to_owned();
        Ok(())
    }
    fn notify(&self, title: &str, body: &str) {
        self.notifications
            .borrow_mut()
            .push((title.to_owned(), body.to_owned()));
    }
    fn export_dir(&self) -> Option<PathBuf> {
        None
    }
    fn backups_dir(&self) -> Option<PathBuf> {
        None
    }
    fn save_file(&self, file_name: &str, _mime: &str, contents: &[u8]) -> Result<String> {
        self.saved
            .borrow_mut()
            .push((file_name.to_owned(), contents.to_vec()));
        Ok(format!("Saved {file_name}."))
    }
    async fn pasted_files(&self) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(Vec::new())
    }
    fn delete_logs(&self) -> Result<()> {
        Ok(())
    }
}

pub struct DefaultHttp;

impl HttpFactory for DefaultHttp {
    fn client(&self) -> reqwest::Client {
        reqwest::Client::new()
    }
}

/// Services over an in-memory SQLite store and fakes. The store's requests and answers go
/// through the browser worker's binary form (`StoreClient::inline_over_wire`), so the tests
/// that run the app on these services also carry their data through that form.
#[cfg(feature = "sqlite")]
pub fn services() -> Services {
    let store = Store::open_in_memory().expect("in-memory SQLite always opens");
    services_with(StoreClient::inline_over_wire(store))
}

pub fn services_with(store: StoreClient) -> Services {
    Services::new(
        store,
        Rc::new(MemorySecrets::default()),
        Rc::new(DefaultHttp),
        Rc::new(MemoryShell::default()),
    )
}
