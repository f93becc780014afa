//! The command-line face: the same engine and platform services as the GUI, for scripting,
//! headless machines and end-to-end tests. The contract (subcommands, flags, `--json` shapes,
//! exit codes) is documented in README.md and kept stable.
//!
//! Exit codes: 0 success, 1 the operation failed (the sentence on stderr says why and what to
//! do), 2 bad usage, 130 interrupted by Ctrl-C (a partial reply is kept, marked interrupted).

mod approvals;
mod chat;
mod data;
mod doctor;
mod history;
mod opencode;
mod presets;
mod profiles;
pub mod serve_web;
mod sync;
mod system;

pub use approvals::{PermissionsCmd, QuestionsCmd, ReplyArg};
use chat::chat_cmd;
use data::{backup_cmd, export_cmd, import_cmd, restore_cmd};
use doctor::doctor;
use history::history;
use presets::presets;
use profiles::profiles;
pub use profiles::{test_profile, ProfileReport};
use system::{check_update_cmd, crash_test, reset_cmd};

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use serde_json::json;

use crate::engine::chat::{ChatUpdate, EngineOptions, Outcome, ReplyContext, Target};
use crate::engine::error::Error;
use crate::engine::model::*;
use crate::engine::portability::{self, ExportFormat, ImportFormat};
use crate::engine::providers::normalize_base_url;
use crate::engine::providers::openai::OpenAiClient;
use crate::platform::native::{self, DataDirs};
use crate::platform::{SecretStatus, Services, SettingsStore};

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
    /// Presets ("assistants") for new chats: a system prompt, parameters, a backend and model.
    #[command(subcommand)]
    Presets(PresetsCmd),
    /// Sync the history with your other devices through a WebDAV folder, end-to-end encrypted.
    #[command(subcommand)]
    Sync(SyncCmd),
    /// Tool calls an OpenCode agent waits to have approved: list them, answer one.
    #[command(subcommand)]
    Permissions(PermissionsCmd),
    /// Questions an OpenCode agent waits to have answered: list them, answer one.
    #[command(subcommand)]
    Questions(QuestionsCmd),
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
pub enum PresetsCmd {
    /// Add a preset, or replace the one with this name.
    Add {
        name: String,
        #[arg(long, value_name = "TEXT")]
        system: Option<String>,
        /// The backend chats from this preset use (the one chosen when starting, otherwise).
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[command(flatten)]
        params: ParamArgs,
        /// New chats start from this preset.
        #[arg(long)]
        default: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        name: String,
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
    /// Set what a model costs on this backend, in dollars per million tokens (replies then show
    /// their cost); `--remove` forgets the price.
    Price {
        name: String,
        model: String,
        #[arg(
            long,
            value_name = "X",
            required_unless_present = "remove",
            allow_negative_numbers = true
        )]
        input: Option<f64>,
        #[arg(
            long,
            value_name = "Y",
            required_unless_present = "remove",
            allow_negative_numbers = true
        )]
        output: Option<f64>,
        #[arg(long, conflicts_with_all = ["input", "output"])]
        remove: bool,
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

/// Sampling parameters as flags; only those given are set (and sent).
#[derive(Args, Debug, Default, Clone)]
pub struct ParamArgs {
    /// 0 to 2.
    #[arg(long, value_name = "X")]
    pub temperature: Option<f64>,
    /// 0 to 1.
    #[arg(long, value_name = "X")]
    pub top_p: Option<f64>,
    /// At least 1.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// -2 to 2.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub presence_penalty: Option<f64>,
    /// -2 to 2.
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub frequency_penalty: Option<f64>,
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub seed: Option<i64>,
}

impl ParamArgs {
    /// `base` with every given flag applied, checked: a value out of range is a usage error
    /// (exit 2) with the engine's sentence.
    pub fn apply(&self, base: &SamplingParams) -> std::result::Result<SamplingParams, Failure> {
        let mut p = base.clone();
        p.temperature = self.temperature.or(p.temperature);
        p.top_p = self.top_p.or(p.top_p);
        p.max_tokens = self.max_tokens.or(p.max_tokens);
        p.presence_penalty = self.presence_penalty.or(p.presence_penalty);
        p.frequency_penalty = self.frequency_penalty.or(p.frequency_penalty);
        p.seed = self.seed.or(p.seed);
        p.validate().map_err(|e| Failure {
            code: 2,
            message: e.to_string(),
        })?;
        Ok(p)
    }

    pub fn any(&self) -> bool {
        self.temperature.is_some()
            || self.top_p.is_some()
            || self.max_tokens.is_some()
            || self.presence_penalty.is_some()
            || self.frequency_penalty.is_some()
            || self.seed.is_some()
    }
}

#[derive(Args, Debug)]
pub struct ChatArgs {
    #[arg(long)]
    pub profile: String,
    #[arg(long)]
    pub model: Option<String>,
    /// The system prompt for this conversation (a new one, or the one given by --conversation).
    #[arg(long, value_name = "TEXT")]
    pub system: Option<String>,
    /// Start the conversation from this preset (its prompt, parameters and model); flags given
    /// here win over it. Without it a new conversation starts from the default preset, if any.
    #[arg(long, value_name = "NAME", conflicts_with = "conversation")]
    pub preset: Option<String>,
    /// Attach a file (repeatable): an image (PNG, JPEG, WebP, GIF) is sent as an image, a text
    /// or code file is inlined in the message.
    #[arg(long = "attach", value_name = "FILE")]
    pub attach: Vec<PathBuf>,
    #[command(flatten)]
    pub params: ParamArgs,
    /// Continue this conversation instead of starting a new one.
    #[arg(long)]
    pub conversation: Option<String>,
    /// OpenCode only: the agent to run the prompt with (server default otherwise).
    #[arg(long)]
    pub agent: Option<String>,
    /// OpenCode only: answer every permission request of the run this way. Without it a
    /// terminal is asked, and without a terminal a request is rejected (exit 1).
    #[arg(long, value_enum, value_name = "once|always|reject")]
    pub approve: Option<ReplyArg>,
    /// Print the conversation id and final status as JSON on stderr's last line.
    #[arg(long)]
    pub json: bool,
    pub prompt: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum HistoryCmd {
    /// List conversations, pinned first, then the most recent.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// List the archived conversations instead.
        #[arg(long)]
        archived: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Print a conversation's messages along its selected branch.
    Show {
        id: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Search every message's text: all the words, the last one also as the start of a word.
    Search {
        query: Vec<String>,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Give a conversation a new title.
    Rename {
        id: String,
        #[arg(required = true)]
        title: Vec<String>,
    },
    /// Pin a conversation to the top of the list (`--off` unpins it).
    Pin {
        id: String,
        #[arg(long)]
        off: bool,
    },
    /// Move conversations to the archive (`--off` brings them back).
    Archive {
        #[arg(required = true)]
        ids: Vec<String>,
        #[arg(long)]
        off: bool,
    },
    /// Delete conversations (on every synced device too). Every ID is checked first: one that
    /// is not found deletes nothing.
    Delete {
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

// Parsed once per run: the size of the setup variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum SyncCmd {
    /// Set up sync with a WebDAV folder or an S3 bucket: checked first (reachable, the
    /// password or keys, the passphrase); nothing is saved when a check fails.
    Setup {
        /// The WebDAV folder (https://cloud.example.com/remote.php/dav/files/me/nexus/) or
        /// s3://bucket/folder with --endpoint.
        #[arg(long)]
        url: String,
        #[arg(long)]
        user: Option<String>,
        /// Read the server password from this environment variable (stored in the keychain).
        #[arg(long, value_name = "VAR")]
        password_env: Option<String>,
        /// S3: the storage's endpoint, e.g. https://s3.eu-central-1.amazonaws.com
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// S3: the region to sign for (default us-east-1).
        #[arg(long)]
        region: Option<String>,
        /// S3: read the access key id from this environment variable (stored in the keychain).
        #[arg(long, value_name = "VAR")]
        access_key_env: Option<String>,
        /// S3: read the secret access key from this environment variable (stored in the
        /// keychain).
        #[arg(long, value_name = "VAR")]
        secret_key_env: Option<String>,
        /// Read the encryption passphrase from this environment variable (stored in the
        /// keychain). Every device of the folder uses the same one.
        #[arg(long, value_name = "VAR")]
        passphrase_env: String,
        /// This device's name in the device list (default: the host name).
        #[arg(long)]
        name: Option<String>,
    },
    /// Send this device's changes and merge the other devices'.
    Now {
        #[arg(long)]
        json: bool,
    },
    /// Where sync stands: the folder, this device, changes waiting, the devices.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Stop syncing this device (the history here and the folder stay as they are).
    Forget,
    /// Remove another device (a lost or retired one) from the folder, by its name or id: its
    /// changes are merged here and kept in a snapshot first, then its files are deleted.
    Remove {
        /// The device's name or id, as `sync status` lists them.
        device: String,
        #[arg(long)]
        json: bool,
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
        Command::Presets(cmd) => presets(services, cmd).await,
        Command::Sync(cmd) => sync::sync(services, cmd).await,
        Command::Permissions(cmd) => approvals::permissions(services, cmd).await,
        Command::Questions(cmd) => approvals::questions(services, cmd).await,
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
            let dir = dir.or_else(serve_web::default_dir).ok_or_else(|| {
                fail("No web bundle found: build it with scripts/build-web.sh (it writes ./dist) or pass --dir.")
            })?;
            Ok(serve_web::serve(dir, port).await?)
        }
    }
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    );
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
