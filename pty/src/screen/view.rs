//! The visible screen as runs of styled text, with every colour resolved the way the panes draw
//! it: a page can draw a screen with plain elements before its terminal emulator has loaded (see
//! `web/src/lib/terminal/preview.ts`), and the emulator then takes over from the snapshot.

use alacritty_terminal::grid::Dimensions;
use alacritty_terminal::index::{Column, Line};
use alacritty_terminal::term::TermMode;
use alacritty_terminal::term::cell::{Cell, Flags};
use alacritty_terminal::vte::ansi::{Color, NamedColor};

use super::model::Model;
use super::serialize::is_blank;

/// A run's attributes (`Run::flags`).
pub mod flag {
    pub const BOLD: u8 = 1;
    pub const DIM: u8 = 2;
    pub const ITALIC: u8 = 4;
    pub const UNDERLINE: u8 = 8;
    pub const STRIKEOUT: u8 = 16;
}

/// The screen in use (the alternate one when it shows), one entry per row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScreenView {
    /// The default colours (a program may have changed them with OSC 10/11).
    pub foreground: [u8; 3],
    pub background: [u8; 3],
    pub cursor_color: [u8; 3],
    /// Each row's runs, left to right, without the row's trailing blanks.
    pub rows: Vec<Vec<Run>>,
    /// (row, column) of the cursor, when the program shows it.
    pub cursor: Option<(u16, u16)>,
}

/// Cells next to each other that are drawn alike. A wide character and any character outside
/// ASCII are runs of their own, so each starts exactly at its cell whatever font draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub text: String,
    /// The cells it covers.
    pub cols: u16,
    /// `None`: the default colour.
    pub fg: Option<[u8; 3]>,
    pub bg: Option<[u8; 3]>,
    pub flags: u8,
}

/// Drawn as xterm.js draws it (the panes' options): bold text in the eight base colours takes
/// the bright ones, inverse swaps the resolved colours, hidden text is not drawn.
pub(crate) fn view(model: &Model) -> ScreenView {
    let term = &model.term;
    let grid = term.grid();
    let colors = term.colors();
    let palette = &model.palette;
    let indexed = |i: usize| colors[i].map_or_else(|| palette.color(i), |c| [c.r, c.g, c.b]);
    let foreground = indexed(256);
    let background = indexed(257);
    let resolve = |color: Color, bold: bool| -> Option<[u8; 3]> {
        let index = match color {
            Color::Spec(c) => return Some([c.r, c.g, c.b]),
            Color::Indexed(i) => usize::from(i),
            Color::Named(NamedColor::Background) => return Some(background),
            Color::Named(n) if (n as usize) < 16 => n as usize,
            Color::Named(_) => return None,
        };
        Some(indexed(if bold && index < 8 { index + 8 } else { index }))
    };
    let style = |cell: &Cell| {
        let f = cell.flags;
        let mut fg = resolve(cell.fg, f.contains(Flags::BOLD));
        let mut bg = match cell.bg {
            Color::Named(NamedColor::Background) => None,
            c => resolve(c, false),
        };
        if f.contains(Flags::INVERSE) {
            let (front, back) = (fg.unwrap_or(foreground), bg.unwrap_or(background));
            (fg, bg) = (Some(back), Some(front));
        }
        let mut flags = 0;
        for (has, bit) in [
            (Flags::BOLD, flag::BOLD),
            (Flags::DIM, flag::DIM),
            (Flags::ITALIC, flag::ITALIC),
            (Flags::ALL_UNDERLINES, flag::UNDERLINE),
            (Flags::STRIKEOUT, flag::STRIKEOUT),
        ] {
            if f.intersects(has) {
                flags |= bit;
            }
        }
        (fg, bg, flags)
    };

    let mut rows = Vec::with_capacity(grid.screen_lines());
    for line in 0..grid.screen_lines() {
        let row = &grid[Line(line as i32)];
        let mut runs: Vec<Run> = Vec::new();
        // Cells up to the last one that shows anything.
        let end = (0..grid.columns())
            .rev()
            .find(|&c| !is_blank(&row[Column(c)]))
            .map_or(0, |c| c + 1);
        for col in 0..end {
            let cell = &row[Column(col)];
            if cell.flags.contains(Flags::WIDE_CHAR_SPACER) {
                continue;
            }
            let (fg, bg, flags) = style(cell);
            let mut text = String::new();
            if cell
                .flags
                .intersects(Flags::HIDDEN | Flags::LEADING_WIDE_CHAR_SPACER)
                || cell.c == '\0'
            {
                text.push(' ');
            } else {
                text.push(cell.c);
                if let Some(zw) = cell.zerowidth() {
                    text.extend(zw);
                }
            }
            let cols = if cell.flags.contains(Flags::WIDE_CHAR) {
                2
            } else {
                1
            };
            let alone = cols > 1 || !text.is_ascii();
            match runs.last_mut() {
                Some(last)
                    if !alone
                        && last.text.is_ascii()
                        && (last.fg, last.bg, last.flags) == (fg, bg, flags) =>
                {
                    last.text.push_str(&text);
                    last.cols += 1;
                }
                _ => runs.push(Run {
                    text,
                    cols,
                    fg,
                    bg,
                    flags,
                }),
            }
        }
        rows.push(runs);
    }
    let point = grid.cursor.point;
    let shown = term.mode().contains(TermMode::SHOW_CURSOR) && point.line.0 >= 0;
    ScreenView {
        foreground,
        background,
        cursor_color: indexed(258),
        rows,
        cursor: shown.then_some((point.line.0 as u16, point.column.0 as u16)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::screen::Palette;
    use crate::size::TerminalSize;

    fn view_of(bytes: &str) -> ScreenView {
        let mut m = Model::new(TerminalSize { rows: 4, cols: 12 }, 100, Palette::default());
        m.feed_quietly(bytes.as_bytes());
        m.view()
    }

    fn texts(row: &[Run]) -> Vec<(&str, u16)> {
        row.iter().map(|r| (r.text.as_str(), r.cols)).collect()
    }

    #[test]
    fn runs_split_at_style_and_at_each_wide_or_non_ascii_character() {
        let p = Palette::default();
        let v =
            view_of("ab\x1b[1;31mcd\x1b[0m宽é\x1b[38;2;1;2;3mx  \x1b[0m\r\n\r\n\x1b[7mz\x1b[0m");
        assert_eq!(v.rows.len(), 4);
        assert_eq!(
            texts(&v.rows[0]),
            [("ab", 2), ("cd", 2), ("宽", 2), ("é", 1), ("x", 1)]
        );
        let r = &v.rows[0];
        assert_eq!((r[0].fg, r[0].bg, r[0].flags), (None, None, 0));
        // Bold red is drawn bright red.
        assert_eq!((r[1].fg, r[1].flags), (Some(p.ansi[9]), flag::BOLD));
        assert_eq!(r[4].fg, Some([1, 2, 3]));
        // Trailing blanks are left out; a blank row has no runs.
        assert!(v.rows[1].is_empty());
        // Inverse swaps the resolved default colours.
        assert_eq!(
            (v.rows[2][0].fg, v.rows[2][0].bg),
            (Some(p.background), Some(p.foreground))
        );
        assert_eq!(v.cursor, Some((2, 1)));
        assert_eq!(v.foreground, p.foreground);
    }

    #[test]
    fn the_alternate_screen_shows_and_a_hidden_cursor_is_none() {
        let v = view_of("main\x1b[?1049h\x1b[Halt\x1b[?25l");
        assert_eq!(texts(&v.rows[0]), [("alt", 3)]);
        assert_eq!(v.cursor, None);
        // A program's own default colours (OSC 10/11) are the view's.
        let v = view_of("\x1b]11;rgb:01/02/03\x1b\\\x1b[44m \x1b[0m");
        assert_eq!(v.background, [1, 2, 3]);
        assert_eq!(v.rows[0][0].bg, Some(Palette::default().ansi[4]));
    }
}
