//! The OpenCode client as the tests use it against real and stand-in servers.
#![allow(dead_code)]

use opencode_nexus::engine::opencode::api::CreateSessionBody;
use opencode_nexus::engine::opencode::client::OpenCodeClient;

/// A client for the server at `url` with the app's HTTP defaults.
pub fn client(url: &str, password: Option<&str>) -> OpenCodeClient {
    OpenCodeClient::new(
        OpenCodeClient::default_http(),
        url,
        password.map(str::to_owned),
        None,
        None,
    )
    .expect("valid url")
}

/// A new session with a title (so the server does not spend its model on naming it).
pub async fn titled_session(client: &OpenCodeClient, title: &str) -> String {
    client
        .create_session(&CreateSessionBody {
            title: Some(title.to_owned()),
            ..Default::default()
        })
        .await
        .expect("create session")
        .id
}
