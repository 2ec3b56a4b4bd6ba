// The first pane's screen drawn with plain elements while xterm.js loads.
//
// xterm is two thirds of the UI's code; parsing it, opening a terminal and its first layout took
// ≈ 100 ms of the page's start in WebKitGTK. So the page's first frame draws the screen the first
// state load brought (`ScreenView`: runs of styled text, colours resolved by the server) in the
// cell grid xterm will use (measured as xterm measures it), and xterm is loaded after that frame.
// It then draws the same screen from the snapshot under this one, which goes in the frame xterm's
// first frame draws in. Keys typed and text pasted meanwhile are kept and handed to xterm then, in
// order, as if typed into it.

import type { ScreenView } from '../wire/ScreenView';
import type { ScreenRun } from '../wire/ScreenRun';

/** xterm's `CharSizeService` measures 'W' this many times over in its DOM fallback. */
const REPEAT = 32;
const BOLD = 1;
const DIM = 2;
const ITALIC = 4;
const UNDERLINE = 8;
const STRIKEOUT = 16;

export interface Font {
  family: string;
  size: number;
  lineHeight: number;
}

/** A cell's size in CSS pixels, as xterm's DOM renderer computes it for `cols`×`rows`. */
export interface Cell {
  width: number;
  height: number;
}

/**
 * The character's size as xterm's `CharSizeService` measures it: the font's metrics for 'W' from
 * a canvas, or, where the canvas cannot tell, a span of 32 'W's.
 */
function charSize(font: Font, parent: HTMLElement): { width: number; height: number } {
  try {
    const ctx = new OffscreenCanvas(100, 100).getContext('2d');
    if (ctx) {
      ctx.font = `${font.size}px ${font.family}`;
      const m = ctx.measureText('W');
      if ('fontBoundingBoxAscent' in m && 'fontBoundingBoxDescent' in m) {
        const height = m.fontBoundingBoxAscent + m.fontBoundingBoxDescent;
        if (m.width > 0 && height > 0) return { width: m.width, height };
      }
    }
  } catch {
    // No OffscreenCanvas: measured in the page as xterm then does.
  }
  const span = document.createElement('span');
  span.textContent = 'W'.repeat(REPEAT);
  Object.assign(span.style, {
    whiteSpace: 'pre',
    fontKerning: 'none',
    fontFamily: font.family,
    fontSize: `${font.size}px`,
    position: 'absolute',
    visibility: 'hidden',
  });
  parent.appendChild(span);
  const size = { width: span.offsetWidth / REPEAT, height: span.offsetHeight };
  span.remove();
  return size;
}

/** xterm's renderers' `_updateDimensions`, with no letter spacing: the WebGL one draws on whole
 *  device pixels, the DOM one does not. */
export function cellSize(font: Font, cols: number, rows: number, parent: HTMLElement, webgl: boolean): Cell {
  const dpr = window.devicePixelRatio || 1;
  const char = charSize(font, parent);
  const deviceWidth = webgl ? Math.floor(char.width * dpr) : char.width * dpr;
  const deviceHeight = Math.floor(Math.ceil(char.height * dpr) * font.lineHeight);
  return {
    width: Math.round((deviceWidth * cols) / dpr) / cols,
    height: Math.round((deviceHeight * rows) / dpr) / rows,
  };
}

/** What was typed or pasted into the preview, for xterm once it is there. */
export type Typed = { text: string } | { key: string } | { paste: string };

/** Keys whose sequence depends on the terminal's modes, sent through xterm once it is there. */
const NAMED_KEYS = new Set(['ArrowUp', 'ArrowDown', 'ArrowLeft', 'ArrowRight', 'Home', 'End']);

/** What a keystroke types in a terminal, when that does not depend on its modes. */
export function keyText(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'shiftKey' | 'altKey' | 'metaKey' | 'defaultPrevented'>): string | null {
  // Ctrl+Shift is the app's shortcuts and copy/paste (see shortcuts.ts), never a terminal's key.
  if (e.metaKey || (e.ctrlKey && e.shiftKey) || e.defaultPrevented) return null;
  if (e.ctrlKey && !e.altKey && e.key.length === 1) {
    const c = e.key.toUpperCase().charCodeAt(0);
    if (c >= 64 && c <= 95) return String.fromCharCode(c - 64);
    return c === 32 ? '\x00' : null;
  }
  const prefix = e.altKey ? '\x1b' : '';
  if (e.key.length === 1 && !e.ctrlKey) return prefix + e.key;
  const named: Record<string, string> = { Enter: '\r', Backspace: '\x7f', Tab: '\t', Escape: '\x1b' };
  return e.key in named ? prefix + named[e.key] : null;
}

export class Preview {
  readonly element: HTMLDivElement;
  readonly cell: Cell;
  /** Keys and pastes taken while shown, in order. */
  readonly typed: Typed[] = [];

  /** `webgl`: the pane will draw with xterm's WebGL renderer (its grid is on whole pixels). */
  constructor(host: HTMLElement, view: ScreenView, font: Font, webgl: boolean) {
    const cell = cellSize(font, view.cols, view.rows, host, webgl);
    this.cell = cell;
    const el = document.createElement('div');
    el.className = 'grove-preview';
    el.tabIndex = 0;
    el.dataset.testid = 'terminal-preview';
    Object.assign(el.style, {
      position: 'absolute',
      inset: '0',
      // The host's padding, so the grid starts where xterm's does.
      padding: 'inherit',
      zIndex: '1',
      overflow: 'hidden',
      outline: 'none',
      color: view.foreground,
      background: view.background,
      fontFamily: font.family,
      fontSize: `${font.size}px`,
      whiteSpace: 'pre',
      fontKerning: 'none',
    });
    const width = `${cell.width * view.cols}px`;
    const height = `${cell.height}px`;
    // The grid: rows of cells, and the cursor over its cell.
    const grid = document.createElement('div');
    grid.style.position = 'relative';
    for (const line of view.lines) {
      const row = document.createElement('div');
      Object.assign(row.style, { width, height, lineHeight: height, overflow: 'hidden' });
      for (const run of line) row.appendChild(span(run, cell));
      grid.appendChild(row);
    }
    if (view.cursor) {
      const [r, c] = view.cursor;
      const cursor = document.createElement('div');
      Object.assign(cursor.style, {
        position: 'absolute',
        left: `${c * cell.width}px`,
        top: `${r * cell.height}px`,
        width: `${cell.width}px`,
        height,
        background: view.cursor_color,
      });
      grid.appendChild(cursor);
    }
    el.appendChild(grid);
    el.addEventListener('keydown', (e) => {
      const text = keyText(e);
      if (text !== null) this.typed.push({ text });
      else if (NAMED_KEYS.has(e.key) && !e.ctrlKey && !e.altKey && !e.metaKey) this.typed.push({ key: e.key });
      else return;
      e.preventDefault();
    });
    el.addEventListener('paste', (e) => {
      const text = e.clipboardData?.getData('text/plain');
      if (text) this.typed.push({ paste: text });
      e.preventDefault();
    });
    host.appendChild(el);
    this.element = el;
  }

  get focused(): boolean {
    return document.activeElement === this.element;
  }

  remove(): void {
    this.element.remove();
  }
}

/** A run: its cells' width whatever its font draws, so the next run starts at its cell. */
function span(run: ScreenRun, cell: Cell): HTMLSpanElement {
  const s = document.createElement('span');
  s.textContent = run.text;
  const st = s.style;
  st.display = 'inline-block';
  st.verticalAlign = 'top';
  st.height = '100%';
  st.width = `${run.cols * cell.width}px`;
  if (run.fg) st.color = run.fg;
  if (run.bg) st.background = run.bg;
  const f = run.flags ?? 0;
  if (f & BOLD) st.fontWeight = 'bold';
  if (f & ITALIC) st.fontStyle = 'italic';
  if (f & DIM) st.opacity = '0.5';
  const lines = [f & UNDERLINE ? 'underline' : '', f & STRIKEOUT ? 'line-through' : ''].filter(Boolean);
  if (lines.length) st.textDecoration = lines.join(' ');
  return s;
}
