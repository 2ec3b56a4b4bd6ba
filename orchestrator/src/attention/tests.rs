use super::*;

fn scan(chunks: &[&[u8]]) -> Vec<Signal> {
    let mut s = Scanner::default();
    let mut out = Vec::new();
    for c in chunks {
        s.feed(c, &mut out);
    }
    out
}

fn notify(text: &str) -> Vec<Signal> {
    vec![Signal::Notify(Some(text.into()))]
}

/// Every byte through vte, one at a time: what the scanner would find without its fast path.
fn scan_without_fast_path(bytes: &[u8]) -> Vec<Signal> {
    let mut s = Scanner::default();
    let mut out = Vec::new();
    for b in bytes {
        s.state.busy = true;
        s.feed(std::slice::from_ref(b), &mut out);
    }
    out
}

#[test]
fn bell_and_notifications() {
    assert_eq!(scan(&[b"done\x07"]), vec![Signal::Bell]);
    assert_eq!(scan(&[b"\x1b]9;Agent waits\x07"]), notify("Agent waits"));
    assert_eq!(
        scan(&[b"\x1b]777;notify;Claude;needs input\x1b\\"]),
        notify("Claude: needs input")
    );
    assert_eq!(
        scan(&[b"\x1b]777;notify;Claude;a;b\x07"]),
        notify("Claude: a;b"),
        "the body keeps its semicolons"
    );
    assert_eq!(
        scan(&[b"\x1b]9;\x07", b"\x1b]777;notify;;\x07"]),
        vec![Signal::Notify(None), Signal::Notify(None)]
    );
}

#[test]
fn setup_exit_carries_its_nonce() {
    assert_eq!(
        scan(&[b"\x1b]6973;setup-exit;n0nce;3\x07"]),
        vec![Signal::SetupExit {
            nonce: "n0nce".into(),
            code: 3
        }]
    );
    // Without a nonce, with extra fields or with a code that is not a number, it is nothing.
    assert_eq!(scan(&[b"\x1b]6973;setup-exit;3\x07"]), vec![]);
    assert_eq!(scan(&[b"\x1b]6973;setup-exit;;3\x07"]), vec![]);
    assert_eq!(scan(&[b"\x1b]6973;setup-exit;n;3;4\x07"]), vec![]);
    assert_eq!(scan(&[b"\x1b]6973;setup-exit;n;x\x07"]), vec![]);
}

#[test]
fn bel_terminating_other_strings_is_not_a_bell() {
    assert_eq!(
        scan(&[b"\x1b]0;title\x07", b"\x1b]8;;http://x\x07link\x1b]8;;\x07"]),
        vec![]
    );
    assert_eq!(
        scan(&[b"\x1b]9;4;1;50\x07"]),
        vec![],
        "progress is not attention"
    );
}

#[test]
fn bel_inside_dcs_sos_pm_apc_is_data() {
    for intro in [b'P', b'X', b'^', b'_'] {
        let mut seq = vec![0x1b, intro];
        seq.extend_from_slice(b"q#0\x07more\x07\x1b\\after");
        assert_eq!(scan(&[&seq]), vec![], "ESC {}", intro as char);
    }
    // After the string's ST, a bell rings again.
    assert_eq!(scan(&[b"\x1b_x\x07\x1b\\", b"\x07"]), vec![Signal::Bell]);
    // A DCS ended by the 8-bit ST (0x9C).
    assert_eq!(scan(&[b"\x1bPq\x07\x9c\x07"]), vec![Signal::Bell]);
}

#[test]
fn an_osc_cut_short_is_not_a_notification() {
    // ESC followed by something other than `\` aborts the OSC and starts a new sequence.
    assert_eq!(scan(&[b"\x1b]9;hi\x1b[1m"]), vec![]);
    // CAN and SUB abort it too.
    assert_eq!(scan(&[b"\x1b]9;hi\x18", b"\x1b]9;ho\x1a"]), vec![]);
}

#[test]
fn state_carries_across_chunks() {
    assert_eq!(scan(&[b"\x1b]9;wa", b"it\x1b", b"\\"]), notify("wait"));
    assert_eq!(scan(&[b"\x1b]0;t", b"\x07", b"\x07"]), vec![Signal::Bell]);
    // An ESC that aborts an OSC starts the next sequence.
    assert_eq!(scan(&[b"\x1b]0;t\x1b]9;hi\x07"]), notify("hi"));
    assert_eq!(scan(&[b"\x1b]9;hi\x1b", b"]9;ho\x07"]), notify("ho"));
    // A character split across chunks inside a notification.
    assert_eq!(scan(&[b"\x1b]9;caf\xc3", b"\xa9\x07"]), notify("café"));
}

#[test]
fn notification_text_is_cleaned() {
    assert_eq!(
        scan(&[b"\x1b]9;<b>Tom & Jerry</b>\x07"]),
        notify("<b>Tom & Jerry</b>")
    );
    assert_eq!(
        scan(&["\x1b]777;notify;\u{202E}evil;x\u{2066}y\x07".as_bytes()]),
        notify("evil: xy")
    );
}

#[test]
fn markup_is_escaped_for_the_notification_server() {
    assert_eq!(
        escape_markup("<a href=\"x\">&</a>"),
        "&lt;a href=\"x\"&gt;&amp;&lt;/a&gt;"
    );
}

#[test]
fn clean_message_strips_controls_and_bidi() {
    let c0: String = (0u8..0x20).map(char::from).collect();
    let c1: String = (0x80u32..0xa0).filter_map(char::from_u32).collect();
    let bidi = "\u{202A}\u{202B}\u{202C}\u{202D}\u{202E}\u{2066}\u{2067}\u{2068}\u{2069}\u{200E}\u{200F}\u{061C}";
    let raw = format!("a{c0}b\u{7f}c{c1}d{bidi}e");
    // Tab, line feed and carriage return become spaces; the rest goes.
    assert_eq!(clean_message(&raw).as_deref(), Some("a   bcde"));
    assert_eq!(
        clean_message("line one\nline two").as_deref(),
        Some("line one line two")
    );
    assert_eq!(clean_message(&format!("{c0}{bidi}  ")), None);
}

#[test]
fn clean_message_truncates_at_a_char_boundary() {
    let exact = "é".repeat(MAX_MESSAGE_CHARS);
    assert_eq!(clean_message(&exact).as_deref(), Some(exact.as_str()));
    let long = "é".repeat(MAX_MESSAGE_CHARS + 50);
    let cut = clean_message(&long).unwrap();
    assert_eq!(cut.chars().count(), MAX_MESSAGE_CHARS);
    assert!(cut.ends_with("é…"), "{cut}");
    // The limit counts characters as shown: escaping comes after the cut and is never split.
    let amps = "&".repeat(MAX_MESSAGE_CHARS * 2);
    let cut = escape_markup(&clean_message(&amps).unwrap());
    assert_eq!(cut, format!("{}…", "&amp;".repeat(MAX_MESSAGE_CHARS - 1)));
}

const ALPHABET: [u8; 16] = [
    b'a', 0x07, 0x1b, b']', b'9', b';', b'\\', b'P', b'[', b'm', b'_', 0x18, 0x9c, 0xc3, 0xa9, b'7',
];

proptest::proptest! {
    /// However the output is cut into chunks, the scanner finds the same signals.
    #[test]
    fn chunking_does_not_matter(bytes in proptest::collection::vec(proptest::sample::select(ALPHABET.to_vec()), 0..400), cut in 0usize..400) {
        let mut whole = Vec::new();
        Scanner::default().feed(&bytes, &mut whole);
        let mut split = Vec::new();
        let mut s = Scanner::default();
        let cut = cut.min(bytes.len());
        s.feed(&bytes[..cut], &mut split);
        s.feed(&bytes[cut..], &mut split);
        let mut single = Vec::new();
        let mut s = Scanner::default();
        for b in &bytes {
            s.feed(std::slice::from_ref(b), &mut single);
        }
        proptest::prop_assert_eq!(&whole, &split);
        proptest::prop_assert_eq!(&whole, &single);
    }

    /// Skipping plain text while the parser is in ground finds exactly what vte finds when it
    /// sees every byte.
    #[test]
    fn fast_path_changes_nothing(bytes in proptest::collection::vec(proptest::sample::select(ALPHABET.to_vec()), 0..400)) {
        let mut fast = Vec::new();
        Scanner::default().feed(&bytes, &mut fast);
        proptest::prop_assert_eq!(fast, scan_without_fast_path(&bytes));
    }

    #[test]
    fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
        let mut out = Vec::new();
        Scanner::default().feed(&bytes, &mut out);
    }
}

/// A character split across two reads, then a BEL, then a byte that is not UTF-8: vte 0.15
/// given the halves in two calls resumes one byte too far and never sees the BEL. Found by
/// `chunking_does_not_matter` (a DCS left the parser busy, so the text went through vte).
#[test]
fn a_bell_after_a_split_character_is_found() {
    let mut bytes = b"\x1bP".to_vec(); // a DCS, ended by C1 ST: the scanner stays busy
    bytes.extend_from_slice(b"q\x9cdone \xc3\xa9\x07\xa9");
    let split_at = bytes.len() - 3; // between 0xc3 and 0xa9
    assert_eq!(scan(&[&bytes]), vec![Signal::Bell]);
    assert_eq!(
        scan(&[&bytes[..split_at], &bytes[split_at..]]),
        vec![Signal::Bell]
    );
}
