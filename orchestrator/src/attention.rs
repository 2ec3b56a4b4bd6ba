//! Spotting "I need you" in a terminal's output, the agent-agnostic way: a bell (BEL outside any
//! escape string), OSC 9 notifications (iTerm2/ConEmu) and OSC 777 `notify` (urxvt, Ghostty,
//! VS Code). Also recognises Grove's own OSC 6973 that reports the setup commands' exit status.
//! Never parses an agent's screen text, and never needs hooks in the agent's config.

/// What the scanner found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    Bell,
    Notify(Option<String>),
    /// Grove's own setup run reporting its exit status, with the session's one-time nonce.
    SetupExit {
        nonce: String,
        code: i32,
    },
}

/// Grove's private OSC number: `ESC ] 6973 ; setup-exit ; NONCE ; CODE BEL`.
pub const GROVE_OSC: &str = "6973";

const MAX_OSC: usize = 1024;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    #[default]
    Ground,
    Escape,
    /// Inside OSC; `esc` is true right after an ESC (possible ST).
    Osc {
        esc: bool,
    },
    /// Inside DCS/SOS/PM/APC strings, which may contain BEL-like bytes that are not bells.
    Str {
        esc: bool,
    },
}

/// A streaming scanner: feed it chunks in order; state carries across chunk boundaries.
#[derive(Debug, Default)]
pub struct Scanner {
    state: State,
    osc: Vec<u8>,
}

impl Scanner {
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Signal>) {
        let mut i = 0;
        while i < bytes.len() {
            if self.state == State::Ground {
                // Plain text is most of any output: jump straight to the next byte that can
                // start something (BEL or ESC) instead of looking at every byte.
                match memchr::memchr2(0x07, 0x1b, &bytes[i..]) {
                    Some(n) => i += n,
                    None => return,
                }
            }
            self.step(bytes[i], out);
            i += 1;
        }
    }

    fn step(&mut self, b: u8, out: &mut Vec<Signal>) {
        self.state = match self.state {
            State::Ground => match b {
                0x07 => {
                    out.push(Signal::Bell);
                    State::Ground
                }
                0x1b => State::Escape,
                _ => State::Ground,
            },
            State::Escape => match b {
                b']' => {
                    self.osc.clear();
                    State::Osc { esc: false }
                }
                b'P' | b'X' | b'^' | b'_' => State::Str { esc: false },
                0x1b => State::Escape,
                _ => State::Ground,
            },
            State::Osc { esc } => match b {
                0x07 => {
                    self.dispatch(out);
                    State::Ground
                }
                b'\\' if esc => {
                    self.dispatch(out);
                    State::Ground
                }
                0x1b => State::Osc { esc: true },
                0x18 | 0x1a => State::Ground,
                _ if esc => {
                    // ESC followed by something else aborts the OSC and starts a new escape,
                    // of which this byte is the first.
                    self.state = State::Escape;
                    return self.step(b, out);
                }
                _ => {
                    if self.osc.len() < MAX_OSC {
                        self.osc.push(b);
                    }
                    State::Osc { esc: false }
                }
            },
            State::Str { esc } => match b {
                0x07 => State::Ground,
                b'\\' if esc => State::Ground,
                0x1b => State::Str { esc: true },
                0x18 | 0x1a => State::Ground,
                _ if esc => {
                    self.state = State::Escape;
                    return self.step(b, out);
                }
                _ => State::Str { esc: false },
            },
        };
    }

    fn dispatch(&mut self, out: &mut Vec<Signal>) {
        let payload = String::from_utf8_lossy(&self.osc).into_owned();
        let mut parts = payload.splitn(2, ';');
        let (num, rest) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        match num {
            // OSC 9;4;… is ConEmu's progress bar, not a notification.
            "9" if !rest.starts_with("4;") => {
                out.push(Signal::Notify((!rest.is_empty()).then(|| rest.to_owned())))
            }
            "777" => {
                let mut f = rest.splitn(3, ';');
                if f.next() == Some("notify") {
                    let title = f.next().unwrap_or("");
                    let body = f.next().unwrap_or("");
                    let msg = match (title.is_empty(), body.is_empty()) {
                        (true, true) => None,
                        (false, true) => Some(title.to_owned()),
                        (true, false) => Some(body.to_owned()),
                        (false, false) => Some(format!("{title}: {body}")),
                    };
                    out.push(Signal::Notify(msg));
                }
            }
            GROVE_OSC => {
                if let Some((nonce, code)) = rest
                    .strip_prefix("setup-exit;")
                    .and_then(|r| r.split_once(';'))
                    && let Ok(code) = code.trim().parse()
                {
                    out.push(Signal::SetupExit {
                        nonce: nonce.to_owned(),
                        code,
                    });
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(chunks: &[&[u8]]) -> Vec<Signal> {
        let mut s = Scanner::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut out);
        }
        out
    }

    #[test]
    fn bell_and_notifications() {
        assert_eq!(scan(&[b"done\x07"]), vec![Signal::Bell]);
        assert_eq!(
            scan(&[b"\x1b]9;Agent waits\x07"]),
            vec![Signal::Notify(Some("Agent waits".into()))]
        );
        assert_eq!(
            scan(&[b"\x1b]777;notify;Claude;needs input\x1b\\"]),
            vec![Signal::Notify(Some("Claude: needs input".into()))]
        );
        assert_eq!(
            scan(&[b"\x1b]6973;setup-exit;n0;3\x07"]),
            vec![Signal::SetupExit {
                nonce: "n0".into(),
                code: 3
            }]
        );
    }

    #[test]
    fn bel_terminating_other_strings_is_not_a_bell() {
        assert_eq!(
            scan(&[b"\x1b]0;title\x07", b"\x1b]8;;http://x\x07link\x1b]8;;\x07"]),
            vec![]
        );
        assert_eq!(scan(&[b"\x1bPq#0\x07"]), vec![]);
        assert_eq!(
            scan(&[b"\x1b]9;4;1;50\x07"]),
            vec![],
            "progress is not attention"
        );
    }

    #[test]
    fn state_carries_across_chunks() {
        assert_eq!(
            scan(&[b"\x1b]9;wa", b"it\x1b", b"\\"]),
            vec![Signal::Notify(Some("wait".into()))]
        );
        assert_eq!(scan(&[b"\x1b]0;t", b"\x07", b"\x07"]), vec![Signal::Bell]);
        // An ESC that aborts an OSC starts the next sequence.
        assert_eq!(
            scan(&[b"\x1b]0;t\x1b]9;hi\x07"]),
            vec![Signal::Notify(Some("hi".into()))]
        );
    }

    proptest::proptest! {
        /// However the output is cut into chunks, the scanner finds the same signals.
        #[test]
        fn chunking_does_not_matter(bytes in proptest::collection::vec(proptest::sample::select(vec![b'a', 0x07, 0x1b, b']', b'9', b';', b'\\', b'P', b'x']), 0..400), cut in 0usize..400) {
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

        #[test]
        fn never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048)) {
            let mut out = Vec::new();
            Scanner::default().feed(&bytes, &mut out);
        }
    }
}
