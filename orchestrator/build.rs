//! Makes sure `web/dist` exists when this crate compiles.
//!
//! rust-embed resolves the UI folder at compile time. If it is missing then, debug builds keep
//! a non-canonical `orchestrator/../web/dist` path and never find the UI built later (every
//! canonical file path fails its prefix check). An empty folder avoids that; the server then
//! says how to build the UI. Rebuilding the UI changes the folder, which re-runs this crate's
//! build so release builds embed the new files.

// Cargo reads a build script's instructions from stdout.
#![allow(clippy::print_stdout)]

fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/dist");
    if let Err(err) = std::fs::create_dir_all(&dist) {
        println!("cargo:warning=could not create {}: {err}", dist.display());
    }
    println!("cargo:rerun-if-changed=../web/dist");
    println!("cargo:rerun-if-changed=build.rs");
}
