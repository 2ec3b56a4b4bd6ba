//! Attack cases: terminals. Sizes come from clients and must not be able to exhaust the server.

use grove_orchestrator::wire::ClientFrame;

use crate::support::{Grove, TermClient, fixture_repo, rt};

#[test]
fn an_oversize_terminal_is_clamped_on_spawn_and_resize() {
    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    // Created at 65535×65535: spawned at 1000×1000.
    let body = serde_json::json!({
        "repo_id": repo_id, "name": "huge", "command": "bash --norc --noprofile",
        "rows": 65535, "cols": 65535,
    });
    let s: grove_orchestrator::wire::Session =
        serde_json::from_value(g.ok("POST", "/sessions", Some(body))).unwrap();
    let tid = s.terminals[0].id;
    rt().block_on(async {
        let mut c = TermClient::connect(&g, tid, "?from=0").await;
        c.send_input("echo size=$(stty size)\n").await;
        c.read_until("size=1000 1000").await;
        // One frame asking for 65535×65535 again, this time as a resize.
        let frame = ClientFrame::Resize {
            rows: 65535,
            cols: 65535,
        };
        c.send_control(&frame).await;
        let frame = ClientFrame::Resize {
            rows: 50,
            cols: 2000,
        };
        c.send_control(&frame).await;
        c.send_input("echo again=$(stty size)\n").await;
        c.read_until("again=50 1000").await;
        let _ = c.ws.close(None).await;
    });
    // The server is alive and answers.
    assert_eq!(g.ok("GET", "/health", None)["ok"], true);
}
