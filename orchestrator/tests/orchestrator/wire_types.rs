//! The TypeScript wire types in web/ are generated from the Rust ones and must be fresh.

use std::path::Path;

#[test]
fn generated_typescript_is_fresh() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/src/lib/wire");
    let fresh = tempfile::tempdir().unwrap();
    grove_orchestrator::wire::export_all(fresh.path()).unwrap();
    let mut names: Vec<_> = std::fs::read_dir(fresh.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert!(names.len() > 10, "exported {names:?}");
    let mut stale = Vec::new();
    for name in &names {
        let want = std::fs::read_to_string(fresh.path().join(name)).unwrap();
        let have = std::fs::read_to_string(committed.join(name)).unwrap_or_default();
        if want != have {
            stale.push(name.to_string_lossy().into_owned());
        }
    }
    let extra: Vec<_> = std::fs::read_dir(&committed)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name())
                .filter(|n| !names.contains(n) && n != "index.ts")
                .collect()
        })
        .unwrap_or_default();
    assert!(
        stale.is_empty() && extra.is_empty(),
        "stale wire types {stale:?}, extra {extra:?}: run scripts/gen-types"
    );
}
