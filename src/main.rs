//! Entry point. With no subcommand the app opens its window; subcommands run the same engine
//! from the command line (see `cli`).

// The Windows build made with MinGW carries its own WebView2 loader: no DLL beside the .exe.
#[cfg(all(windows, target_env = "gnu", feature = "desktop"))]
mod webview2_loader;

#[cfg(feature = "native")]
fn main() -> std::process::ExitCode {
    use opencode_nexus::{cli, crash, logging, platform};

    platform::vitals::mark_start();
    #[cfg(all(target_os = "linux", feature = "desktop"))]
    let no_gpu = platform::native::draw_without_gl_when_no_gpu();
    let args = cli::parse();
    let dirs = match platform::native::DataDirs::resolve(args.data_dir.clone()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    crash::install(dirs.crash_reports());
    match args.command {
        Some(command) => {
            let log = logging::init(Some(&dirs.logs()), "warn");
            let code = cli::run(dirs, command);
            // Returning (not `process::exit`) lets the log writer flush and join: by then the
            // store threads have closed the database and the async runtime has stopped, so the
            // process ends with no thread of its own left to tear down.
            drop(log);
            std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
        }
        None => {
            let _log = logging::init(Some(&dirs.logs()), "info");
            tracing::info!(version = opencode_nexus::engine::version::VERSION_LINE, data_dir = %dirs.root.display(), "starting");
            #[cfg(all(target_os = "linux", feature = "desktop"))]
            if no_gpu {
                tracing::info!("no GPU render node: the window is drawn without compositing");
            }
            #[cfg(all(windows, target_env = "gnu", feature = "desktop"))]
            if !webview2_loader::runtime_installed() {
                webview2_loader::explain_missing_runtime();
                return std::process::ExitCode::FAILURE;
            }
            platform::set_data_dirs(dirs);
            tracing::info!(
                ms = platform::vitals::since_start_ms(),
                "opening the window"
            );
            launch_gui();
            std::process::ExitCode::SUCCESS
        }
    }
}

#[cfg(feature = "native")]
fn launch_gui() {
    // `mobile` uses the same webview renderer, re-exported under another name.
    #[cfg(feature = "desktop")]
    use dioxus::desktop as renderer;
    #[cfg(not(feature = "desktop"))]
    use dioxus::mobile as renderer;
    use renderer::{Config, LogicalSize, WindowBuilder};
    let window = WindowBuilder::new()
        .with_title("OpenCode Nexus")
        .with_inner_size(LogicalSize::new(1100.0, 760.0))
        .with_min_inner_size(LogicalSize::new(360.0, 480.0));
    // On Linux the interface uses fontconfig's default families, which desktops point at their
    // interface and code fonts: WebKitGTK resolving `system-ui` and families the system lacks
    // (`ui-monospace`) took 20–40 ms more before the first frame here.
    #[cfg(target_os = "linux")]
    let fonts = "<style>:root { --ui-font: sans-serif; --mono-font: monospace; }</style>";
    #[cfg(not(target_os = "linux"))]
    let fonts = "";
    let config = Config::new()
        .with_window(window)
        .with_menu(None)
        .with_custom_head(format!(
            "{}{}{fonts}",
            opencode_nexus::app::DESKTOP_HEAD,
            opencode_nexus::app::stylesheet_head()
        ))
        .with_background_color((24, 24, 27, 255));
    dioxus::LaunchBuilder::new()
        .with_cfg(config)
        .launch(opencode_nexus::app::App);
}

/// The browser page (and the engine-only build): the UI alone. The storage worker is its own
/// module (`src/bin/nexus-store.rs`), so the page's module carries no SQLite.
#[cfg(not(feature = "native"))]
fn main() {
    #[cfg(target_family = "wasm")]
    opencode_nexus::platform::web::init_logging();
    dioxus::launch(opencode_nexus::app::App);
}
