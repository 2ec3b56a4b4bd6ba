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

/// What a program prints cannot disguise a notification: control and bidi characters are
/// stripped and the text is cut short before it reaches the event stream (and the desktop's
/// notification server, which escapes markup on top: `attention::escape_markup`).
#[test]
fn notification_text_from_a_program_is_cleaned() {
    use grove_orchestrator::wire::Event;

    let dir = tempfile::tempdir().unwrap();
    let repo = fixture_repo(dir.path(), "repo");
    let g = Grove::start(&dir.path().join("data"));
    let repo_id = g.add_repo(&repo);
    rt().block_on(async {
        let mut events = crate::support::events(&g).await;
        // An OSC 9 whose text carries a right-to-left override, a C1 control, a newline and
        // 500 more characters.
        let long = "x".repeat(500);
        let command = format!(
            "sh -c 'sleep 0.5; printf \"\\033]9;<b>pay</b>\\342\\200\\256gnp.exe\\302\\233line\\nnext{long}\\007\"; exec cat'"
        );
        g.create_session(repo_id, "notify", &command);
        let message = crate::support::wait_event(&mut events, "attention", |ev| match ev {
            Event::Attention { message, .. } => Some(message.unwrap_or_default()),
            _ => None,
        })
        .await;
        // (A line feed inside an OSC is dropped by the parser already, like every C0 control.)
        assert!(message.starts_with("<b>pay</b>gnp.exelinenext"), "{message:?}");
        assert!(
            !message
                .chars()
                .any(|c| c.is_control() || ('\u{202A}'..='\u{202E}').contains(&c)),
            "{message:?}"
        );
        assert_eq!(message.chars().count(), 200, "{message:?}");
        assert!(message.ends_with('…'), "{message:?}");
        assert_eq!(
            grove_orchestrator::attention::escape_markup(&message[..10]),
            "&lt;b&gt;pay&lt;/b&gt;"
        );
    });
}
