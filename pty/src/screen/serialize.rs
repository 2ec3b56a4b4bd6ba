//! Renders a [`Model`] as escape sequences: written into a freshly reset terminal of the same
//! size they reproduce the scrollback, both screens, colours and attributes, wide and combining
//! characters, wrapped lines, hyperlinks, cursor (position, pending wrap, saved cursor, style,
//! visibility), scroll region and modes. Live output continues from there exactly.

use std::fmt::Write as _;

use alacritty_terminal::grid::{Dimensions, Grid};
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::TermMode;
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::vte::ansi::{
    CharsetIndex, Color, CursorShape, CursorStyle, NamedColor, StandardCharset,
};

use super::model::Model;

/// Columns between the tab stops of a freshly reset terminal.
pub(crate) const TAB_WIDTH: usize = 8;

/// Attributes that change how a cell is drawn (not layout flags such as WRAPLINE).
const STYLE_FLAGS: Flags = Flags::BOLD
    .union(Flags::DIM)
    .union(Flags::ITALIC)
    .union(Flags::ALL_UNDERLINES)
    .union(Flags::INVERSE)
    .union(Flags::HIDDEN)
    .union(Flags::STRIKEOUT);

#[derive(Clone, PartialEq)]
struct Style {
    fg: Color,
    bg: Color,
    flags: Flags,
    underline: Option<Color>,
}

impl Style {
    fn of(cell: &Cell) -> Style {
        Style {
            fg: cell.fg,
            bg: cell.bg,
            flags: cell.flags & STYLE_FLAGS,
            underline: cell.underline_color(),
        }
    }

    fn plain() -> Style {
        Style {
            fg: Color::Named(NamedColor::Foreground),
            bg: Color::Named(NamedColor::Background),
            flags: Flags::empty(),
            underline: None,
        }
    }
}

/// The SGR parameters (without `CSI` and `m`) that select `cell`'s attributes from a reset.
pub(crate) fn sgr_params(cell: &Cell) -> String {
    let mut out = String::from("0");
    push_sgr(&mut out, &Style::of(cell));
    out
}

fn push_sgr(out: &mut String, s: &Style) {
    let f = s.flags;
    for (flag, code) in [
        (Flags::BOLD, ";1"),
        (Flags::DIM, ";2"),
        (Flags::ITALIC, ";3"),
        (Flags::UNDERLINE, ";4"),
        (Flags::DOUBLE_UNDERLINE, ";4:2"),
        (Flags::UNDERCURL, ";4:3"),
        (Flags::DOTTED_UNDERLINE, ";4:4"),
        (Flags::DASHED_UNDERLINE, ";4:5"),
        (Flags::INVERSE, ";7"),
        (Flags::HIDDEN, ";8"),
        (Flags::STRIKEOUT, ";9"),
    ] {
        if f.contains(flag) {
            out.push_str(code);
        }
    }
    push_color(out, s.fg, 30, 90, 38);
    push_color(out, s.bg, 40, 100, 48);
    if let Some(u) = s.underline {
        push_color(out, u, 0, 0, 58);
    }
}

/// `base`/`bright` select the 16 named colours (0 = use the extended form), `ext` is 38/48/58.
fn push_color(out: &mut String, color: Color, base: u8, bright: u8, ext: u8) {
    match color {
        Color::Named(n) => {
            let i = n as usize;
            if i < 16 {
                if base == 0 {
                    let _ = write!(out, ";{ext}:5:{i}");
                } else if i < 8 {
                    let _ = write!(out, ";{}", usize::from(base) + i);
                } else {
                    let _ = write!(out, ";{}", usize::from(bright) + i - 8);
                }
            }
            // Foreground/Background (and the dim/bright variants, which only renderers make)
            // are the defaults a reset already selected.
        }
        Color::Indexed(i) => {
            let _ = write!(out, ";{ext}:5:{i}");
        }
        Color::Spec(rgb) => {
            let _ = write!(out, ";{ext}:2::{}:{}:{}", rgb.r, rgb.g, rgb.b);
        }
    }
}

/// DECSCUSR's parameter for a cursor style.
pub(crate) fn cursor_style_param(style: CursorStyle) -> u8 {
    let steady = u8::from(!style.blinking);
    match style.shape {
        CursorShape::Underline => 3 + steady,
        CursorShape::Beam => 5 + steady,
        _ => 1 + steady,
    }
}

struct Writer {
    out: String,
    style: Style,
    link: Option<(String, String)>,
}

impl Writer {
    fn set_style(&mut self, style: &Style) {
        if *style != self.style {
            self.out.push_str("\x1b[0");
            push_sgr(&mut self.out, style);
            self.out.push('m');
            self.style = style.clone();
        }
    }

    fn set_link(&mut self, cell: &Cell) {
        let link = cell
            .hyperlink()
            .map(|h| (h.id().to_owned(), h.uri().to_owned()));
        if link != self.link {
            match &link {
                Some((id, uri)) => {
                    let _ = write!(self.out, "\x1b]8;id={};{}\x1b\\", clean(id), clean(uri));
                }
                None => self.out.push_str("\x1b]8;;\x1b\\"),
            }
            self.link = link;
        }
    }

    fn cell(&mut self, cell: &Cell) {
        self.set_link(cell);
        self.set_style(&Style::of(cell));
        // A tab's mark is written as the blank it shows (see `Writer::tab_mark`).
        self.out.push(match cell.c {
            '\0' | '\t' => ' ',
            c => c,
        });
        if let Some(zw) = cell.zerowidth() {
            self.out.extend(zw);
        }
    }

    /// Back to plain attributes and no link (before line breaks, so that scrolling fills new
    /// lines with the default background as it did in the original terminal).
    fn plain(&mut self) {
        if self.link.is_some() {
            self.out.push_str("\x1b]8;;\x1b\\");
            self.link = None;
        }
        self.set_style(&Style::plain());
    }

    /// Writes rows `from..screen_lines` of `grid` (negative = history) as a stream of text.
    fn rows(&mut self, grid: &Grid<Cell>, from: i32) {
        let cols = grid.columns();
        let last = grid.screen_lines() as i32 - 1;
        let mut after_wrap = false;
        // The last column of the previous (wrapped) row holds a tab's mark, to put back once
        // this row's first character made the wrap.
        let mut mark_above = false;
        for line in from..=last {
            let row = &grid[Line(line)];
            let wrapped = row[Column(cols - 1)].flags.contains(Flags::WRAPLINE);
            let end = if wrapped {
                cols
            } else {
                (0..cols)
                    .rev()
                    .find(|&c| !is_blank(&row[Column(c)]))
                    .map_or(0, |c| c + 1)
            };
            if after_wrap && end == 0 {
                // The previous row wrapped onto this blank one: only a character printed here
                // makes the wrap (and marks the row above as wrapped); it is erased below.
                self.plain();
                self.out.push_str(" \r");
                self.tab_mark_above(&mut mark_above, 0, cols);
            }
            for col in 0..end {
                let cell = &row[Column(col)];
                if cell.flags.contains(Flags::WIDE_CHAR_SPACER) {
                    // Written with its character, but a tab can mark it.
                    if cell.c == '\t' {
                        if col + 1 == cols && wrapped {
                            mark_above = true;
                        } else {
                            self.tab_mark(col, cols);
                        }
                    }
                    continue;
                }
                if cell.flags.contains(Flags::LEADING_WIDE_CHAR_SPACER) {
                    // The emulator leaves this where a wide character did not fit and wraps
                    // the character to the next row, where writing it puts the spacer back. If
                    // the character was overwritten since, the spacer must be made on its own.
                    // A tab can mark the spacer too.
                    mark_above = wrapped && cell.c == '\t';
                    if wrapped && line != last {
                        let next = &grid[Line(line + 1)][Column(0)];
                        if !next.flags.contains(Flags::WIDE_CHAR) {
                            self.leading_spacer(cell);
                        }
                    }
                    continue;
                }
                self.cell(cell);
                if cell.c == '\t' {
                    if col + 1 == cols && wrapped {
                        mark_above = true;
                    } else {
                        self.tab_mark(col, cols);
                    }
                }
                if col == 0 && after_wrap {
                    let width = if cell.flags.contains(Flags::WIDE_CHAR) {
                        2
                    } else {
                        1
                    };
                    self.tab_mark_above(&mut mark_above, width, cols);
                }
            }
            if after_wrap && end < cols {
                // A wrap at the bottom scrolls in a line filled with the next character's
                // background: the blanks after the text must be erased back to plain.
                self.plain();
                self.out.push_str("\x1b[K");
            }
            if line != last && !wrapped {
                self.plain();
                self.out.push_str("\r\n");
            }
            after_wrap = wrapped;
        }
    }

    /// Makes a wide character's leading spacer (in the last column, the row wrapped) whose
    /// character no longer starts the next row: a wide character printed here leaves the spacer
    /// and wraps, and is then erased, leaving the next row blank for its own text.
    fn leading_spacer(&mut self, spacer: &Cell) {
        self.set_link(spacer);
        self.set_style(&Style::of(spacer));
        self.out.push('\u{3000}');
        self.plain();
        self.out.push_str("\r\x1b[2X");
    }

    /// Puts back the mark a tab leaves in the cell it started from (the emulator copies a
    /// selection over it as one tab), just after that cell was written as a space. A literal HT
    /// cannot stand in for the cell: it would jump from there to the next tab stop and shift the
    /// rest of the row by the gap, which is what panes opened on a snapshot used to show. So
    /// the space goes first, then HT from its own column (it marks a blank cell and only moves
    /// the cursor), then CHA back to the column after it, whatever the tab stops are.
    fn tab_mark(&mut self, col: usize, cols: usize) {
        if col + 1 < cols {
            let _ = write!(self.out, "\x08\t\x1b[{}G", col + 2);
        } else {
            // The space in the last column left a pending wrap: CHA drops it (a tab there
            // would wrap instead), and HT in the last column stays there.
            let _ = write!(self.out, "\x1b[{}G\t", col + 1);
        }
    }

    /// The last column of a wrapped row keeps its pending wrap for the next row's text, so a
    /// tab's mark there (only a reflow puts one there) is put back from the next row, once its
    /// first character (`width` columns, none for a blank row) has made the wrap: up a row, HT
    /// in the last column, and back.
    fn tab_mark_above(&mut self, mark_above: &mut bool, width: usize, cols: usize) {
        if std::mem::take(mark_above) && width < cols {
            let _ = write!(self.out, "\x1b[A\x1b[{cols}G\t\x1b[B\x1b[{}G", width + 1);
        }
    }

    /// Sets the tab stops when a program changed them (HTS, TBC): a fresh terminal has one every
    /// eight columns, and the tabs the program prints next must land where they would have.
    fn tab_stops(&mut self, stops: &[bool]) {
        let default = |col: usize| col.is_multiple_of(TAB_WIDTH);
        if stops
            .iter()
            .enumerate()
            .all(|(col, &stop)| stop == default(col))
        {
            return;
        }
        self.out.push_str("\x1b[3g");
        for (col, _) in stops.iter().enumerate().filter(|&(_, &stop)| stop) {
            let _ = write!(self.out, "\x1b[{}G\x1bH", col + 1);
        }
    }

    fn goto(&mut self, line: i32, col: usize) {
        let _ = write!(self.out, "\x1b[{};{}H", line + 1, col + 1);
    }
}

/// A cell a reset screen already shows: a space (or nothing) on the default background with no
/// attribute that shows on a blank.
pub(crate) fn is_blank(cell: &Cell) -> bool {
    (cell.c == ' ' || cell.c == '\0')
        && cell.bg == Color::Named(NamedColor::Background)
        && !cell
            .flags
            .intersects(STYLE_FLAGS - Flags::BOLD - Flags::DIM - Flags::ITALIC)
        && cell.zerowidth().is_none()
        && cell.hyperlink().is_none()
}

/// Strips control characters from text put inside an OSC string.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).collect()
}

pub(crate) fn snapshot(model: &mut Model) -> String {
    let mut w = Writer {
        out: String::with_capacity(64 * 1024),
        style: Style::plain(),
        link: None,
    };
    let alt = model.term.mode().contains(TermMode::ALT_SCREEN);
    let mode = *model.term.mode();

    if alt {
        // The primary screen is the emulator's inactive grid: swap it in to read it, then put
        // the alternate screen back exactly (swapping back clears it, so keep a copy).
        let alt_grid = model.term.grid().clone();
        model.term.swap_alt();
        {
            let primary = model.term.grid();
            w.rows(primary, -(primary.history_size() as i32));
            // Entering 1049 saves the cursor: position it where the program left the primary
            // screen's saved cursor, so leaving the alternate screen returns there.
            // It saves the attributes too, which leaving the alternate screen brings back.
            w.plain();
            let saved = &primary.saved_cursor;
            w.goto(saved.point.line.0, saved.point.column.0);
            w.set_style(&Style::of(&saved.template));
        }
        model.term.swap_alt();
        *model.term.grid_mut() = alt_grid;
        w.out.push_str("\x1b[?1049h\x1b[H");
        // Entering cleared the alternate screen with those attributes' background.
        w.plain();
        w.out.push_str("\x1b[2J");
        w.rows(model.term.grid(), 0);
    } else {
        let grid = model.term.grid();
        w.rows(grid, -(grid.history_size() as i32));
    }
    w.plain();
    let stops = model.tab_stops();
    w.tab_stops(&stops);

    let grid = model.term.grid();
    // Saved cursor (DECSC) of the screen in use, when the program saved one.
    let saved = &grid.saved_cursor;
    if saved.point.line.0 != 0 || saved.point.column.0 != 0 || saved.template != Cell::default() {
        w.goto(saved.point.line.0, saved.point.column.0);
        w.set_style(&Style::of(&saved.template));
        w.out.push_str("\x1b7");
        w.plain();
    }

    // Programs' colour changes (OSC 4 / 10 / 11 / 12).
    for index in 0..=258usize {
        if let Some(c) = model.term.colors()[index] {
            let spec = format!("rgb:{:02x}/{:02x}/{:02x}", c.r, c.g, c.b);
            let _ = match index {
                256..=258 => write!(w.out, "\x1b]{};{spec}\x1b\\", index - 256 + 10),
                _ => write!(w.out, "\x1b]4;{index};{spec}\x1b\\"),
            };
        }
    }
    if let Some(title) = &model.title {
        let _ = write!(w.out, "\x1b]2;{}\x1b\\", clean(title));
    }

    let cursor = &grid.cursor;
    if cursor.charsets[CharsetIndex::G0] == StandardCharset::SpecialCharacterAndLineDrawing {
        w.out.push_str("\x1b(0");
    }
    if cursor.charsets[CharsetIndex::G1] == StandardCharset::SpecialCharacterAndLineDrawing {
        w.out.push_str("\x1b)0");
    }

    // Scroll region (homes the cursor), then origin mode (homes it to the region).
    if let Some((top, bottom)) = model.region {
        // A one-row region (only ever the last row) or an empty one (below the screen) cannot
        // be asked for as `top;top`, which is invalid; a bottom past the screen is clamped to it.
        let past = u16::from(top == bottom);
        let _ = write!(w.out, "\x1b[{};{}r", top + 1, bottom + 1 + past);
    }
    let origin = mode.contains(TermMode::ORIGIN);
    if origin {
        w.out.push_str("\x1b[?6h");
    }
    let (line, col) = (cursor.point.line.0, cursor.point.column.0);
    let rel_line = if origin {
        (line - model.region.map_or(0, |(top, _)| i32::from(top))).max(0)
    } else {
        line
    };
    if cursor.input_needs_wrap {
        // Re-print the last cell so the next character wraps, as it would have. After a wide
        // character that is its spacer: the character itself is re-printed, from its column
        // (printing a space over the spacer would cut the character in half).
        let cell = &grid[Line(line)][Column(col)];
        if cell.flags.contains(Flags::WIDE_CHAR_SPACER) && col > 0 {
            w.goto(rel_line, col - 1);
            w.cell(&grid[Line(line)][Column(col - 1)]);
        } else {
            w.goto(rel_line, col);
            w.cell(cell);
        }
        w.plain();
    } else {
        w.goto(rel_line, col);
    }

    let private = [
        (TermMode::APP_CURSOR, 1),
        (TermMode::MOUSE_REPORT_CLICK, 1000),
        (TermMode::MOUSE_DRAG, 1002),
        (TermMode::MOUSE_MOTION, 1003),
        (TermMode::FOCUS_IN_OUT, 1004),
        (TermMode::UTF8_MOUSE, 1005),
        (TermMode::SGR_MOUSE, 1006),
        (TermMode::BRACKETED_PASTE, 2004),
    ];
    for (flag, code) in private {
        if mode.contains(flag) {
            let _ = write!(w.out, "\x1b[?{code}h");
        }
    }
    if !mode.contains(TermMode::LINE_WRAP) {
        w.out.push_str("\x1b[?7l");
    }
    if !mode.contains(TermMode::SHOW_CURSOR) {
        w.out.push_str("\x1b[?25l");
    }
    if mode.contains(TermMode::APP_KEYPAD) {
        w.out.push_str("\x1b=");
    }
    if mode.contains(TermMode::INSERT) {
        w.out.push_str("\x1b[4h");
    }
    if mode.contains(TermMode::LINE_FEED_NEW_LINE) {
        w.out.push_str("\x1b[20h");
    }
    let style = model.term.cursor_style();
    if style != CursorStyle::default() {
        let _ = write!(w.out, "\x1b[{} q", cursor_style_param(style));
    }
    // The attributes the next printed character gets.
    w.set_style(&Style::of(&cursor.template));
    if model.sync {
        w.out.push_str("\x1b[?2026h");
    }
    w.out
}
