//! An empty Tauri 2 window (one blank page, no plugins), built with the same tauri features and
//! profile as Grove's desktop app: the baseline of the `desktop_memory` benchmark.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    // The window is made in `setup`, as grove-desktop makes its own.
    let app = tauri::Builder::default().setup(|app| {
        tauri::WebviewWindowBuilder::new(app, "main", tauri::WebviewUrl::App("index.html".into()))
            .title("Empty")
            .inner_size(1280.0, 800.0)
            .build()?;
        Ok(())
    });
    match app.run(tauri::generate_context!("tauri.empty.conf.json")) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("empty window: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
