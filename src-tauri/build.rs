fn main() {
    // The app's own commands, each behind a permission (permissions/app.toml) so a capability
    // grants them one by one.
    let attributes =
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(&[
            "connection",
            "desktop_ready",
            "github_sign_in",
            "update_state",
            "update_check",
            "update_install",
            "update_later",
            "update_skip",
            "update_auto_check",
        ]));
    if let Err(err) = tauri_build::try_build(attributes) {
        panic!("tauri-build: {err:#}");
    }
}
