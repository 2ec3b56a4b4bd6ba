//! grove-desktop: Grove's native shell.
//!
//! # How it works
//!
//! Before the window exists, [`local_server`] opens the data dir and starts the orchestrator's
//! HTTP/WebSocket server in-process on 127.0.0.1 with a random port and token, on Tauri's tokio
//! runtime; the CSP's `connect-src` is then narrowed to exactly that address. The web UI (the same
//! build a browser gets) finds the address and token left by the window's initialization script
//! (or asks with the `connection` command) and talks to the server like any client, over the webview's fetch and WebSocket (CORS and the CSP admit
//! exactly the webview's origin and that server).
//!
//! The shell adds only what needs the OS: [`tray`] (counts, show/hide, new session, quit),
//! [`activity`] (notifications from the orchestrator's events), [`links`] (`grove://` links,
//! strictly parsed, queued until the UI listens), one instance per user (a second launch hands
//! its arguments to the first and exits), and closing to the tray ([`settings`]).

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod activity;
mod links;
mod local_server;
mod settings;
mod shell;
mod tray;
mod update;

use std::process::ExitCode;

use tauri::{Manager, RunEvent, WebviewUrl, WebviewWindowBuilder, WindowEvent};

use local_server::LocalServer;
use shell::{MAIN, Shell};

fn main() -> ExitCode {
    // git runs this executable as the credential helper of the pushes Grove makes.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some(grove_orchestrator::github::credential::HELPER_ARG) {
        let code = grove_orchestrator::github::credential::helper_main(&args[2..]);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GROVE_LOG").unwrap_or_else(|_| {
                tracing_subscriber::EnvFilter::new(
                    "warn,grove_desktop=info,grove_orchestrator=info",
                )
            }),
        )
        .init();
    match run() {
        Ok(code) => code,
        Err(err) => {
            tracing::error!("{err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    update::wait_for_predecessor();
    let mut context = tauri::generate_context!();
    update::stamp_version(&mut context);
    let updater = update::plugin(&context);
    // A second launch cannot take the data dir's lock; it gets no server and, once the
    // single-instance plugin has handed its arguments to the first one, exits.
    let server = local_server::data_dir().and_then(LocalServer::start);
    if let Ok(server) = &server {
        narrow_csp(&mut context, &server.connect_sources());
    }
    let builder = tauri::Builder::default()
        // First, so that a second instance exits before anything else starts.
        .plugin(tauri_plugin_single_instance::init(|app, argv, _cwd| {
            let found = links::from_args(&argv);
            if found.is_empty() {
                // Launched again without a link: the user wants the window.
                shell::show_main(app);
            }
            for link in found {
                shell::open_link(app, link);
            }
        }))
        .plugin(tauri_plugin_deep_link::init());
    // A configuration that does not load turns updates off instead of stopping the app.
    let (builder, mut updates_off) = match updater {
        Ok(plugin) => (builder.plugin(plugin), None),
        Err(reason) => (builder, Some(reason)),
    };
    // The websocket plugin can open a socket to any URL the page names, so it exists only when
    // its sockets are asked for (to measure them against the webview's own).
    let builder = if plugin_transport() {
        builder.plugin(tauri_plugin_websocket::init())
    } else {
        builder
    };
    let app = builder
        .invoke_handler(tauri::generate_handler![
            shell::connection,
            shell::desktop_ready,
            shell::github_sign_in,
            update::update_state,
            update::update_check,
            update::update_install,
            update::update_later,
            update::update_skip,
            update::update_auto_check
        ])
        .setup(move |app| {
            let server = server?;
            let settings_path = app.path().app_config_dir()?.join("desktop.json");
            app.manage(Shell::new(server, settings_path));
            update::setup(app.handle(), updates_off.take());
            setup(app.handle())?;
            Ok(())
        })
        .on_window_event(|window, event| {
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == MAIN
            {
                let app = window.app_handle();
                if app.state::<Shell>().close_to_tray() {
                    api.prevent_close();
                    let _ = window.hide();
                } else if shell::counts(&app.state::<Shell>().grove).live_terminals > 0 {
                    api.prevent_close();
                    shell::request_quit(app);
                }
            }
        })
        .build(context)?;
    app.run(|app, event| {
        if let RunEvent::Exit = event
            && let Some(shell) = app.try_state::<Shell>()
        {
            shell.stop();
            update::relaunch(app);
        }
    });
    Ok(ExitCode::SUCCESS)
}

/// SIGTERM (the session logging out, a service manager, `kill`) and SIGINT quit like the tray's
/// Quit, without asking: the app exits through `RunEvent::Exit`, which stops the server and ends
/// every terminal, saving its log and screen, before the process goes.
fn quit_on_signal(app: &tauri::AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::warn!("cannot listen for SIGTERM; a kill will not save the last output");
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        tracing::info!("quitting on a signal");
        app.exit(0);
    });
}

fn setup(app: &tauri::AppHandle) -> anyhow::Result<()> {
    quit_on_signal(app);
    // Queue links from this launch's command line (Linux, Windows) and from the OS (macOS)
    // before the window exists: they are delivered once the UI says it is ready.
    let args: Vec<String> = std::env::args().collect();
    for link in links::from_args(&args) {
        shell::open_link(app, link);
    }
    {
        use tauri_plugin_deep_link::DeepLinkExt;
        let handle = app.clone();
        app.deep_link().on_open_url(move |event| {
            for url in event.urls() {
                shell::open_link(&handle, url.as_str());
            }
        });
        // An AppImage has no installed .desktop file to carry the scheme: register at run time.
        // On Windows the installer writes the scheme's registry key (bundler, from
        // plugins.deep-link); a copy run from elsewhere registers itself (HKCU) when the key
        // names another program. macOS reads it from the bundle's Info.plist (installed .app).
        #[cfg(any(target_os = "linux", windows))]
        if (cfg!(windows) || std::env::var_os("APPIMAGE").is_some())
            && !app.deep_link().is_registered("grove").unwrap_or(false)
            && let Err(err) = app.deep_link().register_all()
        {
            tracing::warn!(%err, "could not register the grove:// scheme");
        }
    }
    if plugin_transport() {
        grant_plugin_sockets(app)?;
    }
    let mut window = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App(window_path().into()));
    if let Some(script) = shell::connection_script(&app.state::<Shell>()) {
        window = window.initialization_script(&script);
    }
    window
        .title("Grove")
        .inner_size(1280.0, 800.0)
        .min_inner_size(640.0, 400.0)
        .build()?;
    let tray = match tray::build(app, app.state::<Shell>().close_to_tray()) {
        Ok(tray) => Some(tray),
        Err(err) => {
            tracing::warn!(%err, "no tray icon");
            None
        }
    };
    tauri::async_runtime::spawn(activity::follow(app.clone(), tray));
    Ok(())
}

/// Which sockets the UI uses: the webview's own WebSocket (the default), or
/// `GROVE_DESKTOP_TRANSPORT=plugin` for tauri-plugin-websocket's (kept to measure it against).
fn plugin_transport() -> bool {
    std::env::var("GROVE_DESKTOP_TRANSPORT").as_deref() == Ok("plugin")
}

/// The page: `index.html`, with `?transport=plugin` when the plugin's sockets are asked for.
fn window_path() -> String {
    if plugin_transport() {
        "index.html?transport=plugin".into()
    } else {
        "index.html".into()
    }
}

/// The websocket plugin's permissions, granted only when its sockets are used.
fn grant_plugin_sockets(app: &tauri::AppHandle) -> tauri::Result<()> {
    app.add_capability(
        r#"{
            "identifier": "plugin-sockets",
            "description": "Sockets through tauri-plugin-websocket (GROVE_DESKTOP_TRANSPORT=plugin).",
            "windows": ["main"],
            "permissions": ["websocket:allow-connect", "websocket:allow-send"]
        }"#,
    )
}

/// Adds the local server (and nothing else) to the CSP's `connect-src`, which otherwise admits
/// Tauri's IPC and the app's own files (`'self'`: the diff view fetches its grammar assets).
fn narrow_csp(context: &mut tauri::Context, sources: &str) {
    use tauri::utils::config::{Csp, CspDirectiveSources};
    let security = &mut context.config_mut().app.security;
    if let Some(csp) = security.csp.take() {
        let mut map: std::collections::HashMap<String, CspDirectiveSources> = csp.into();
        let entry = map
            .entry("connect-src".into())
            .or_insert_with(|| CspDirectiveSources::List(Vec::new()));
        entry.extend(sources.split(' ').map(String::from).collect::<Vec<_>>());
        security.csp = Some(Csp::from(map));
    }
}
