//! The emulator behind a terminal's screen: `alacritty_terminal`'s `Term` (the crate Alacritty
//! and Zed render from) fed with every byte the program prints. It answers the program's
//! queries and renders snapshots; it knows nothing of threads or logs (see `super::Screen`).

use std::sync::Arc;

use parking_lot::Mutex;

use alacritty_terminal::event::{Event, EventListener, WindowSize};
use alacritty_terminal::grid::Dimensions;
use alacritty_terminal::term::{Config, Term, TermMode};
use alacritty_terminal::vte::ansi::{Processor, Rgb, Timeout};

use super::scan::{Found, Scanner, Sequence};
use super::serialize;
use crate::size::TerminalSize;
use crate::utf8::Utf8Carry;

/// Colours the model reports when a program asks (OSC 10/11/12 and OSC 4). They must be the
/// colours the panes draw with (`web/src/lib/terminal/theme.ts`; a test checks they agree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    pub foreground: [u8; 3],
    pub background: [u8; 3],
    pub cursor: [u8; 3],
    /// The 16 ANSI colours: black, red, green, yellow, blue, magenta, cyan, white, then bright.
    pub ansi: [[u8; 3]; 16],
}

impl Default for Palette {
    fn default() -> Self {
        const fn hex(v: u32) -> [u8; 3] {
            [(v >> 16) as u8, (v >> 8) as u8, v as u8]
        }
        Palette {
            foreground: hex(0xd1d7e0),
            background: hex(0x0d1117),
            cursor: hex(0xd1d7e0),
            ansi: [
                hex(0x1c2128),
                hex(0xf47067),
                hex(0x8ddb8c),
                hex(0xe0c36a),
                hex(0x6cb6ff),
                hex(0xdcbdfb),
                hex(0x76e3ea),
                hex(0xc9d1d9),
                hex(0x636e7b),
                hex(0xff938a),
                hex(0xb4f1b4),
                hex(0xf2d98b),
                hex(0x96d0ff),
                hex(0xeedcff),
                hex(0xb3f0ff),
                hex(0xffffff),
            ],
        }
    }
}

impl Palette {
    /// The colour at xterm's index: 0–255 (the 256-colour cube and greys beyond the 16),
    /// 256 foreground, 257 background, 258 cursor.
    pub fn color(&self, index: usize) -> [u8; 3] {
        match index {
            0..=15 => self.ansi[index],
            16..=231 => {
                let i = index - 16;
                let level = |v: usize| if v == 0 { 0 } else { (55 + v * 40) as u8 };
                [level(i / 36), level((i / 6) % 6), level(i % 6)]
            }
            232..=255 => {
                let v = (8 + (index - 232) * 10) as u8;
                [v, v, v]
            }
            257 => self.background,
            258 => self.cursor,
            _ => self.foreground,
        }
    }
}

/// Cell size assumed when a program asks for the text area in pixels (`CSI 14 t`): the panes'
/// 13 px monospace font at line height 1.1.
const CELL_PX: (u16, u16) = (8, 17);

/// The answer to XTVERSION.
const VERSION: &str = concat!("Grove ", env!("CARGO_PKG_VERSION"));

/// Synchronized updates are applied as they come: the model never renders, so holding bytes
/// back (what `Processor` does by default) would only make snapshots and answers lag.
#[derive(Debug, Default)]
pub(crate) struct Unsynchronized;

impl Timeout for Unsynchronized {
    fn set_timeout(&mut self, _: std::time::Duration) {}
    fn clear_timeout(&mut self) {}
    fn pending_timeout(&self) -> bool {
        false
    }
}

/// Collects the events the model acts on; the rest (wake-ups, bells, cursor blinking) are
/// dropped at once.
#[derive(Clone, Default)]
pub(crate) struct Listener(Arc<Mutex<Vec<Event>>>);

impl EventListener for Listener {
    fn send_event(&self, event: Event) {
        if matches!(
            event,
            Event::PtyWrite(_)
                | Event::ColorRequest(..)
                | Event::TextAreaSizeRequest(_)
                | Event::Title(_)
                | Event::ResetTitle
        ) {
            self.0.lock().push(event);
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Dims {
    pub rows: usize,
    pub cols: usize,
}

impl Dimensions for Dims {
    fn total_lines(&self) -> usize {
        self.rows
    }
    fn screen_lines(&self) -> usize {
        self.rows
    }
    fn columns(&self) -> usize {
        self.cols
    }
}

impl From<TerminalSize> for Dims {
    fn from(s: TerminalSize) -> Self {
        Dims {
            rows: usize::from(s.rows.max(1)),
            cols: usize::from(s.cols.max(2)),
        }
    }
}

/// One terminal's screen model.
pub struct Model {
    pub(crate) term: Term<Listener>,
    parser: Processor<Unsynchronized>,
    events: Listener,
    scanner: Scanner,
    found: Vec<Found>,
    pub(crate) palette: Palette,
    pub(crate) title: Option<String>,
    /// Scroll region as 0-based inclusive rows, when not the whole screen ((rows, rows) when
    /// it is empty, below the screen).
    pub(crate) region: Option<(u16, u16)>,
    pub(crate) sync: bool,
    size: TerminalSize,
    /// A UTF-8 character the output ended inside, held until it is whole (vte 0.15 drops the
    /// byte after a character split across two `advance` calls in some cases).
    carry: Utf8Carry,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// A blank screen of `size` keeping up to `scrollback` lines of history.
    pub fn new(size: TerminalSize, scrollback: usize, palette: Palette) -> Model {
        let events = Listener::default();
        let config = Config {
            scrolling_history: scrollback,
            // Grove's panes (xterm.js) do not speak the kitty keyboard protocol; the model
            // must not claim it either.
            kitty_keyboard: false,
            ..Config::default()
        };
        Model {
            term: Term::new(config, &Dims::from(size), events.clone()),
            parser: Processor::new(),
            events,
            scanner: Scanner::default(),
            found: Vec::new(),
            palette,
            title: None,
            region: None,
            sync: false,
            size,
            carry: Utf8Carry::default(),
        }
    }

    /// True when the output so far ended between sequences and characters, so a snapshot
    /// carries the whole state: a model rebuilt from it continues exactly like this one.
    pub fn at_rest(&self) -> bool {
        self.scanner.is_ground() && self.carry.is_empty()
    }

    pub fn size(&self) -> TerminalSize {
        self.size
    }

    /// Feeds program output; the answers to any queries in it are appended to `answers`, in the
    /// order the queries came.
    pub fn feed(&mut self, bytes: &[u8], answers: &mut Vec<u8>) {
        let mut carry = std::mem::take(&mut self.carry);
        carry.feed(bytes, |whole| self.feed_whole(whole, answers));
        self.carry = carry;
    }

    /// [`Model::feed`] for bytes that do not end inside a character.
    fn feed_whole(&mut self, bytes: &[u8], answers: &mut Vec<u8>) {
        let mut found = std::mem::take(&mut self.found);
        found.clear();
        self.scanner.scan(bytes, &mut found);
        let mut done = 0;
        for f in &found {
            self.advance(&bytes[done..f.at], answers);
            done = f.at;
            self.handle(&f.what, answers);
        }
        self.advance(&bytes[done..], answers);
        self.found = found;
    }

    /// Feeds bytes whose answers nobody wants (restoring a screen).
    pub fn feed_quietly(&mut self, bytes: &[u8]) {
        let mut sink = Vec::new();
        self.feed(bytes, &mut sink);
    }

    fn advance(&mut self, bytes: &[u8], answers: &mut Vec<u8>) {
        if bytes.is_empty() {
            return;
        }
        self.parser.advance(&mut self.term, bytes);
        let events = std::mem::take(&mut *self.events.0.lock());
        for event in events {
            match event {
                Event::PtyWrite(text) => answers.extend_from_slice(text.as_bytes()),
                Event::ColorRequest(index, format) => {
                    let [r, g, b] = match self.term.colors()[index] {
                        Some(c) => [c.r, c.g, c.b],
                        None => self.palette.color(index),
                    };
                    answers.extend_from_slice(format(Rgb { r, g, b }).as_bytes());
                }
                Event::TextAreaSizeRequest(format) => {
                    let size = WindowSize {
                        num_lines: self.size.rows,
                        num_cols: self.size.cols,
                        cell_width: CELL_PX.0,
                        cell_height: CELL_PX.1,
                    };
                    answers.extend_from_slice(format(size).as_bytes());
                }
                Event::Title(t) => self.title = Some(t),
                Event::ResetTitle => self.title = None,
                _ => {}
            }
        }
    }

    fn handle(&mut self, seq: &Sequence, answers: &mut Vec<u8>) {
        match seq {
            Sequence::XtVersion => {
                answers.extend_from_slice(format!("\x1bP>|{VERSION}\x1b\\").as_bytes());
            }
            Sequence::Decrqss(setting) => {
                let value = match setting.as_slice() {
                    b"m" => Some(format!(
                        "{}m",
                        serialize::sgr_params(&self.term.grid().cursor.template)
                    )),
                    b" q" => Some(format!(
                        "{} q",
                        serialize::cursor_style_param(self.term.cursor_style())
                    )),
                    b"r" => {
                        let (top, bottom) = self.region.unwrap_or((0, self.size.rows - 1));
                        Some(format!("{};{}r", top + 1, bottom + 1))
                    }
                    _ => None,
                };
                let reply = match value {
                    Some(v) => format!("\x1bP1$r{v}\x1b\\"),
                    None => String::from("\x1bP0$r\x1b\\"),
                };
                answers.extend_from_slice(reply.as_bytes());
            }
            Sequence::ScrollRegion { top, bottom } => {
                // Mirrors the emulator's own DECSTBM rule: the parameters are checked before
                // they are clamped to the screen, so `4;5` on a 4-row screen makes a region of
                // its last row alone, and a top below the screen makes an empty region there
                // (kept as (rows, rows): nothing scrolls).
                let rows = self.size.rows;
                let top = (*top).max(1);
                let bottom = if *bottom == 0 { rows } else { *bottom };
                if top < bottom {
                    let start = (top - 1).min(rows);
                    let end = bottom.min(rows);
                    self.region = (start != 0 || end != rows).then(|| {
                        if start < end {
                            (start, end - 1)
                        } else {
                            (rows, rows)
                        }
                    });
                }
            }
            Sequence::Sync(on) => self.sync = *on,
            Sequence::Reset => {
                self.region = None;
                self.sync = false;
            }
        }
    }

    /// Resizes the screen; text reflows to the new width.
    pub fn resize(&mut self, size: TerminalSize) {
        if size == self.size || size.rows == 0 || size.cols == 0 {
            return;
        }
        self.size = size;
        self.term.resize(Dims::from(size));
        // Resizing resets the scroll region, as in every terminal.
        self.region = None;
    }

    /// Escape sequences that reproduce this screen in a freshly reset terminal of the same size.
    pub fn snapshot(&mut self) -> String {
        serialize::snapshot(self)
    }

    /// The visible screen as styled runs (see [`super::ScreenView`]).
    pub fn view(&self) -> super::ScreenView {
        super::view::view(self)
    }

    /// The emulator's tab stops, one flag per column. The emulator keeps them private, so they
    /// are read the way a program could find them: CBT (which moves the cursor back to the
    /// previous stop without writing anything) from the last column, one stop at a time, with
    /// the cursor put back afterwards. No motion can land on a stop in the last column, so
    /// that column reads as in a fresh terminal (a stop there only shows after the screen
    /// widens).
    pub(crate) fn tab_stops(&mut self) -> Vec<bool> {
        use alacritty_terminal::index::Column;
        use alacritty_terminal::vte::ansi::Handler as _;
        let cols = self.term.columns();
        let cursor = self.term.grid().cursor.clone();
        let mut stops = vec![false; cols];
        let mut at = cols - 1;
        stops[at] = at.is_multiple_of(serialize::TAB_WIDTH);
        loop {
            self.term.grid_mut().cursor.point.column = Column(at);
            self.term.move_backward_tabs(1);
            let to = self.term.grid().cursor.point.column.0;
            if to >= at {
                break;
            }
            stops[to] = true;
            at = to;
        }
        self.term.grid_mut().cursor = cursor;
        stops
    }

    /// Builds a model by replaying a snapshot (answers dropped).
    pub fn from_snapshot(
        data: &str,
        size: TerminalSize,
        scrollback: usize,
        palette: Palette,
    ) -> Model {
        let mut m = Model::new(size, scrollback, palette);
        m.feed_quietly(data.as_bytes());
        m
    }

    /// Whether the alternate screen is showing.
    pub fn alternate_screen(&self) -> bool {
        self.term.mode().contains(TermMode::ALT_SCREEN)
    }

    /// Whether the program asked for bracketed paste (`CSI ? 2004 h`).
    pub fn bracketed_paste(&self) -> bool {
        self.term.mode().contains(TermMode::BRACKETED_PASTE)
    }

    /// The visible screen as text, one line per row, trailing blanks trimmed (for tests and
    /// diagnostics).
    pub fn screen_text(&self) -> String {
        self.text_from(0)
    }

    /// The history and the visible screen as text (see [`Model::screen_text`]).
    pub fn all_text(&self) -> String {
        self.text_from(-(self.term.grid().history_size() as i32))
    }

    fn text_from(&self, first: i32) -> String {
        use alacritty_terminal::index::{Column, Line};
        let grid = self.term.grid();
        let mut out = String::new();
        for line in first..grid.screen_lines() as i32 {
            let row = &grid[Line(line)];
            let mut s = String::new();
            for col in 0..grid.columns() {
                let cell = &row[Column(col)];
                if !cell.flags.intersects(
                    alacritty_terminal::term::cell::Flags::WIDE_CHAR_SPACER
                        | alacritty_terminal::term::cell::Flags::LEADING_WIDE_CHAR_SPACER,
                ) {
                    s.push(cell.c);
                    if let Some(zw) = cell.zerowidth() {
                        s.extend(zw);
                    }
                }
            }
            out.push_str(s.trim_end());
            out.push('\n');
        }
        out
    }

    /// Every cell of the history and the screen in use, with its attributes, then the cursor
    /// and the modes: a canonical text for comparing two models cell by cell.
    pub fn dump(&self) -> String {
        use alacritty_terminal::index::{Column, Line};
        use std::fmt::Write as _;
        let grid = self.term.grid();
        let mut out = String::new();
        let history = grid.history_size() as i32;
        for line in -history..grid.screen_lines() as i32 {
            let row = &grid[Line(line)];
            let _ = write!(out, "{line}:");
            for col in 0..grid.columns() {
                let c = &row[Column(col)];
                // A blank's foreground colour cannot be seen (unless it is underlined, inverse
                // or struck through), and terminals differ in what they leave there.
                use alacritty_terminal::term::cell::Flags;
                let visible_fg = c.c != ' '
                    || c.flags
                        .intersects(Flags::ALL_UNDERLINES | Flags::INVERSE | Flags::STRIKEOUT);
                let fg = if visible_fg {
                    format!("{:?}", c.fg)
                } else {
                    String::from("-")
                };
                let _ = write!(
                    out,
                    "[{:?}{:?}|{}|{:?}|{:?}|{:?}|{:?}]",
                    c.c,
                    c.zerowidth(),
                    fg,
                    c.bg,
                    c.flags,
                    c.underline_color(),
                    c.hyperlink().map(|h| h.uri().to_owned())
                );
            }
            out.push('\n');
        }
        let cur = &grid.cursor;
        let _ = writeln!(
            out,
            "cursor {:?} wrap={} template={:?}/{:?}/{:?} mode={:?} region={:?} title={:?} alt={}",
            cur.point,
            cur.input_needs_wrap,
            cur.template.fg,
            cur.template.bg,
            cur.template.flags,
            self.term.mode(),
            self.region,
            self.title,
            self.alternate_screen()
        );
        out
    }

    /// The cursor as (row, column), 0-based.
    pub fn cursor(&self) -> (usize, usize) {
        let p = self.term.grid().cursor.point;
        (p.line.0.max(0) as usize, p.column.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Palette;

    /// The colours the model reports must be the ones the panes draw with.
    #[test]
    fn palette_matches_the_web_theme() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../web/src/lib/terminal/theme.ts"
        );
        let theme = std::fs::read_to_string(path).unwrap();
        let color = |name: &str| -> [u8; 3] {
            let line = theme
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{name}:")))
                .unwrap_or_else(|| panic!("{name} missing from theme.ts"));
            let hex = line.split('#').nth(1).unwrap();
            let v = u32::from_str_radix(&hex[..6], 16).unwrap();
            [(v >> 16) as u8, (v >> 8) as u8, v as u8]
        };
        let p = Palette::default();
        assert_eq!(p.foreground, color("foreground"));
        assert_eq!(p.background, color("background"));
        assert_eq!(p.cursor, color("cursor"));
        let names = [
            "black",
            "red",
            "green",
            "yellow",
            "blue",
            "magenta",
            "cyan",
            "white",
            "brightBlack",
            "brightRed",
            "brightGreen",
            "brightYellow",
            "brightBlue",
            "brightMagenta",
            "brightCyan",
            "brightWhite",
        ];
        for (i, name) in names.iter().enumerate() {
            assert_eq!(p.ansi[i], color(name), "{name}");
        }
    }
}
