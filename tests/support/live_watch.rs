//! A live OpenCode connection (`engine::opencode::live::run`) driven on a test's runtime, its
//! updates applied to a `ServerState` and kept for inspection.
#![allow(dead_code)]

use std::collections::HashSet;
use std::time::Duration;

use futures_channel::mpsc::{unbounded, UnboundedReceiver, UnboundedSender};
use futures_util::StreamExt;
use opencode_nexus::engine::opencode::api::{Event, MessageWithParts, Part};
use opencode_nexus::engine::opencode::client::OpenCodeClient;
use opencode_nexus::engine::opencode::live::{
    self, Command, Connection, LiveOptions, LiveUpdate, ServerState,
};
use opencode_nexus::engine::opencode::state::SessionView;

/// A live connection driven on the test's runtime, with its updates applied to a
/// `ServerState` and kept for inspection.
pub struct Watcher {
    pub updates: UnboundedReceiver<LiveUpdate>,
    pub commands: UnboundedSender<Command>,
    pub state: ServerState,
    pub events: Vec<Event>,
    pub connections: Vec<Connection>,
    pub snapshots: usize,
    pub driver: Option<tokio::task::JoinHandle<()>>,
}

impl Watcher {
    pub fn start(client: OpenCodeClient, options: LiveOptions, open: Option<&str>) -> Watcher {
        let (commands, rx) = unbounded();
        let (tx, updates) = unbounded();
        let driver = tokio::spawn(live::run(
            client,
            options,
            open.map(str::to_owned),
            rx,
            move |u| {
                let _ = tx.unbounded_send(u);
            },
        ));
        let mut state = ServerState::default();
        state.open(open);
        Watcher {
            updates,
            commands,
            state,
            events: Vec::new(),
            connections: Vec::new(),
            snapshots: 0,
            driver: Some(driver),
        }
    }

    /// Applies updates until `done` holds; panics with the state after `limit`.
    pub async fn until(&mut self, what: &str, limit: Duration, done: impl Fn(&Watcher) -> bool) {
        let deadline = tokio::time::Instant::now() + limit;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.updates.next()).await {
                Ok(Some(u)) => {
                    match &u {
                        LiveUpdate::Event(e) => self.events.push(e.clone()),
                        LiveUpdate::Connection(c) => self.connections.push(c.clone()),
                        LiveUpdate::Snapshot(_) => self.snapshots += 1,
                    }
                    self.state.apply(&u);
                }
                Ok(None) => panic!("the live connection ended while waiting for {what}"),
                Err(_) => panic!(
                    "timed out after {limit:?} waiting for {what}; connection {:?}; view {:#?}",
                    self.state.connection, self.state.view
                ),
            }
        }
    }

    pub fn view(&self) -> &SessionView {
        self.state.view.as_ref().expect("a session is open")
    }

    pub fn reply_done(&self, known: &HashSet<String>) -> bool {
        let v = self.view();
        !self.state.is_busy(&v.session_id)
            && v.messages
                .iter()
                .rev()
                .filter_map(|m| m.info.as_assistant())
                .find(|a| !known.contains(&a.id))
                .is_some_and(|a| a.time.completed.is_some() || a.error.is_some())
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(d) = &self.driver {
            d.abort();
        }
    }
}

pub fn duplicate_part_ids(messages: &[MessageWithParts]) -> Vec<String> {
    let mut seen = HashSet::new();
    messages
        .iter()
        .flat_map(|m| &m.parts)
        .filter_map(Part::id)
        .filter(|id| !seen.insert(id.to_string()))
        .map(str::to_owned)
        .collect()
}
