//! The conversation engine: turns "send this", "regenerate that", "edit and resend" into store
//! writes and a streamed provider request, so that nothing the user wrote or received is lost.
//!
//! The user message is saved before the request starts; the assistant message is saved as
//! `streaming` at once, its text is persisted at a bounded rate while deltas arrive, and it ends
//! `complete`, `interrupted` (Stop, Ctrl-C, app exit) or `error` with the engine's sentence.
//! Callers get every delta through `on_update` and decide how often to repaint.

use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{select, Either, FutureExt};

use crate::engine::error::{Error, Result};
use crate::engine::model::*;
use crate::engine::providers::openai::{
    is_context_overflow, rejects_stream_options, ChatRequest, OpenAiClient, StreamEvent,
    WireMessage,
};
use crate::engine::rt;
use crate::engine::store::api::StoreClient;

/// Default budget when the user has not said how large the model's context is.
pub const DEFAULT_CONTEXT_TOKENS: u32 = 32_768;
/// Title given to new conversations until the first exchange names them.
pub const NEW_CONVERSATION_TITLE: &str = "New chat";

#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// How often streamed text is written to the database while a reply arrives.
    pub persist_every: Duration,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            persist_every: Duration::from_millis(250),
        }
    }
}

/// What a caller sees while a reply streams.
#[derive(Debug, Clone, PartialEq)]
pub enum ChatUpdate {
    /// The user message (new or edited) and the empty assistant message were saved.
    /// `conversation` is set when this send created the conversation.
    Started {
        conversation: Option<Box<Conversation>>,
        user: Option<Box<Message>>,
        assistant: Box<Message>,
    },
    Content {
        message_id: Id,
        text: String,
    },
    Reasoning {
        message_id: Id,
        text: String,
    },
    /// The assistant message in its final state, and how the reply ended.
    Finished {
        message: Box<Message>,
        outcome: Outcome,
    },
}

/// How a reply ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server finished the reply.
    Complete,
    /// The user stopped it (Stop, Esc, Ctrl-C); the partial reply is kept, marked interrupted.
    Stopped,
    /// The connection dropped or stalled; the partial reply is kept, marked interrupted.
    Interrupted,
    /// The server refused or failed; the message carries the engine's sentence.
    Failed,
}

/// Where a send goes: an existing conversation, or a new one the engine creates when the send
/// starts (named from the first words, then by the model after the first exchange).
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Existing(Id),
    New(NewChat),
}

/// How a new conversation starts: its backend and model, and what a preset gives it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewChat {
    pub profile_id: Id,
    pub model: Option<String>,
    pub system_prompt: Option<String>,
    pub params: SamplingParams,
    pub preset_id: Option<Id>,
}

impl NewChat {
    pub fn on(profile_id: impl Into<Id>, model: Option<String>) -> Self {
        NewChat {
            profile_id: profile_id.into(),
            model,
            ..Default::default()
        }
    }

    /// A chat started from a preset: its system prompt and parameters, and its backend and
    /// model where it names them (else the ones given).
    pub fn from_preset(preset: &Preset, profile_id: impl Into<Id>, model: Option<String>) -> Self {
        let (profile_id, model) = match &preset.profile_id {
            Some(p) => (p.clone(), preset.model.clone()),
            None => (profile_id.into(), preset.model.clone().or(model)),
        };
        NewChat {
            profile_id,
            model,
            system_prompt: preset.system_prompt.clone(),
            params: preset.params.clone(),
            preset_id: Some(preset.id.clone()),
        }
    }
}

/// What a finished send, regenerate or edit reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The conversation as saved when the reply ended.
    pub conversation: Conversation,
    /// The assistant message in its final state.
    pub message: Message,
    pub outcome: Outcome,
    /// The user text this reply answers.
    pub user_text: String,
    /// This was the conversation's first exchange (the one that names it).
    pub first_exchange: bool,
    /// Something the user should know about a reply that did not fail (a continuation that
    /// added nothing), as a sentence.
    pub note: Option<String>,
}

/// A new conversation on a backend, titled from the first words of its first message until
/// the model names it. The one way conversations are started, for the app, the CLI and
/// OpenCode sessions alike.
pub fn new_conversation(setup: &NewChat, first_text: &str) -> Conversation {
    let title = fallback_title(first_text);
    let mut c = Conversation::new(if title.is_empty() {
        NEW_CONVERSATION_TITLE.to_owned()
    } else {
        title
    });
    c.profile_id = Some(setup.profile_id.clone());
    c.model = setup.model.clone();
    c.system_prompt = setup.system_prompt.clone().filter(|p| !p.trim().is_empty());
    c.params = setup.params.clone();
    c.preset_id = setup.preset_id.clone();
    c
}

/// Put a just-saved message into a thread the way the store would show it: on the branch of
/// its parent, after it, with the siblings it joined. Returns false when the parent is not in
/// the thread (the caller then reads the thread again).
pub fn attach_to_thread(thread: &mut Vec<ThreadMessage>, message: &Message) -> bool {
    let depth = match &message.parent_id {
        None => 0,
        Some(parent) => match thread.iter().position(|t| &t.message.id == parent) {
            Some(p) => p + 1,
            None => return false,
        },
    };
    let mut ids = thread
        .get(depth)
        .filter(|t| t.message.parent_id == message.parent_id)
        .map(|t| t.sibling_ids.clone())
        .unwrap_or_default();
    if !ids.contains(&message.id) {
        ids.push(message.id.clone());
    }
    thread.truncate(depth);
    thread.push(ThreadMessage {
        sibling_index: ids.iter().position(|i| *i == message.id).unwrap_or(0),
        sibling_count: ids.len(),
        sibling_ids: ids,
        message: message.clone(),
    });
    true
}

/// Replace a message of the thread with its newer state (a finished reply).
pub fn update_in_thread(thread: &mut [ThreadMessage], message: &Message) -> bool {
    match thread.iter_mut().find(|t| t.message.id == message.id) {
        Some(t) => {
            t.message = message.clone();
            true
        }
        None => false,
    }
}

/// Cancels a running reply: Stop in the UI, Ctrl-C in the CLI. Dropping it cancels too.
pub struct StopHandle(Option<oneshot::Sender<()>>);

impl StopHandle {
    pub fn stop(mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

pub struct StopSignal(oneshot::Receiver<()>);

pub fn stop_pair() -> (StopHandle, StopSignal) {
    let (tx, rx) = oneshot::channel();
    (StopHandle(Some(tx)), StopSignal(rx))
}

/// Which of the records a reply starts with are new to the caller.
#[derive(Default, Clone, Copy)]
struct Announce {
    conversation: bool,
    user: bool,
}

/// Everything a reply needs from the conversation's settings.
pub struct ReplyContext<'a> {
    pub store: &'a StoreClient,
    pub client: &'a OpenAiClient,
    pub options: &'a EngineOptions,
}

impl ReplyContext<'_> {
    /// Add a user message on the current branch (of a new conversation, for
    /// [`Target::New`]) and stream the reply.
    pub async fn send(
        &self,
        target: Target,
        text: &str,
        stop: StopSignal,
        on_update: &mut dyn FnMut(ChatUpdate),
    ) -> Result<Reply> {
        self.send_with(target, text, Vec::new(), stop, on_update)
            .await
    }

    /// [`ReplyContext::send`] with files attached to the message (checked first: nothing is
    /// saved or sent when one is refused).
    pub async fn send_with(
        &self,
        target: Target,
        text: &str,
        files: Vec<crate::engine::attachments::NewAttachment>,
        stop: StopSignal,
        on_update: &mut dyn FnMut(ChatUpdate),
    ) -> Result<Reply> {
        if text.trim().is_empty() && files.is_empty() {
            return Err(Error::Invalid("Type a message before sending.".into()));
        }
        crate::engine::attachments::check_count(files.len())?;
        let title_text = if text.trim().is_empty() {
            files.first().map(|f| f.name.clone()).unwrap_or_default()
        } else {
            text.to_owned()
        };
        let (conv, created) = match target {
            Target::Existing(id) => (self.store.get_conversation(id).await?, false),
            Target::New(setup) => {
                setup.params.validate()?;
                let c = new_conversation(&setup, &title_text);
                self.store.create_conversation(c.clone()).await?;
                (c, true)
            }
        };
        let mut user = Message::new(&conv.id, conv.head_id.clone(), Role::User, text);
        if text.trim().is_empty() {
            user.parts.clear();
        }
        for f in &files {
            user.parts.push(Part::Attachment(f.reference()));
        }
        self.store
            .save_message_with_files(user.clone(), files, true)
            .await?;
        let first_exchange = conv.head_id.is_none();
        self.reply_to(
            conv,
            &user,
            Announce {
                conversation: created,
                user: true,
            },
            first_exchange,
            stop,
            on_update,
        )
        .await
    }

    /// A new reply to the same user turn; the previous reply stays as an alternative.
    pub async fn regenerate(
        &self,
        assistant_id: &str,
        stop: StopSignal,
        on_update: &mut dyn FnMut(ChatUpdate),
    ) -> Result<Reply> {
        let old = self.store.get_message(assistant_id.into()).await?;
        let parent_id = old
            .parent_id
            .clone()
            .ok_or_else(|| Error::Invalid("This reply has no question to answer again.".into()))?;
        let user = self.store.get_message(parent_id).await?;
        let conv = self
            .store
            .get_conversation(user.conversation_id.clone())
            .await?;
        self.reply_to(conv, &user, Announce::default(), false, stop, on_update)
            .await
    }

    /// Replace a user message with edited text on a new branch (the old turns stay reachable
    /// through the alternatives switcher) and stream a reply to it.
    pub async fn edit_and_resend(
        &self,
        user_id: &str,
        new_text: &str,
        stop: StopSignal,
        on_update: &mut dyn FnMut(ChatUpdate),
    ) -> Result<Reply> {
        let old = self.store.get_message(user_id.into()).await?;
        if old.role != Role::User {
            return Err(Error::Invalid(
                "Only your own messages can be edited.".into(),
            ));
        }
        if new_text.trim().is_empty() {
            return Err(Error::Invalid("An edited message cannot be empty.".into()));
        }
        let mut user = Message::new(
            &old.conversation_id,
            old.parent_id.clone(),
            Role::User,
            new_text,
        );
        // The edited message keeps its files (stored once, shared by both versions).
        user.parts.extend(
            old.attachments()
                .into_iter()
                .map(|a| Part::Attachment(a.clone())),
        );
        self.store.save_message(user.clone(), true).await?;
        let conv = self
            .store
            .get_conversation(user.conversation_id.clone())
            .await?;
        let announce = Announce {
            conversation: false,
            user: true,
        };
        self.reply_to(conv, &user, announce, false, stop, on_update)
            .await
    }

    /// Carry on a reply the server cut at its token limit: the model is asked to go on from
    /// where it stopped, and what it writes is added to the same message.
    pub async fn continue_reply(
        &self,
        assistant_id: &str,
        stop: StopSignal,
        on_update: &mut dyn FnMut(ChatUpdate),
    ) -> Result<Reply> {
        let old = self.store.get_message(assistant_id.into()).await?;
        if old.role != Role::Assistant {
            return Err(Error::Invalid("Only a reply can be continued.".into()));
        }
        let conv = self
            .store
            .get_conversation(old.conversation_id.clone())
            .await?;
        if conv.head_id.as_deref() != Some(old.id.as_str()) {
            return Err(Error::Invalid(
                "Only the last reply of the conversation can be continued.".into(),
            ));
        }
        let mut history = self.ancestors(&old).await?;
        let user_text = history
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(Message::text)
            .unwrap_or_default();
        history.push(Message::new(&conv.id, None, Role::User, CONTINUE_PROMPT));

        let before = old.text();
        let mut assistant = old.clone();
        assistant.status = MessageStatus::Streaming;
        assistant.error = None;
        assistant.finish_reason = None;
        // What the continuation uses is counted on its own, then added to the first part's.
        assistant.usage = None;
        assistant.cost = None;
        self.store.save_message(assistant.clone(), true).await?;
        on_update(ChatUpdate::Started {
            conversation: None,
            user: None,
            assistant: Box::new(assistant.clone()),
        });
        // The continuation's tokens and cost add to what the first part used.
        let sent = Sent {
            prefix: before.clone(),
            earlier_usage: old.usage.clone(),
            earlier_cost: old.cost,
            ..Sent::default()
        };
        let (outcome, message, conversation) = self
            .stream_reply(&conv, &history, assistant, sent, stop, on_update)
            .await?;
        // A model that only wrote its reply again added nothing (see `Joiner`): say so, or
        // "Continue" seems to do nothing at all.
        let note = (outcome == Outcome::Complete && message.text() == before)
            .then(|| CONTINUE_ADDED_NOTHING.to_owned());
        Ok(Reply {
            conversation,
            message,
            outcome,
            user_text,
            first_exchange: false,
            note,
        })
    }

    async fn reply_to(
        &self,
        conv: Conversation,
        user: &Message,
        announce: Announce,
        first_exchange: bool,
        stop: StopSignal,
        on_update: &mut dyn FnMut(ChatUpdate),
    ) -> Result<Reply> {
        let thread = self.store.thread(conv.id.clone()).await?;
        // The history up to and including this user message (the head is on its branch now or
        // the user message is the parent of the reply being regenerated).
        let mut history: Vec<Message> = Vec::new();
        for t in thread {
            let is_user = t.message.id == user.id;
            history.push(t.message);
            if is_user {
                break;
            }
        }
        if history.last().map(|m| m.id.as_str()) != Some(user.id.as_str()) {
            history = self.ancestors(user).await?;
        }

        let mut assistant = Message::new(&conv.id, Some(user.id.clone()), Role::Assistant, "");
        assistant.status = MessageStatus::Streaming;
        assistant.model = conv.model.clone();
        self.store.save_message(assistant.clone(), true).await?;
        on_update(ChatUpdate::Started {
            conversation: announce.conversation.then(|| Box::new(conv.clone())),
            user: announce.user.then(|| Box::new(user.clone())),
            assistant: Box::new(assistant.clone()),
        });

        let (outcome, message, conversation) = self
            .stream_reply(&conv, &history, assistant, Sent::default(), stop, on_update)
            .await?;
        Ok(Reply {
            conversation,
            message,
            outcome,
            user_text: user.text(),
            first_exchange,
            note: None,
        })
    }

    /// Stream into `assistant` (saved as streaming already) until the reply ends, then mark,
    /// account and save it. Returns how it ended, the message and the conversation as saved.
    async fn stream_reply(
        &self,
        conv: &Conversation,
        history: &[Message],
        mut assistant: Message,
        mut sent: Sent,
        stop: StopSignal,
        on_update: &mut dyn FnMut(ChatUpdate),
    ) -> Result<(Outcome, Message, Conversation)> {
        let budget = conv.params.context_tokens.unwrap_or(DEFAULT_CONTEXT_TOKENS);
        let result = self
            .stream_into(
                conv,
                history,
                budget,
                &mut assistant,
                &mut sent,
                stop,
                on_update,
            )
            .await;
        let (outcome, message) = self
            .finish(conv, assistant, &sent, result, on_update)
            .await?;
        let conversation = self.store.get_conversation(conv.id.clone()).await?;
        Ok((outcome, message, conversation))
    }

    /// Mark how a streamed reply ended, account its tokens and cost, save it and tell the
    /// caller.
    async fn finish(
        &self,
        conv: &Conversation,
        mut assistant: Message,
        sent: &Sent,
        result: Result<()>,
        on_update: &mut dyn FnMut(ChatUpdate),
    ) -> Result<(Outcome, Message)> {
        let outcome = match result {
            Ok(()) => {
                assistant.status = MessageStatus::Complete;
                Outcome::Complete
            }
            Err(Error::Cancelled) => {
                assistant.status = MessageStatus::Interrupted;
                assistant.error = Some("Stopped before the reply finished.".into());
                Outcome::Stopped
            }
            Err(e) => {
                let outcome = match e {
                    Error::Disconnected { .. } | Error::Stalled { .. } => Outcome::Interrupted,
                    _ => Outcome::Failed,
                };
                assistant.status = match outcome {
                    Outcome::Interrupted => MessageStatus::Interrupted,
                    _ => MessageStatus::Error,
                };
                assistant.error = Some(e.to_string());
                outcome
            }
        };
        self.account(conv, &mut assistant, sent).await;
        assistant.updated_at = now_ms();
        self.store.save_message(assistant.clone(), true).await?;
        on_update(ChatUpdate::Finished {
            message: Box::new(assistant.clone()),
            outcome,
        });
        Ok((outcome, assistant))
    }

    /// After a conversation's first complete exchange, ask the model for a title and save it.
    /// Returns the renamed conversation; `None` when there is nothing to name or the model gave
    /// no usable title (the first words stay).
    pub async fn name(&self, reply: &Reply) -> Option<Conversation> {
        if !reply.first_exchange || reply.outcome != Outcome::Complete {
            return None;
        }
        let title = generate_title(
            self.client,
            reply.conversation.model.clone(),
            &reply.user_text,
            &reply.message.text(),
        )
        .await?;
        match self
            .store
            .rename_conversation(reply.conversation.id.clone(), title)
            .await
        {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(error = %e, "saving the conversation's title failed");
                None
            }
        }
    }

    /// Tokens and cost of a finished reply: the server's usage when it sent one, else an
    /// estimate from the text (marked as such); the cost from the user's price for the model.
    async fn account(&self, conv: &Conversation, assistant: &mut Message, sent: &Sent) {
        let text = assistant.text();
        let text = text.strip_prefix(sent.prefix.as_str()).unwrap_or(&text);
        if assistant.usage.is_none() && sent.prompt_estimate > 0 && !text.is_empty() {
            assistant.usage = Some(Usage {
                prompt_tokens: sent.prompt_estimate,
                completion_tokens: u64::from(estimate_tokens(text)),
                reasoning_tokens: None,
                estimated: true,
            });
        }
        if let (Some(profile_id), Some(model), Some(usage)) = (
            conv.profile_id.clone(),
            assistant.model.clone().or_else(|| conv.model.clone()),
            assistant.usage.as_ref(),
        ) {
            match self.store.get_price(profile_id, model).await {
                Ok(Some(price)) => assistant.cost = Some(price.cost(usage)),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "reading the model's price failed"),
            }
        }
        assistant.usage = match (sent.earlier_usage.clone(), assistant.usage.take()) {
            (Some(e), Some(mut u)) => {
                u.prompt_tokens += e.prompt_tokens;
                u.completion_tokens += e.completion_tokens;
                u.estimated |= e.estimated;
                Some(u)
            }
            (e, u) => e.or(u),
        };
        assistant.cost = match (sent.earlier_cost, assistant.cost) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    /// The stored contents of the files a history carries.
    async fn files_of(&self, history: &[Message]) -> Result<Files> {
        let mut files = Files::new();
        for m in history {
            for a in m.attachments() {
                if !files.contains_key(&a.sha256) {
                    match self.store.attachment_data(a.sha256.clone()).await {
                        Ok(blob) => {
                            files.insert(a.sha256.clone(), blob);
                        }
                        Err(Error::NotFound { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(files)
    }

    async fn ancestors(&self, message: &Message) -> Result<Vec<Message>> {
        let mut chain = vec![message.clone()];
        let mut cursor = message.parent_id.clone();
        while let Some(id) = cursor {
            let m = self.store.get_message(id).await?;
            cursor = m.parent_id.clone();
            chain.push(m);
        }
        chain.reverse();
        Ok(chain)
    }

    #[allow(clippy::too_many_arguments)]
    async fn stream_into(
        &self,
        conv: &Conversation,
        history: &[Message],
        budget: u32,
        assistant: &mut Message,
        sent: &mut Sent,
        stop: StopSignal,
        on_update: &mut dyn FnMut(ChatUpdate),
    ) -> Result<()> {
        let mut stop = stop.0.fuse();
        let mut budget = budget;
        // Usage is asked for in the stream unless this backend said it does not take the field.
        let mut ask_usage = match &conv.profile_id {
            Some(p) => self.store.stream_usage(p.clone()).await? != Some(false),
            None => true,
        };
        let files = self.files_of(history).await?;
        // A prompt too long for the model is retried with half the history budget; a server
        // that rejects `stream_options` is asked again without it, and that is remembered.
        let mut stream = loop {
            let mut request = build_request_with(conv, history, budget, &files);
            if ask_usage {
                request.stream_options = Some(serde_json::json!({ "include_usage": true }));
            }
            let start = std::pin::pin!(self.client.stream_chat(&request));
            match select(start, &mut stop).await {
                Either::Left((Ok(s), _)) => {
                    sent.prompt_estimate = request
                        .messages
                        .iter()
                        .map(|m| {
                            u64::from(estimate_tokens(&m.content))
                                + m.images.len() as u64
                                    * u64::from(crate::engine::attachments::IMAGE_TOKEN_ESTIMATE)
                        })
                        .sum();
                    break s;
                }
                Either::Left((Err(e), _)) if ask_usage && rejects_stream_options(&e) => {
                    tracing::info!("the backend rejected stream_options; asking without it");
                    ask_usage = false;
                    if let Some(p) = &conv.profile_id {
                        self.store.set_stream_usage(p.clone(), false).await?;
                    }
                }
                Either::Left((Err(e), _)) if is_context_overflow(&e) && budget > 1024 => {
                    tracing::info!(
                        budget,
                        "prompt exceeded the context window; trimming history"
                    );
                    budget /= 2;
                }
                Either::Left((Err(e), _)) => return Err(e),
                Either::Right(_) => return Err(Error::Cancelled),
            }
        };

        let mut content = sent.prefix.clone();
        let mut join = Joiner::new(&sent.prefix);
        let mut reasoning = assistant.reasoning();
        let mut last_save = rt::Instant::now();
        let mut dirty = false;
        loop {
            let event = {
                let next = std::pin::pin!(stream.next());
                match select(next, &mut stop).await {
                    Either::Left((ev, _)) => Some(ev),
                    Either::Right(_) => None,
                }
            };
            let Some(event) = event else {
                // Dropping the stream closes the connection, so the server stops generating.
                drop(stream);
                set_parts(assistant, &content, &reasoning);
                return Err(Error::Cancelled);
            };
            match event {
                None => break,
                Some(Ok(StreamEvent::Content(delta))) => {
                    let delta = join.push(delta);
                    if delta.is_empty() {
                        continue;
                    }
                    content.push_str(&delta);
                    dirty = true;
                    on_update(ChatUpdate::Content {
                        message_id: assistant.id.clone(),
                        text: delta,
                    });
                }
                Some(Ok(StreamEvent::Reasoning(delta))) => {
                    reasoning.push_str(&delta);
                    dirty = true;
                    on_update(ChatUpdate::Reasoning {
                        message_id: assistant.id.clone(),
                        text: delta,
                    });
                }
                Some(Ok(StreamEvent::Usage(usage))) => assistant.usage = Some(usage),
                Some(Ok(StreamEvent::Finish(reason))) => {
                    if reason == "length" {
                        tracing::info!("reply stopped at the max_tokens limit");
                    }
                    assistant.finish_reason = Some(reason);
                }
                Some(Err(e)) => {
                    set_parts(assistant, &content, &reasoning);
                    return Err(e);
                }
            }
            if dirty && last_save.elapsed() >= self.options.persist_every {
                set_parts(assistant, &content, &reasoning);
                assistant.updated_at = now_ms();
                self.store.save_message(assistant.clone(), false).await?;
                last_save = rt::Instant::now();
                dirty = false;
            }
        }
        set_parts(assistant, &content, &reasoning);
        Ok(())
    }
}

/// What was sent for a reply, for the estimate when the server reports no usage.
#[derive(Default)]
struct Sent {
    prompt_estimate: u64,
    /// The text the reply already had (a continued reply): new text is added after it.
    prefix: String,
    /// What the part before it used (a continued reply).
    earlier_usage: Option<Usage>,
    earlier_cost: Option<f64>,
}

/// Joins a continuation to the reply it continues. Asked to go on, models often start the reply
/// again from its beginning, or write its unfinished last line again ("Wednes" → "Wednesday"):
/// what could still be such a repeat is held back, and once it is one, dropped; anything else
/// passes as it came. A continuation that only repeats adds nothing.
struct Joiner {
    /// The whole reply so far, and its unfinished last line (both without leading space).
    whole: String,
    line: String,
    held: String,
    passing: bool,
}

impl Joiner {
    fn new(before: &str) -> Self {
        let line = before.rsplit('\n').next().unwrap_or("").trim_start();
        Joiner {
            whole: before.trim_start().to_owned(),
            line: line.to_owned(),
            held: String::new(),
            passing: before.trim().is_empty(),
        }
    }

    /// What of `delta` to add to the reply now (`delta` itself once the repeat check is over:
    /// every reply's text passes through here).
    fn push(&mut self, delta: String) -> String {
        if self.passing {
            return delta;
        }
        self.held.push_str(&delta);
        let held = self.held.trim_start();
        let could_be = |repeated: &str| !repeated.is_empty() && repeated.starts_with(held);
        if could_be(&self.whole) || could_be(&self.line) {
            return String::new();
        }
        self.passing = true;
        let repeated = [&self.whole, &self.line]
            .into_iter()
            .find(|r| !r.is_empty() && held.starts_with(r.as_str()));
        let out = match repeated {
            Some(r) => held[r.len()..].to_owned(),
            None => self.held.clone(),
        };
        self.held.clear();
        out
    }
}

/// Said when "Continue" added nothing: the model wrote its reply again instead of going on.
pub const CONTINUE_ADDED_NOTHING: &str = "The model wrote its reply again instead of going on, so nothing was added. A higher Max tokens (Options) gives it room to get past the repeat; Regenerate asks for a new reply.";

/// What "Continue" asks the model (it is sent, never saved).
pub const CONTINUE_PROMPT: &str =
    "Continue exactly where your previous reply stopped, without repeating anything.";

fn set_parts(m: &mut Message, content: &str, reasoning: &str) {
    m.parts.clear();
    if !reasoning.is_empty() {
        m.parts.push(Part::Reasoning {
            text: reasoning.to_owned(),
        });
    }
    if !content.is_empty() {
        m.parts.push(Part::Text {
            text: content.to_owned(),
        });
    }
}

/// Rough token estimate: about four characters per token for English, rounded up so trimming
/// errs on the side of fitting.
pub fn estimate_tokens(text: &str) -> u32 {
    (text.chars().count() as u32).div_ceil(3) + 4
}

/// System prompt + as much recent history as fits the budget. The oldest turns go first; the
/// system prompt and the latest user message are always kept. Failed or empty replies are
/// left out with the message they answer: they carry nothing the model should see, and the
/// question they failed on (an image a text-only model refuses, say) would fail every later
/// message too, and leave two user messages in a row, which some chat templates refuse.
pub fn build_request(conv: &Conversation, history: &[Message], budget: u32) -> ChatRequest {
    build_request_with(conv, history, budget, &Files::new())
}

/// The contents of the files a history carries, by SHA-256.
pub type Files = std::collections::HashMap<String, crate::engine::attachments::Blob>;

/// [`build_request`] for messages with files: images become `image_url` parts, text files are
/// inlined after the message's text. A file whose content is missing is named, not sent.
pub fn build_request_with(
    conv: &Conversation,
    history: &[Message],
    budget: u32,
    files: &Files,
) -> ChatRequest {
    let reserve = conv.params.max_tokens.unwrap_or(1024).min(budget / 2);
    let mut remaining = budget.saturating_sub(reserve);
    let mut system = Vec::new();
    if let Some(sp) = conv
        .system_prompt
        .as_deref()
        .filter(|s| !s.trim().is_empty())
    {
        remaining = remaining.saturating_sub(estimate_tokens(sp));
        system.push(WireMessage::new("system", sp));
    }
    let mut kept: Vec<WireMessage> = Vec::new();
    // The last reply seen (going back) was left out: so is the question it answers.
    let mut unanswered = false;
    for (i, m) in history.iter().enumerate().rev() {
        let is_last = i + 1 == history.len();
        if std::mem::take(&mut unanswered) && m.role == Role::User && !is_last {
            continue;
        }
        let wire = wire_message(m, files);
        if (wire.content.is_empty() && wire.images.is_empty())
            || (m.role == Role::Assistant && m.status == MessageStatus::Error)
        {
            unanswered = m.role == Role::Assistant;
            continue;
        }
        let cost = estimate_tokens(&wire.content)
            + wire.images.len() as u32 * crate::engine::attachments::IMAGE_TOKEN_ESTIMATE;
        if cost > remaining && !is_last {
            break;
        }
        remaining = remaining.saturating_sub(cost);
        kept.push(wire);
    }
    kept.reverse();
    system.extend(kept);
    ChatRequest {
        model: conv.model.clone().unwrap_or_default(),
        messages: system,
        temperature: conv.params.temperature,
        top_p: conv.params.top_p,
        max_tokens: conv.params.max_tokens,
        presence_penalty: conv.params.presence_penalty,
        frequency_penalty: conv.params.frequency_penalty,
        seed: conv.params.seed,
        stream: true,
        stream_options: None,
    }
}

/// A message as the model reads it: its text, then each text file inlined; its images as
/// `data:` URLs.
fn wire_message(m: &Message, files: &Files) -> WireMessage {
    use crate::engine::attachments::{data_url, inline_text_file};
    let mut wire = WireMessage::new(m.role.as_str(), m.text());
    for a in m.attachments() {
        let Some(blob) = files.get(&a.sha256) else {
            tracing::warn!(file = %a.name, "an attached file's content is missing");
            continue;
        };
        if a.is_image() {
            wire.images.push(data_url(&blob.mime, &blob.data));
        } else {
            if !wire.content.is_empty() {
                wire.content.push_str("\n\n");
            }
            wire.content.push_str(&inline_text_file(
                &a.name,
                &String::from_utf8_lossy(&blob.data),
            ));
        }
    }
    wire
}

/// Longest title, in characters, before it is shortened at a word boundary with "…".
pub const MAX_TITLE_CHARS: usize = 48;

/// A title from the first words of the first message, used until (or instead of) a model title.
pub fn fallback_title(first_user_text: &str) -> String {
    let line = first_user_text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    shorten(line, MAX_TITLE_CHARS)
}

/// `text` when it fits in `max` characters; else its longest word-boundary prefix that fits
/// with an ellipsis (or, for one very long word, its first characters and the ellipsis).
pub fn shorten(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        return text;
    }
    let room = max.saturating_sub(1);
    let mut title = String::new();
    for word in text.split(' ') {
        let extra = usize::from(!title.is_empty()) + word.chars().count();
        if title.chars().count() + extra > room {
            break;
        }
        if !title.is_empty() {
            title.push(' ');
        }
        title.push_str(word);
    }
    if title.is_empty() {
        title = text.chars().take(room).collect();
    }
    let title = title.trim_end_matches(|c: char| c.is_ascii_punctuation() && c != ')');
    format!("{title}…")
}

/// Ask the model for a short title; clean up what small models add around it.
pub async fn generate_title(
    client: &OpenAiClient,
    model: Option<String>,
    user_text: &str,
    reply_text: &str,
) -> Option<String> {
    let excerpt = |s: &str| s.chars().take(600).collect::<String>();
    let request = ChatRequest {
        model: model.unwrap_or_default(),
        messages: vec![
            WireMessage::new(
                "system",
                "You write titles. Reply with a title of at most six words for the conversation, nothing else.",
            ),
            WireMessage::new(
                "user",
                format!("User: {}\nAssistant: {}\n\nTitle:", excerpt(user_text), excerpt(reply_text)),
            ),
        ],
        max_tokens: Some(16),
        temperature: Some(0.2),
        ..Default::default()
    };
    let raw = rt::timeout(Duration::from_secs(30), client.complete(&request))
        .map(|r| r.and_then(|r| r.ok()))
        .await?;
    clean_title(&raw)
}

pub fn clean_title(raw: &str) -> Option<String> {
    let line = raw.lines().map(str::trim).find(|l| !l.is_empty())?;
    let line = line
        .trim_start_matches("Title:")
        .trim_start_matches("title:")
        .trim()
        .trim_matches(|c| c == '"' || c == '\'' || c == '*' || c == '#' || c == '`')
        .trim()
        .trim_end_matches('.');
    (line.chars().count() >= 2).then(|| shorten(line, MAX_TITLE_CHARS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(role: Role, text: &str) -> Message {
        Message::new("c", None, role, text)
    }

    /// What a continuation adds to `before` when it arrives in `pieces`.
    fn joined(before: &str, pieces: &[&str]) -> String {
        let mut j = Joiner::new(before);
        let added: String = pieces.iter().map(|p| j.push((*p).to_owned())).collect();
        format!("{before}{added}")
    }

    #[test]
    fn a_continuation_that_starts_the_reply_again_adds_only_what_is_new() {
        // As SmolLM2 does (llama.cpp, temperature 0), streamed a few characters at a time.
        let before = "A hash map is a data structure that stores key-value pairs. It uses a hash function to";
        let again = format!("{before} determine where each key goes.");
        let pieces: Vec<String> = again
            .chars()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect())
            .collect();
        let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
        assert_eq!(
            joined(before, &pieces),
            format!("{before} determine where each key goes.")
        );
        // Its unfinished last line written again.
        assert_eq!(
            joined("Monday\nTuesday\nWednes", &["Wed", "nesday\nThu", "rsday"]),
            "Monday\nTuesday\nWednesday\nThursday"
        );
        // A continuation that goes on is kept as it came, leading space and all.
        assert_eq!(
            joined("The first half", &[" and", " the rest."]),
            "The first half and the rest."
        );
        // One that begins like the reply but goes elsewhere is not cut.
        assert_eq!(
            joined("The answer is long", &["\n\nThe", " next step"]),
            "The answer is long\n\nThe next step"
        );
        // One that only repeats adds nothing.
        assert_eq!(joined("Monday\nTues", &["Mon", "day"]), "Monday\nTues");
        // Without a reply before it, everything passes.
        assert_eq!(joined("", &["Mon", "day"]), "Monday");
    }

    #[test]
    fn trimming_keeps_system_prompt_and_latest_turn() {
        let mut conv = Conversation::new("t");
        conv.system_prompt = Some("Be brief.".into());
        let mut history = Vec::new();
        for i in 0..50 {
            history.push(msg(
                Role::User,
                &format!("question {i} {}", "x".repeat(300)),
            ));
            history.push(msg(
                Role::Assistant,
                &format!("answer {i} {}", "y".repeat(300)),
            ));
        }
        history.push(msg(Role::User, "the latest question"));
        let req = build_request(&conv, &history, 2048);
        assert_eq!(
            req.messages.first().map(|m| m.role.as_str()),
            Some("system")
        );
        assert_eq!(
            req.messages.last().map(|m| m.content.as_str()),
            Some("the latest question")
        );
        assert!(req.messages.len() < history.len(), "history was trimmed");
        let total: u32 = req
            .messages
            .iter()
            .map(|m| estimate_tokens(&m.content))
            .sum();
        assert!(total <= 2048, "{total}");
        // The kept turns are the most recent ones, in order.
        assert!(
            req.messages[1].content.starts_with("question")
                || req.messages[1].content.starts_with("answer")
        );
    }

    #[test]
    fn failed_replies_are_not_sent_back_nor_what_they_failed_on() {
        let conv = Conversation::new("t");
        let mut bad = msg(Role::Assistant, "partial garbage");
        bad.status = MessageStatus::Error;
        let mut empty = msg(Role::Assistant, "");
        empty.status = MessageStatus::Interrupted;
        let history = vec![
            msg(Role::User, "a"),
            msg(Role::Assistant, "answer a"),
            msg(Role::User, "refused"),
            bad.clone(),
            msg(Role::User, "stopped"),
            empty,
            msg(Role::User, "b"),
        ];
        let req = build_request(&conv, &history, 8192);
        let texts: Vec<_> = req.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, vec!["a", "answer a", "b"]);
        // Retrying the failed one: the question is the last message, so it is sent.
        let retry = build_request(&conv, &history[..3], 8192);
        let texts: Vec<_> = retry.messages.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(texts, vec!["a", "answer a", "refused"]);
    }

    #[test]
    fn titles() {
        assert_eq!(
            fallback_title("\n  How do I parse JSON in Rust quickly and safely with serde?"),
            "How do I parse JSON in Rust quickly and safely…"
        );
        assert_eq!(fallback_title("Short question"), "Short question");
        let long_word = "x".repeat(80);
        let t = fallback_title(&long_word);
        assert_eq!(t.chars().count(), MAX_TITLE_CHARS);
        assert!(t.ends_with('…'));
        for title in [
            fallback_title(
                "Explain the difference between processes, threads and async tasks in detail",
            ),
            clean_title(
                "Understanding the differences between processes and threads in operating systems",
            )
            .unwrap(),
        ] {
            assert!(title.chars().count() <= MAX_TITLE_CHARS, "{title}");
            assert!(title.ends_with('…'), "{title}");
            let words = title.trim_end_matches('…');
            assert!(!words.ends_with(' '), "{title}");
            // Cut between words, never inside one.
            assert!(
                "Explain the difference between processes, threads and async tasks in detail"
                    .starts_with(words)
                    || "Understanding the differences between processes and threads in operating systems"
                        .starts_with(words),
                "{title}"
            );
        }
        assert_eq!(
            clean_title("\"Parsing JSON in Rust.\"\nmore"),
            Some("Parsing JSON in Rust".into())
        );
        assert_eq!(clean_title("  "), None);
    }
}
