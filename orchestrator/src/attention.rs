//! Spotting "I need you" in a terminal's output, the agent-agnostic way: a bell (BEL outside any
//! escape string), OSC 9 notifications (iTerm2/ConEmu) and OSC 777 `notify` (urxvt, Ghostty,
//! VS Code). Also recognises Grove's own OSC 6973 that reports the setup commands' exit status.
//! Never parses an agent's screen text, and never needs hooks in the agent's config.
//!
//! # How it works
//!
//! The bytes go through [`vte`]'s parser, the same state machine the screen model (alacritty's)
//! runs, so the scanner and the screen agree on where every escape string starts and ends: a
//! BEL inside a DCS, SOS, PM or APC string is data, not a bell, and is never mistaken for one.
//!
//! Plain text is most of any output, and vte would still decode every character of it. So while
//! the parser is known to be in its ground state the scanner jumps with `memchr` to the next BEL
//! or ESC (the only bytes that can matter there: vte treats C1 bytes in text as controls it
//! merely executes) and hands the parser only what follows. It learns that the parser is back in
//! ground from the callbacks that end a sequence in ground (a CSI or ESC dispatch, an OSC ended
//! by BEL), which [`vte::Parser::advance_until_terminated`] lets it see at the exact byte. After
//! anything else (a DCS ended by the C1 ST, say) it simply keeps feeding the parser every byte
//! until the next such callback; `fast_path_changes_nothing` below checks that both ways find
//! the same signals.
//!
//! An OSC ended by ESC counts only when the ESC is the start of ST (`ESC \`); vte dispatches it
//! at the ESC already, so the scanner holds the signal until it has seen the next byte.
//!
//! Notification text comes from whatever the program printed, and goes on to the desktop's
//! notification server, the event stream and the UI. It is cleaned here once for all of them:
//! control and bidirectional-override characters are removed and the text is cut to
//! [`MAX_MESSAGE_CHARS`] characters. Markup is escaped ([`escape_markup`]) where it would be
//! read as markup: by the desktop right before the notification server (the UI shows text).
//!
//! vte buffers an OSC's text without a bound (its `std` build, which alacritty_terminal turns
//! on for the whole build). The screen model holds the same string at the same moment, so this
//! at most doubles what an endless OSC costs; it does not add a new way to grow memory.

use grove_pty::utf8::Utf8Carry;

/// What the scanner found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    Bell,
    /// An OSC 9 / OSC 777 notification, with its cleaned text when it had any.
    Notify(Option<String>),
    /// `ESC ] 6973 ; setup-exit ; NONCE ; CODE BEL`: the setup commands' exit status. Whether
    /// the nonce is the session's (and whether it was already used) is for the caller to check.
    SetupExit {
        nonce: String,
        code: i32,
    },
}

/// Grove's private OSC number: `ESC ] 6973 ; setup-exit ; NONCE ; CODE BEL`.
pub const GROVE_OSC: &str = "6973";

/// Notification text is cut to this many characters (an ellipsis marks the cut).
pub const MAX_MESSAGE_CHARS: usize = 200;

const BEL: u8 = 0x07;
const ESC: u8 = 0x1b;

/// A streaming scanner: feed it chunks in order; state carries across chunk boundaries.
#[derive(Default)]
pub struct Scanner {
    /// A character the last chunk ended inside, held so vte only ever sees whole ones (see
    /// [`Utf8Carry`]: vte 0.15 drops the byte after a split character in some cases, a BEL
    /// among them).
    carry: Utf8Carry,
    state: State,
}

#[derive(Default)]
struct State {
    parser: vte::Parser,
    /// The parser may be inside a sequence (or is in ground without the scanner having seen it
    /// get there), so every byte must go through it. When false it is known to be in ground with
    /// no half character buffered, and plain text can be skipped.
    busy: bool,
    /// A signal from an OSC that ended with ESC, valid only if the next byte is `\`.
    pending: Option<Signal>,
}

impl std::fmt::Debug for Scanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scanner")
            .field("busy", &self.state.busy)
            .field("pending", &self.state.pending)
            .field("carry", &self.carry)
            .finish_non_exhaustive()
    }
}

impl Scanner {
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Signal>) {
        let Scanner { carry, state } = self;
        carry.feed(bytes, |whole| state.feed(whole, out));
    }
}

impl State {
    fn feed(&mut self, bytes: &[u8], out: &mut Vec<Signal>) {
        let mut i = 0;
        while i < bytes.len() {
            if let Some(signal) = self.pending.take()
                && bytes[i] == b'\\'
            {
                out.push(signal);
            }
            if !self.busy {
                match memchr::memchr2(BEL, ESC, &bytes[i..]) {
                    Some(n) => i += n,
                    None => return,
                }
                if bytes[i] == BEL {
                    out.push(Signal::Bell);
                    i += 1;
                    continue;
                }
                self.busy = true;
            }
            let mut p = Performer {
                out,
                pending: None,
                stop: None,
            };
            i += self.parser.advance_until_terminated(&mut p, &bytes[i..]);
            match p.stop {
                Some(Stop::Ground) => self.busy = false,
                Some(Stop::OscByEsc) => self.pending = p.pending,
                None => {}
            }
        }
    }
}

/// Why the performer asked the parser to stop after the current byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// A sequence ended and the parser is back in ground.
    Ground,
    /// An OSC was ended by ESC: whether that was ST depends on the next byte.
    OscByEsc,
}

struct Performer<'a> {
    out: &'a mut Vec<Signal>,
    pending: Option<Signal>,
    stop: Option<Stop>,
}

impl vte::Perform for Performer<'_> {
    fn execute(&mut self, byte: u8) {
        // CAN and SUB right after an OSC's dispatch abort it rather than end it.
        self.pending = None;
        if byte == BEL {
            self.out.push(Signal::Bell);
        }
    }

    fn esc_dispatch(&mut self, _intermediates: &[u8], _ignore: bool, _byte: u8) {
        self.stop = Some(Stop::Ground);
    }

    fn csi_dispatch(&mut self, _: &vte::Params, _: &[u8], _: bool, _: char) {
        self.stop = Some(Stop::Ground);
    }

    fn osc_dispatch(&mut self, params: &[&[u8]], bell_terminated: bool) {
        let signal = osc_signal(params);
        if bell_terminated {
            self.out.extend(signal);
            self.stop = Some(Stop::Ground);
        } else {
            self.pending = signal;
            self.stop = Some(Stop::OscByEsc);
        }
    }

    fn terminated(&self) -> bool {
        self.stop.is_some()
    }
}

/// The signal an OSC carries, if any. vte has split it at `;` (the separators are not in the
/// parts, so joining with `;` gives the text back).
fn osc_signal(params: &[&[u8]]) -> Option<Signal> {
    let text = |parts: &[&[u8]]| String::from_utf8_lossy(&parts.join(&b';')).into_owned();
    match params {
        // OSC 9;4;… is ConEmu's progress bar, not a notification.
        [b"9", b"4", _, ..] => None,
        [b"9", rest @ ..] => Some(Signal::Notify(clean_message(&text(rest)))),
        [b"777", b"notify", rest @ ..] => {
            let title = rest.first().map(|t| text(&[t])).unwrap_or_default();
            let body = rest.get(1..).map(text).unwrap_or_default();
            let (title, body) = (title.trim(), body.trim());
            let message = match (title.is_empty(), body.is_empty()) {
                (_, true) => title.to_owned(),
                (true, false) => body.to_owned(),
                (false, false) => format!("{title}: {body}"),
            };
            Some(Signal::Notify(clean_message(&message)))
        }
        [num, b"setup-exit", nonce, code] if *num == GROVE_OSC.as_bytes() && !nonce.is_empty() => {
            let code = std::str::from_utf8(code).ok()?.trim().parse().ok()?;
            Some(Signal::SetupExit {
                nonce: String::from_utf8_lossy(nonce).into_owned(),
                code,
            })
        }
        _ => None,
    }
}

/// Makes program-supplied text safe to show: drops control characters (C0, DEL, C1) and the
/// characters that reorder text (bidi embeddings, overrides, isolates and marks), turns line
/// breaks and tabs into spaces and cuts it to [`MAX_MESSAGE_CHARS`] characters at a character
/// boundary. `None` when nothing is left.
pub fn clean_message(raw: &str) -> Option<String> {
    let kept: String = raw
        .chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' | '\u{2028}' | '\u{2029}' => Some(' '),
            c if c.is_control() || is_bidi_control(c) => None,
            c => Some(c),
        })
        .collect();
    let kept = kept.trim();
    if kept.is_empty() {
        return None;
    }
    let cut = kept.char_indices().nth(MAX_MESSAGE_CHARS).map(|(at, _)| at);
    Some(match cut {
        Some(_) => {
            // Room for the ellipsis within the limit.
            let end = kept
                .char_indices()
                .nth(MAX_MESSAGE_CHARS - 1)
                .map_or(kept.len(), |(at, _)| at);
            format!("{}…", kept[..end].trim_end())
        }
        None => kept.to_owned(),
    })
}

/// Escapes `<`, `>` and `&` for a notification server, which renders a subset of markup
/// (freedesktop notifications): a program's `<a href=…>` must arrive as text.
pub fn escape_markup(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// U+061C ARABIC LETTER MARK, U+200E/U+200F LRM/RLM, U+202A..U+202E embeddings and overrides,
/// U+2066..U+2069 isolates: they change the order in which the rest of the text is shown.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests;
