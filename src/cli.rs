//! The command-line face: the same engine and platform services as the GUI, for scripting,
//! headless machines and end-to-end tests. The contract (subcommands, flags, `--json` shapes,
//! exit codes) is documented in README.md and kept stable.
//!
//! Exit codes: 0 success, 1 the operation failed (the sentence on stderr says why and what to
//! do), 2 bad usage, 130 interrupted by Ctrl-C (a partial reply is kept, marked interrupted).

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::engine::chat::{self, ChatUpdate, EngineOptions, ReplyContext};
use crate::engine::error::Error;
use crate::engine::model::*;
use crate::engine::portability::{self, ExportFormat, ImportFormat};
use crate::engine::providers::normalize_base_url;
use crate::engine::providers::openai::OpenAiClient;
use crate::platform::native::{self, DataDirs};
use crate::platform::{SecretStatus, Services};

#[derive(Parser, Debug)]
#[command(name = "opencode-nexus", version = crate::engine::version::VERSION_LINE, about = "A fast, private AI chat client for OpenCode servers and OpenAI-compatible APIs. Without a command, opens the app.")]
pub struct Cli {
    /// Keep everything (database, logs, backups) under DIR; keys are namespaced by it.
    #[arg(
        long,
        global = true,
        env = "OPENCODE_NEXUS_DATA_DIR",
        value_name = "DIR"
    )]
    pub data_dir: Option<PathBuf>,
    /// Same as the `check-update` command with the configured URL.
    #[arg(long)]
    pub check_update: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Manage backend profiles.
    #[command(subcommand)]
    Profiles(ProfilesCmd),
    /// Send a prompt and stream the reply to stdout; both are saved to history.
    Chat(ChatArgs),
    /// Export conversations as JSON (the documented, versioned format) or Markdown.
    Export(ExportArgs),
    /// Import an OpenCode Nexus JSON export or ChatGPT's conversations.json, in one transaction.
    Import(ImportArgs),
    /// Back up the history database: a consistent snapshot, safe while the app runs.
    Backup {
        /// Write the backup here instead of a timestamped file in <data dir>/backups/.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Afterwards keep only the N newest backups in <data dir>/backups/.
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
    },
    /// Replace the history database with a backup (checked first; the current database is kept
    /// in <data dir>/backups/). Close the app first.
    Restore(RestoreArgs),
    /// Browse saved conversations.
    #[command(subcommand)]
    History(HistoryCmd),
    /// Serve the browser build on 127.0.0.1 for local use.
    ServeWeb {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// The bundle directory (default: ./dist, then the installed copy).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Check the installation: data paths, database, keychain, backends.
    Doctor {
        #[arg(long)]
        json: bool,
        /// Also write a tar for a bug report: the JSON report, the newest logs and crash
        /// reports, all with keys redacted.
        #[arg(long, value_name = "FILE")]
        bundle: Option<PathBuf>,
    },
    /// Check for a newer release (signed manifest); never installs anything.
    CheckUpdate {
        /// Manifest URL (default: the one in Settings → Updates).
        #[arg(long)]
        url: Option<String>,
        #[arg(long)]
        json: bool,
        /// Download and verify this system's file into DIR (default: the downloads folder).
        #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "")]
        download: Option<PathBuf>,
    },
    /// Delete the history database, logs, crash reports and this data directory's keys.
    Reset {
        /// First back up the database into <data dir>/backups/ (restore with `restore --latest`).
        #[arg(long)]
        keep_backup: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Panics on purpose, for the crash-report test.
    #[command(name = "__crash-test", hide = true)]
    CrashTest {
        #[arg(value_parser = ["slice", "key"])]
        kind: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProfilesCmd {
    /// Add a backend profile.
    Add {
        name: String,
        #[arg(long, value_enum)]
        kind: KindArg,
        #[arg(long)]
        url: String,
        #[arg(long)]
        model: Option<String>,
        /// Read the API key (or OpenCode password) from stdin and store it in the system keychain.
        #[arg(long, conflicts_with = "key_env")]
        key_stdin: bool,
        /// Read the key from this environment variable each time it is needed; nothing is stored.
        #[arg(long, value_name = "VAR")]
        key_env: Option<String>,
        /// Extra HTTP header sent with every request, as NAME=VALUE (repeatable).
        #[arg(long = "header", value_name = "NAME=VALUE")]
        headers: Vec<String>,
        /// OpenCode project directory.
        #[arg(long)]
        directory: Option<String>,
    },
    /// List profiles.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a profile and its stored key.
    Remove { name: String },
    /// Check that a backend answers and accepts the key.
    Test {
        name: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value_t = ExportFormatArg::Json)]
    pub format: ExportFormatArg,
    /// Export only this conversation (repeatable); all of them by default.
    #[arg(long = "conversation", value_name = "ID")]
    pub conversations: Vec<String>,
    /// Write to FILE instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormatArg {
    Json,
    Md,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    pub file: PathBuf,
    #[arg(long, value_enum, default_value_t = ImportFormatArg::Auto)]
    pub format: ImportFormatArg,
    /// Print the counts as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImportFormatArg {
    Auto,
    Nexus,
    Chatgpt,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The backup file to restore.
    #[arg(required_unless_present = "latest", conflicts_with = "latest")]
    pub file: Option<PathBuf>,
    /// Restore the newest backup in <data dir>/backups/.
    #[arg(long)]
    pub latest: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    #[value(name = "openai-compatible")]
    OpenAiCompatible,
    #[value(name = "opencode")]
    OpenCode,
}

#[derive(Args, Debug)]
pub struct ChatArgs {
    #[arg(long)]
    pub profile: String,
    #[arg(long)]
    pub model: Option<String>,
    /// Continue this conversation instead of starting a new one.
    #[arg(long)]
    pub conversation: Option<String>,
    /// OpenCode only: the agent to run the prompt with (server default otherwise).
    #[arg(long)]
    pub agent: Option<String>,
    /// Print the conversation id and final status as JSON on stderr's last line.
    #[arg(long)]
    pub json: bool,
    pub prompt: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCmd {
    List {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        archived: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    Search {
        query: Vec<String>,
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

/// A failure with the exit code it maps to.
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            code: 1,
            message: e.to_string(),
        }
    }
}

fn fail(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

type CliResult = std::result::Result<(), Failure>;

/// Run a subcommand to completion. Returns the process exit code.
pub fn run(dirs: DataDirs, command: Command) -> i32 {
    if let Command::Restore(args) = &command {
        // The database file is replaced, so this runs before any store worker opens it.
        return match restore_cmd(&dirs, args) {
            Ok(()) => 0,
            Err(f) => {
                eprintln!("error: {}", f.message);
                f.code
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return 1;
        }
    };
    crate::crash::set_last_action(command.action_name());
    if let Command::Reset { keep_backup, yes } = command {
        // Before any store worker opens the database it is about to delete.
        return exit_code(runtime.block_on(reset_cmd(&dirs, keep_backup, yes)));
    }
    let outcome = runtime.block_on(async move {
        let services = native::services(&dirs)?;
        dispatch(&services, &dirs, command).await
    });
    exit_code(outcome)
}

fn exit_code(outcome: CliResult) -> i32 {
    match outcome {
        Ok(()) => 0,
        Err(f) => {
            if !f.message.is_empty() {
                eprintln!("error: {}", f.message);
            }
            f.code
        }
    }
}

async fn dispatch(services: &Services, dirs: &DataDirs, command: Command) -> CliResult {
    match command {
        Command::Export(args) => export_cmd(services, args).await,
        Command::Import(args) => import_cmd(services, args).await,
        Command::Backup { out, keep } => backup_cmd(services, dirs, out, keep).await,
        // Handled in `run` before the store opens.
        Command::Restore(_) => Ok(()),
        Command::Profiles(cmd) => profiles(services, cmd).await,
        Command::Chat(args) => chat_cmd(services, args).await,
        Command::History(cmd) => history(services, cmd).await,
        Command::Doctor { json, bundle } => doctor(services, dirs, json, bundle).await,
        Command::CheckUpdate {
            url,
            json,
            download,
        } => check_update_cmd(services, dirs, url, json, download).await,
        // Handled in `run` before the store opens.
        Command::Reset { .. } => Ok(()),
        Command::CrashTest { kind } => crash_test(&kind),
        Command::ServeWeb { port, dir } => {
            let dir = dir.or_else(crate::serve_web::default_dir).ok_or_else(|| {
                fail("No web bundle found: build it with scripts/build-web.sh (it writes ./dist) or pass --dir.")
            })?;
            Ok(crate::serve_web::serve(dir, port).await?)
        }
    }
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
}

// ---- profiles ---------------------------------------------------------------------------------

async fn profiles(services: &Services, cmd: ProfilesCmd) -> CliResult {
    match cmd {
        ProfilesCmd::Add {
            name,
            kind,
            url,
            model,
            key_stdin,
            key_env,
            headers,
            directory,
        } => {
            let kind = match kind {
                KindArg::OpenAiCompatible => BackendKind::OpenAiCompatible,
                KindArg::OpenCode => BackendKind::OpenCode,
            };
            let url = normalize_base_url(&url)?;
            let mut profile = Profile::new(name.trim(), kind, url);
            profile.default_model = model;
            profile.key_env = key_env;
            profile.directory = directory;
            for h in headers {
                let (n, v) = h.split_once('=').ok_or_else(|| Failure {
                    code: 2,
                    message: format!("The header '{h}' is not NAME=VALUE."),
                })?;
                profile
                    .headers
                    .push((n.trim().to_owned(), v.trim().to_owned()));
            }
            let key = if key_stdin {
                let mut buf = String::new();
                std::io::stdin()
                    .read_to_string(&mut buf)
                    .map_err(|e| fail(format!("Could not read the key from stdin: {e}.")))?;
                let key = buf.trim().to_owned();
                if key.is_empty() {
                    return Err(fail("No key arrived on stdin. Pipe it in, e.g. `printf %s \"$KEY\" | opencode-nexus profiles add ... --key-stdin`."));
                }
                Some(key)
            } else {
                None
            };
            // Store the key first: a profile whose key could not be saved would fail later in a
            // more confusing way.
            if let Some(key) = &key {
                crate::engine::redact::register_secret(key);
                services
                    .secrets
                    .set(&profile.id, key)
                    .await
                    .map_err(|e| match e {
                        Error::SecretServiceUnavailable { .. } => fail(format!(
                            "{e} On a headless machine, use --key-env VAR instead: the key is then read from that environment variable each time and never stored."
                        )),
                        other => other.into(),
                    })?;
            }
            if let Err(e) = services.store.save_profile(profile.clone()).await {
                if key.is_some() {
                    let _ = services.secrets.delete(&profile.id).await;
                }
                return Err(e.into());
            }
            eprintln!(
                "Added {} profile '{}' ({}){}.",
                profile.kind.label(),
                profile.name,
                profile.base_url,
                match (&key, &profile.key_env) {
                    (Some(_), _) => ", key stored in the system keychain".to_owned(),
                    (None, Some(var)) => format!(", key read from ${var} at use time"),
                    (None, None) => ", no key".to_owned(),
                }
            );
            Ok(())
        }
        ProfilesCmd::List { json } => {
            let list = services.store.list_profiles().await?;
            if json {
                let mut out = Vec::new();
                for p in &list {
                    out.push(json!({
                        "id": p.id, "name": p.name, "kind": p.kind, "url": p.base_url,
                        "model": p.default_model, "key_env": p.key_env,
                        "key_stored": services.secrets.get(&p.id).await.ok().flatten().is_some(),
                    }));
                }
                print_json(&serde_json::Value::Array(out));
            } else if list.is_empty() {
                eprintln!("No profiles yet. Add one with `opencode-nexus profiles add NAME --kind openai-compatible --url URL`.");
            } else {
                for p in list {
                    println!(
                        "{}\t{}\t{}\t{}",
                        p.name,
                        p.kind.as_str(),
                        p.base_url,
                        p.default_model.unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
        ProfilesCmd::Remove { name } => {
            let p = services.store.get_profile(name).await?;
            services.store.delete_profile(p.id.clone()).await?;
            if let Err(e) = services.secrets.delete(&p.id).await {
                eprintln!(
                    "warning: the profile was removed but its stored key could not be deleted: {e}"
                );
            }
            eprintln!("Removed profile '{}'.", p.name);
            Ok(())
        }
        ProfilesCmd::Test { name, json } => {
            let p = services.store.get_profile(name).await?;
            let report = test_profile(services, &p).await;
            crate::platform::vitals::record_latency(services, &p.name, report.latency_ms as u64)
                .await;
            if json {
                print_json(&report.to_json());
            } else {
                println!("{}", report.summary());
            }
            if report.ok {
                Ok(())
            } else {
                Err(fail(String::new()))
            }
        }
    }
}

/// The outcome of "Test connection".
pub struct ProfileReport {
    pub ok: bool,
    pub detail: String,
    pub models: Vec<String>,
    pub latency_ms: u128,
}

impl ProfileReport {
    fn to_json(&self) -> serde_json::Value {
        json!({"ok": self.ok, "detail": self.detail, "models": self.models, "latency_ms": self.latency_ms})
    }
    fn summary(&self) -> String {
        if self.ok {
            format!(
                "OK in {} ms: {}{}",
                self.latency_ms,
                self.detail,
                if self.models.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", self.models.join(", "))
                }
            )
        } else {
            format!("FAILED: {}", self.detail)
        }
    }
}

pub async fn test_profile(services: &Services, p: &Profile) -> ProfileReport {
    let started = std::time::Instant::now();
    let result = crate::platform::ops::test_connection(services, p).await;
    let latency_ms = started.elapsed().as_millis();
    match result {
        Ok((detail, models)) => ProfileReport {
            ok: true,
            detail,
            models,
            latency_ms,
        },
        Err(e) => ProfileReport {
            ok: false,
            detail: e.to_string(),
            models: Vec::new(),
            latency_ms,
        },
    }
}

// ---- chat -------------------------------------------------------------------------------------

async fn chat_cmd(services: &Services, args: ChatArgs) -> CliResult {
    let prompt = args.prompt.join(" ");
    if prompt.trim().is_empty() {
        return Err(Failure {
            code: 2,
            message: "Give a prompt: opencode-nexus chat --profile NAME \"your question\"".into(),
        });
    }
    let profile = services.store.get_profile(args.profile.clone()).await?;
    if profile.kind == BackendKind::OpenCode {
        return match crate::platform::ops::opencode_cli_chat(
            services,
            &profile,
            args.model,
            args.conversation,
            args.agent,
            &prompt,
            args.json,
        )
        .await
        {
            Ok(()) => Ok(()),
            Err(Error::Cancelled) => Err(Failure {
                code: 130,
                message: "Stopped. The run was aborted on the server; the partial reply was saved and marked interrupted.".into(),
            }),
            Err(e) => Err(e.into()),
        };
    }
    let key = services.resolve_key(&profile).await?;
    let client = OpenAiClient::new(services.http.client(), &profile, key)?;

    let conv = match &args.conversation {
        Some(id) => {
            let mut c = services.store.get_conversation(id.clone()).await?;
            if let Some(m) = &args.model {
                c.model = Some(m.clone());
                services.store.save_conversation(c.clone()).await?;
            }
            c
        }
        None => {
            let mut c = Conversation::new(chat::fallback_title(&prompt));
            c.profile_id = Some(profile.id.clone());
            c.model = match args.model.clone().or(profile.default_model.clone()) {
                Some(m) => Some(m),
                None => client
                    .models()
                    .await
                    .ok()
                    .and_then(|m| m.into_iter().next()),
            };
            services.store.save_conversation(c.clone()).await?;
            c
        }
    };
    eprintln!("conversation {}", conv.id);

    let (stop_handle, stop) = chat::stop_pair();
    let ctrl_c = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop_handle.stop();
            true
        } else {
            false
        }
    });
    let options = EngineOptions::default();
    let ctx = ReplyContext {
        store: &services.store,
        client: &client,
        options: &options,
    };
    let mut stdout = std::io::stdout();
    let mut printed_any = false;
    let result = ctx
        .send(&conv.id, &prompt, stop, &mut |update| {
            if let ChatUpdate::Content { text, .. } = update {
                printed_any = true;
                let _ = stdout.write_all(text.as_bytes());
                let _ = stdout.flush();
            }
        })
        .await;
    ctrl_c.abort();
    if printed_any {
        let _ = writeln!(stdout);
    }
    let message = result?;
    if args.json {
        eprintln!(
            "{}",
            json!({"conversation": conv.id, "message": message.id, "status": message.status, "error": message.error})
        );
    }
    match message.status {
        MessageStatus::Complete => Ok(()),
        MessageStatus::Interrupted
            if message.error.as_deref() == Some("Stopped before the reply finished.") =>
        {
            Err(Failure {
                code: 130,
                message: "Stopped. The partial reply was saved and marked interrupted.".into(),
            })
        }
        _ => Err(fail(
            message.error.unwrap_or_else(|| "The reply failed.".into()),
        )),
    }
}

// ---- history ----------------------------------------------------------------------------------

async fn history(services: &Services, cmd: HistoryCmd) -> CliResult {
    match cmd {
        HistoryCmd::List {
            json,
            archived,
            limit,
        } => {
            let list = services
                .store
                .list_conversations(ConversationFilter {
                    archived,
                    limit,
                    ..Default::default()
                })
                .await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|s| {
                        json!({
                            "id": s.conversation.id, "title": s.conversation.title,
                            "created_at": s.conversation.created_at, "updated_at": s.conversation.updated_at,
                            "pinned": s.conversation.pinned, "archived": s.conversation.archived,
                            "profile": s.profile_name, "model": s.conversation.model,
                            "messages": s.message_count,
                        })
                    })
                    .collect();
                print_json(&serde_json::Value::Array(rows));
            } else {
                for s in list {
                    println!(
                        "{}\t{}\t{}\t{} messages",
                        s.conversation.id,
                        format_time(s.conversation.updated_at),
                        s.conversation.title,
                        s.message_count
                    );
                }
            }
            Ok(())
        }
        HistoryCmd::Show { id, json } => {
            let conv = services.store.get_conversation(id.clone()).await?;
            let thread = services.store.thread(id).await?;
            if json {
                let messages: Vec<_> = thread
                    .iter()
                    .map(|t| {
                        let m = &t.message;
                        json!({
                            "id": m.id, "parent_id": m.parent_id, "role": m.role, "text": m.text(),
                            "parts": m.parts, "status": m.status, "error": m.error, "model": m.model,
                            "usage": m.usage, "created_at": m.created_at,
                            "alternatives": t.sibling_count,
                        })
                    })
                    .collect();
                print_json(&json!({"conversation": conv, "messages": messages}));
            } else {
                println!("# {}", conv.title);
                for t in thread {
                    let m = t.message;
                    let status = match m.status {
                        MessageStatus::Complete => String::new(),
                        s => format!(" [{}]", s.as_str()),
                    };
                    println!("\n{}{}:\n{}", m.role.as_str(), status, m.text());
                }
            }
            Ok(())
        }
        HistoryCmd::Search { query, json, limit } => {
            let hits = services.store.search(query.join(" "), limit).await?;
            if json {
                let rows: Vec<_> = hits
                    .iter()
                    .map(|h| {
                        json!({
                            "conversation_id": h.conversation_id, "conversation_title": h.conversation_title,
                            "message_id": h.message_id, "role": h.role,
                            "snippet": h.snippet.replace([HIT_START, HIT_END], ""),
                            "created_at": h.created_at,
                        })
                    })
                    .collect();
                print_json(&serde_json::Value::Array(rows));
            } else {
                let highlight = std::io::stdout().is_terminal();
                for h in hits {
                    let snippet: String = snippet_runs(&h.snippet)
                        .into_iter()
                        .map(|(t, hit)| {
                            if hit && highlight {
                                format!("\x1b[1m{t}\x1b[0m")
                            } else {
                                t
                            }
                        })
                        .collect();
                    println!(
                        "{}\t{}\t{}",
                        h.conversation_id,
                        h.conversation_title,
                        snippet.replace('\n', " ")
                    );
                }
            }
            Ok(())
        }
    }
}

// ---- export, import, backup, restore ----------------------------------------------------------

async fn export_cmd(services: &Services, args: ExportArgs) -> CliResult {
    let format = match args.format {
        ExportFormatArg::Json => ExportFormat::Json,
        ExportFormatArg::Md => ExportFormat::Markdown,
    };
    let ids = (!args.conversations.is_empty()).then_some(args.conversations);
    match args.out {
        Some(dest) => {
            let r = services
                .store
                .export_file(dest.clone(), format, ids, None)
                .await?;
            eprintln!(
                "Exported {} conversation(s) with {} message(s) to {} ({}).",
                r.conversations,
                r.messages,
                dest.display(),
                portability::human_bytes(r.bytes)
            );
        }
        None => {
            let text = services.store.export_text(format, ids, None).await?;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|()| stdout.flush())
                .map_err(|e| fail(format!("Could not write the export to stdout: {e}.")))?;
        }
    }
    Ok(())
}

async fn import_cmd(services: &Services, args: ImportArgs) -> CliResult {
    let format = match args.format {
        ImportFormatArg::Auto => ImportFormat::Auto,
        ImportFormatArg::Nexus => ImportFormat::Nexus,
        ImportFormatArg::Chatgpt => ImportFormat::ChatGpt,
    };
    let job = portability::Job::start();
    let call = services
        .store
        .import_file(args.file.clone(), format, Some(job.id().to_owned()));
    let mut call = std::pin::pin!(call);
    let show_progress = std::io::stderr().is_terminal();
    let mut shown = false;
    let outcome = loop {
        tokio::select! {
            r = &mut call => break r,
            // Ctrl-C cancels: the transaction rolls back and nothing is imported.
            Ok(()) = tokio::signal::ctrl_c() => job.cancel(),
            () = tokio::time::sleep(std::time::Duration::from_millis(250)) => {
                let (done, total) = job.progress();
                if show_progress && total > 0 {
                    eprint!("\rImporting… {done}/{total} conversations");
                    shown = true;
                }
            }
        }
    };
    if shown {
        eprintln!();
    }
    let report = match outcome {
        Ok(r) => r,
        Err(Error::Cancelled) => {
            return Err(Failure {
                code: 130,
                message: "Stopped. The import was rolled back; nothing was changed.".into(),
            })
        }
        Err(e) => return Err(e.into()),
    };
    if args.json {
        print_json(&serde_json::to_value(&report).unwrap_or_default());
    } else {
        println!("{}", report.summary());
        if report.profiles_created > 0 {
            println!(
                "Created {} backend profile(s) named in the file, without keys: add keys in Settings → Backends.",
                report.profiles_created
            );
        }
    }
    Ok(())
}

async fn backup_cmd(
    services: &Services,
    dirs: &DataDirs,
    out: Option<PathBuf>,
    keep: Option<usize>,
) -> CliResult {
    let path = match out {
        Some(dest) => {
            services.store.backup_to(dest.clone()).await?;
            dest
        }
        None => {
            services
                .store
                .backup_now(dirs.backups(), None, None)
                .await?
        }
    };
    if let Some(keep) = keep {
        let removed = portability::apply_backup_retention(&dirs.backups(), keep.max(1))?;
        if !removed.is_empty() {
            eprintln!("Removed {} older backup(s).", removed.len());
        }
    }
    println!("{}", path.display());
    Ok(())
}

fn restore_cmd(dirs: &DataDirs, args: &RestoreArgs) -> CliResult {
    let file = match (&args.file, args.latest) {
        (Some(f), _) => f.clone(),
        (None, _) => portability::latest_backup(&dirs.backups())?.ok_or_else(|| {
            fail(format!(
                "There is no backup in {} yet. Take one with `opencode-nexus backup`.",
                dirs.backups().display()
            ))
        })?,
    };
    let report = portability::restore(&dirs.database(), &file)?;
    println!("Restored the history from {}.", file.display());
    if let Some(pre) = &report.pre_restore {
        println!("The database it replaced was saved as {}.", pre.display());
    }
    Ok(())
}

// ---- doctor -----------------------------------------------------------------------------------

async fn doctor(
    services: &Services,
    dirs: &DataDirs,
    json: bool,
    bundle: Option<PathBuf>,
) -> CliResult {
    let mut profiles = Vec::new();
    if let Ok(list) = services.store.list_profiles().await {
        for p in list {
            let r = test_profile(services, &p).await;
            crate::platform::vitals::record_latency(services, &p.name, r.latency_ms as u64).await;
            profiles.push(json!({"name": p.name, "kind": p.kind, "url": p.base_url, "ok": r.ok, "detail": r.detail, "latency_ms": r.latency_ms}));
        }
    }
    // After the profile tests, so their latencies are part of the report.
    let report = crate::platform::ops::diagnostics(services, Some(dirs)).await;
    let healthy = report.database_ok;
    let mut value = serde_json::to_value(&report).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "profiles".into(),
            serde_json::Value::Array(profiles.clone()),
        );
        obj.insert("healthy".into(), healthy.into());
    }
    if let Some(dest) = &bundle {
        let entries = crate::maintenance::write_bundle(services, dirs, &value, dest).await?;
        eprintln!(
            "Wrote {} ({} files: {}). Keys were redacted; read it before attaching it to a bug report.",
            dest.display(),
            entries.len(),
            entries.join(", ")
        );
    }
    if json {
        print_json(&value);
    } else {
        println!("OpenCode Nexus {}", report.version);
        println!(
            "data directory   {}",
            report.data_dir.as_deref().unwrap_or("-")
        );
        println!(
            "database         {} ({} bytes, schema v{})",
            report.database_path.as_deref().unwrap_or("-"),
            report.database_bytes,
            report.schema_version
        );
        println!("integrity        {}", report.integrity);
        println!("conversations    {}", report.conversations);
        println!(
            "log directory    {}",
            report.log_dir.as_deref().unwrap_or("-")
        );
        match &report.secrets {
            SecretStatus::Available { backend } => {
                println!("keychain         available ({backend})")
            }
            SecretStatus::Unavailable { reason } => {
                println!("keychain         UNAVAILABLE: {reason}")
            }
            SecretStatus::DeviceStorage { note } => println!("keychain         none: {note}"),
        }
        for p in &profiles {
            println!(
                "profile          {} ({}): {}",
                p["name"].as_str().unwrap_or(""),
                p["url"].as_str().unwrap_or(""),
                if p["ok"].as_bool() == Some(true) {
                    format!("reachable ({} ms)", p["latency_ms"])
                } else {
                    format!("NOT OK: {}", p["detail"].as_str().unwrap_or(""))
                }
            );
        }
        println!(
            "start-up         {}",
            report
                .startup_ms
                .map(|ms| format!("{ms} ms"))
                .unwrap_or_else(|| "-".into())
        );
        println!(
            "memory           {}",
            report
                .rss_bytes
                .map(|b| format!("{:.1} MB resident", b as f64 / 1e6))
                .unwrap_or_else(|| "-".into())
        );
        for l in &report.backend_latency {
            println!(
                "latency          {}: last {} ms, average {} ms over {} test(s)",
                l.profile, l.last_ms, l.avg_ms, l.samples
            );
        }
        if report.crash_reports.is_empty() {
            println!("crash reports    none");
        }
        for c in &report.crash_reports {
            println!("crash report     {c} (local only; delete it when read)");
        }
        println!(
            "status           {}",
            if healthy { "healthy" } else { "PROBLEMS FOUND" }
        );
    }
    if healthy {
        Ok(())
    } else {
        Err(fail("The database check failed; see the report above."))
    }
}

// ---- update check, reset, crash test ----------------------------------------------------------

impl Command {
    /// The name recorded as the last user action for crash reports (never an argument).
    fn action_name(&self) -> &'static str {
        match self {
            Command::Profiles(_) => "cli-profiles",
            Command::Chat(_) => "cli-chat",
            Command::History(_) => "cli-history",
            Command::Doctor { .. } => "cli-doctor",
            Command::CheckUpdate { .. } => "cli-check-update",
            Command::Reset { .. } => "cli-reset",
            Command::CrashTest { .. } => "cli-crash-test",
            #[allow(unreachable_patterns)]
            _ => "cli",
        }
    }
}

async fn check_update_cmd(
    services: &Services,
    dirs: &DataDirs,
    url: Option<String>,
    json: bool,
    download: Option<PathBuf>,
) -> CliResult {
    use crate::engine::update::{self, UpdateStatus};

    let url = crate::maintenance::update_url(services, url).await?;
    let client = services.http.client();
    let status = update::check(
        &client,
        &url,
        crate::engine::version::VERSION,
        &update::UPDATE_PUBLIC_KEY,
    )
    .await
    .map_err(Error::from)?;
    let mut saved = None;
    if let (Some(dir), UpdateStatus::Available(offer)) = (&download, &status) {
        let artifact = update::preferred_artifact(&offer.artifacts).ok_or_else(|| {
            Error::from(update::UpdateError::NoArtifact {
                platform: update::platform_prefix(),
            })
        })?;
        let dir = if dir.as_os_str().is_empty() {
            crate::maintenance::download_dir(dirs)
        } else {
            dir.clone()
        };
        saved = Some(
            update::download(&client, artifact, &update::UPDATE_PUBLIC_KEY, &dir)
                .await
                .map_err(Error::from)?,
        );
    }
    if json {
        print_json(&crate::maintenance::status_json(&status, saved.as_deref()));
        return Ok(());
    }
    println!("{}", status.summary());
    if let UpdateStatus::Available(offer) = &status {
        if !offer.manifest.notes.trim().is_empty() {
            println!(
                "
{}
",
                offer.manifest.notes.trim()
            );
        }
        for a in &offer.artifacts {
            println!("{}	{}	{} bytes", a.target, a.url, a.size);
        }
        match &saved {
            Some(path) => println!(
                "Downloaded and verified (SHA-256 and signature): {}
Nothing was installed; open the file to install it.",
                path.display()
            ),
            None if offer.artifacts.is_empty() => println!(
                "There is no download for this system ({}).",
                update::platform_prefix()
            ),
            None => println!(
                "Run `opencode-nexus check-update --download` to download and verify it; nothing is installed automatically."
            ),
        }
    }
    Ok(())
}

async fn reset_cmd(dirs: &DataDirs, keep_backup: bool, yes: bool) -> CliResult {
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure {
                code: 2,
                message: "reset deletes the history, logs and stored keys of this data directory; pass --yes to confirm when not at a terminal.".into(),
            });
        }
        eprint!(
            "This deletes the history database, logs, crash reports and stored keys under {}{}.
Close OpenCode Nexus first. Continue? [y/N] ",
            dirs.root.display(),
            if keep_backup {
                " (after backing the database up into backups/)"
            } else {
                ", with no backup"
            }
        );
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            eprintln!("Nothing was changed.");
            return Err(Failure {
                code: 1,
                message: String::new(),
            });
        }
    }
    let report = crate::maintenance::reset(dirs, keep_backup).await?;
    if let Some(b) = &report.backup {
        eprintln!(
            "Backed up the history to {} (bring it back with `opencode-nexus restore --latest`).",
            b.display()
        );
    }
    eprintln!(
        "Removed {} stored key(s) and {} file(s) or folder(s); backups were kept.",
        report.keys_removed,
        report.removed.len()
    );
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// The crash-report test's forced panic: it first does what the app does with a key and a
/// message (registers the key with the redactor, logs a line naming both), then panics the way
/// real bugs do. `slice` cuts the message inside a character (std quotes the string in the
/// panic message); `key` panics with the key in an unquoted message.
fn crash_test(kind: &str) -> CliResult {
    let key = std::env::var("NEXUS_CRASH_TEST_KEY").unwrap_or_default();
    let text = std::env::var("NEXUS_CRASH_TEST_MESSAGE").unwrap_or_default();
    crate::engine::redact::register_secret(&key);
    crate::crash::set_last_action("send");
    tracing::warn!("about to send a message with key {key}");
    if kind == "slice" {
        let inside = text
            .char_indices()
            .find(|(_, c)| c.len_utf8() > 1)
            .map(|(i, _)| i + 1)
            .unwrap_or(text.len() + 1);
        let cut = &text[..inside];
        return Err(fail(cut.to_owned()));
    }
    panic!("the server rejected {key} for this request");
}

pub fn parse() -> Cli {
    let mut cli = Cli::parse();
    if cli.check_update {
        if cli.command.is_some() {
            Cli::command()
                .error(
                    clap::error::ErrorKind::ArgumentConflict,
                    "--check-update is a command of its own; use `check-update [--url URL]` to combine options.",
                )
                .exit();
        }
        cli.command = Some(Command::CheckUpdate {
            url: None,
            json: false,
            download: None,
        });
    }
    cli
}

/// Normalizes a name typed on the command line (for tests of the parser).
pub fn try_parse_from<I, T>(args: I) -> std::result::Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    Cli::try_parse_from(args)
}
