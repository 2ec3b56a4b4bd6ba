//! A small scanner for the few control sequences the emulator crate does not handle but Grove
//! must: XTVERSION and DECRQSS queries (answered by the model), the scroll region and
//! synchronized output (carried into snapshots), and full resets. It sees every byte the model
//! sees, keeps its state across chunks, and reports where in a chunk each sequence ended, so
//! answers keep the order of the queries.

use memchr::memchr;

/// A sequence of interest, ending just before byte `at` of the scanned chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub at: usize,
    pub what: Sequence,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Sequence {
    /// `CSI > q` / `CSI > 0 q`.
    XtVersion,
    /// `DCS $ q <setting> ST`: the setting asked for (`m`, ` q`, `r`, ...).
    Decrqss(Vec<u8>),
    /// `CSI top ; bottom r` (1-based, 0 or missing = default).
    ScrollRegion { top: u16, bottom: u16 },
    /// `CSI ? 2026 h` / `l`.
    Sync(bool),
    /// `ESC c` (RIS) or `CSI ! p` (DECSTR): both reset the scroll region.
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ground,
    Escape,
    Csi,
    /// A CSI too long to be one of ours: skip to its final byte.
    CsiIgnore,
    Dcs,
    DcsEscape,
    /// A string we do not look into (OSC, long DCS, APC, PM, SOS): skip to its terminator.
    StringIgnore,
    StringIgnoreEscape,
}

const MAX_SEQ: usize = 32;

#[derive(Debug)]
pub(crate) struct Scanner {
    state: State,
    buf: Vec<u8>,
}

impl Default for Scanner {
    fn default() -> Self {
        Scanner {
            state: State::Ground,
            buf: Vec::with_capacity(MAX_SEQ),
        }
    }
}

impl Scanner {
    /// True between sequences (not inside an escape, control sequence or string).
    pub fn is_ground(&self) -> bool {
        self.state == State::Ground
    }

    /// Scans `bytes`, appending what it finds to `found`.
    pub fn scan(&mut self, bytes: &[u8], found: &mut Vec<Found>) {
        let mut i = 0;
        while i < bytes.len() {
            if self.state == State::Ground {
                match memchr(0x1b, &bytes[i..]) {
                    Some(n) => {
                        i += n + 1;
                        self.state = State::Escape;
                    }
                    None => return,
                }
                continue;
            }
            let b = bytes[i];
            i += 1;
            self.step(b, i, found);
        }
    }

    fn step(&mut self, b: u8, at: usize, found: &mut Vec<Found>) {
        match self.state {
            State::Ground => {}
            State::Escape => {
                self.buf.clear();
                self.state = match b {
                    b'[' => State::Csi,
                    b'P' => State::Dcs,
                    b']' | b'_' | b'^' | b'X' => State::StringIgnore,
                    b'c' => {
                        found.push(Found {
                            at,
                            what: Sequence::Reset,
                        });
                        State::Ground
                    }
                    0x1b => State::Escape,
                    _ => State::Ground,
                };
            }
            State::Csi | State::CsiIgnore => match b {
                0x1b => self.state = State::Escape,
                0x18 | 0x1a => self.state = State::Ground,
                0x40..=0x7e => {
                    if self.state == State::Csi {
                        self.csi(b, at, found);
                    }
                    self.state = State::Ground;
                }
                // C0 controls inside a CSI are executed by the terminal; they do not end it.
                0x00..=0x1f => {}
                _ => {
                    if self.buf.len() >= MAX_SEQ {
                        self.state = State::CsiIgnore;
                    } else {
                        self.buf.push(b);
                    }
                }
            },
            State::Dcs => match b {
                0x1b => self.state = State::DcsEscape,
                0x07 | 0x9c => self.dcs_end(at, found),
                0x18 | 0x1a => self.state = State::Ground,
                _ => {
                    if self.buf.len() >= MAX_SEQ {
                        self.state = State::StringIgnore;
                    } else {
                        self.buf.push(b);
                    }
                }
            },
            State::DcsEscape => {
                if b == b'\\' {
                    self.dcs_end(at, found);
                } else {
                    // Any other escape aborts the string and starts a new sequence.
                    self.state = State::Escape;
                    self.step(b, at, found);
                }
            }
            State::StringIgnore => match b {
                0x1b => self.state = State::StringIgnoreEscape,
                0x07 | 0x9c | 0x18 | 0x1a => self.state = State::Ground,
                _ => {}
            },
            State::StringIgnoreEscape => {
                if b == b'\\' {
                    self.state = State::Ground;
                } else {
                    self.state = State::Escape;
                    self.step(b, at, found);
                }
            }
        }
    }

    fn csi(&mut self, fin: u8, at: usize, found: &mut Vec<Found>) {
        let body = self.buf.as_slice();
        let what = match (body.first(), fin) {
            (Some(b'>'), b'q') if body[1..].iter().all(|c| *c == b'0') => Some(Sequence::XtVersion),
            (Some(b'?'), b'h' | b'l') if body[1..].split(|c| *c == b';').any(|p| p == b"2026") => {
                Some(Sequence::Sync(fin == b'h'))
            }
            (Some(b'!'), b'p') if body.len() == 1 => Some(Sequence::Reset),
            (first, b'r') if first.is_none_or(|c| c.is_ascii_digit() || *c == b';') => {
                let mut params = body.split(|c| *c == b';').map(parse_param);
                let top = params.next().flatten().unwrap_or(0);
                let bottom = params.next().flatten().unwrap_or(0);
                Some(Sequence::ScrollRegion { top, bottom })
            }
            _ => None,
        };
        if let Some(what) = what {
            found.push(Found { at, what });
        }
    }

    fn dcs_end(&mut self, at: usize, found: &mut Vec<Found>) {
        if let Some(setting) = self.buf.strip_prefix(b"$q") {
            found.push(Found {
                at,
                what: Sequence::Decrqss(setting.to_vec()),
            });
        }
        self.state = State::Ground;
    }
}

fn parse_param(p: &[u8]) -> Option<u16> {
    if p.is_empty() || !p.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(p)
        .ok()?
        .parse::<u32>()
        .ok()
        .map(|v| v.min(u16::MAX as u32) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(chunks: &[&[u8]]) -> Vec<Sequence> {
        let mut s = Scanner::default();
        let mut out = Vec::new();
        for c in chunks {
            let mut f = Vec::new();
            s.scan(c, &mut f);
            out.extend(f.into_iter().map(|f| f.what));
        }
        out
    }

    #[test]
    fn finds_queries_and_state_across_chunk_boundaries() {
        assert_eq!(scan_all(&[b"ab\x1b[>q"]), vec![Sequence::XtVersion]);
        assert_eq!(
            scan_all(&[b"ab\x1b", b"[>0", b"q"]),
            vec![Sequence::XtVersion]
        );
        assert_eq!(
            scan_all(&[b"\x1bP$qm\x1b", b"\\x"]),
            vec![Sequence::Decrqss(b"m".to_vec())]
        );
        assert_eq!(
            scan_all(&[b"\x1b[3;20r\x1b[r\x1b[?2026h\x1b[?1;2026l"]),
            vec![
                Sequence::ScrollRegion { top: 3, bottom: 20 },
                Sequence::ScrollRegion { top: 0, bottom: 0 },
                Sequence::Sync(true),
                Sequence::Sync(false),
            ]
        );
        assert_eq!(
            scan_all(&[b"\x1bc\x1b[!p"]),
            vec![Sequence::Reset, Sequence::Reset]
        );
    }

    #[test]
    fn ignores_lookalikes_inside_strings_and_other_sequences() {
        // A title containing the bytes of a query, DECSCUSR (`CSI 2 SP q`), a private `r`.
        let found = scan_all(&[b"\x1b]0;x\x1b[>q\x07\x1b[2 q\x1b[?1r\x1b[>1q"]);
        // The title's OSC is cut by the ESC inside it (as terminals do), so that query counts.
        assert_eq!(found, vec![Sequence::XtVersion]);
        assert!(scan_all(&[b"\x1b]0;[>q\x07plain [>q text"]).is_empty());
    }

    #[test]
    fn reports_positions_after_each_sequence() {
        let mut s = Scanner::default();
        let mut f = Vec::new();
        s.scan(b"12\x1b[>q34\x1bP$qr\x1b\\", &mut f);
        assert_eq!(f[0].at, 6);
        assert_eq!(f[1].at, 15);
    }
}
