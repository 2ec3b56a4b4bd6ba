// One visible terminal pane: an xterm.js instance wired to a TerminalLink. Created when the pane
// is shown and disposed when it is hidden, so only visible terminals cost memory. A new pane
// attaches with `?tail=` sized to its scrollback, so showing a session again draws its current
// screen at once instead of replaying minutes of output.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import { WebglAddon } from '@xterm/addon-webgl';
import { preferredRenderer } from './renderer';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { SearchAddon } from '@xterm/addon-search';
import '@xterm/xterm/css/xterm.css';

import type { Transport } from '../transport';
import type { TerminalInfo } from '../wire/TerminalInfo';
import type { ExitInfo } from '../wire/ExitInfo';
import type { ApiError } from '../wire/ApiError';
import type { LivePane } from '../stores/terminals.svelte';
import { TerminalLink, type LinkState } from './link';
import { tailBytes } from './cursor';
import { darkTheme, FONT_FAMILY } from './theme';

export const SCROLLBACK = 5000;
const RESIZE_DEBOUNCE_MS = 100;

export interface PaneOptions {
  allowOsc52: () => boolean;
  onState?(state: LinkState): void;
  onInfo?(t: TerminalInfo): void;
  onExit?(exit: ExitInfo): void;
  onError?(e: ApiError): void;
}

export class XtermPane implements LivePane {
  readonly terminalId: number;
  readonly term: Terminal;
  readonly search: SearchAddon;
  renderer: 'webgl' | 'dom' = 'dom';
  #fit = new FitAddon();
  #link: TerminalLink;
  #observer: ResizeObserver;
  #resizeTimer: ReturnType<typeof setTimeout> | null = null;
  #webgl: WebglAddon | null = null;
  #disposed = false;

  constructor(container: HTMLElement, transport: Transport, terminalId: number, opts: PaneOptions) {
    this.terminalId = terminalId;
    const term = new Terminal({
      theme: darkTheme,
      fontFamily: FONT_FAMILY,
      fontSize: 13,
      lineHeight: 1.1,
      scrollback: SCROLLBACK,
      cursorBlink: true,
      allowProposedApi: true, // unicode11's activeVersion
      macOptionIsMeta: true,
      rightClickSelectsWord: true,
    });
    this.term = term;
    term.loadAddon(this.#fit);
    term.loadAddon(new Unicode11Addon());
    term.unicode.activeVersion = '11';
    term.loadAddon(
      new WebLinksAddon((_event, uri) => {
        // Outside the app, and without giving the opened page a handle on this one.
        window.open(uri, '_blank', 'noopener,noreferrer');
      }),
    );
    this.search = new SearchAddon();
    term.loadAddon(this.search);
    // OSC 52 lets program output write the user's clipboard (a real attack through agent output):
    // swallowed unless the user enabled it.
    term.parser.registerOscHandler(52, (data) => {
      if (opts.allowOsc52()) writeOsc52(data);
      return true;
    });
    term.attachCustomKeyEventHandler((e) => {
      // Ctrl+Shift+C copies the selection (Ctrl+C stays the interrupt key).
      if (e.type === 'keydown' && e.ctrlKey && e.shiftKey && e.code === 'KeyC') {
        const sel = term.getSelection();
        if (sel) void navigator.clipboard?.writeText(sel).catch(() => {});
        e.preventDefault();
        return false;
      }
      // Ctrl+Shift+V: let the browser paste; xterm wraps it in bracketed paste when enabled.
      if (e.ctrlKey && e.shiftKey && e.code === 'KeyV') return false;
      return true;
    });

    term.open(container);
    if (preferredRenderer() === 'webgl') this.#loadWebgl();
    this.#fitNow();

    const sink = {
      write: (bytes: Uint8Array, parsed: () => void) => term.write(bytes, parsed),
      notice: (text: string) => term.write(`\r\n\x1b[2;3m${text}\x1b[0m\r\n`),
      info: (t: TerminalInfo) => opts.onInfo?.(t),
      exited: (exit: ExitInfo) => opts.onExit?.(exit),
      error: (e: ApiError) => opts.onError?.(e),
    };
    this.#link = new TerminalLink(transport, terminalId, sink, {
      start: { tail: tailBytes(SCROLLBACK, term.cols) },
      onState: (s) => opts.onState?.(s),
    });
    this.#link.resize(term.rows, term.cols);

    term.onData((d) => this.#link.input(d));
    term.onBinary((d) => {
      const bytes = new Uint8Array(d.length);
      for (let i = 0; i < d.length; i++) bytes[i] = d.charCodeAt(i) & 0xff;
      this.#link.input(bytes);
    });
    term.onResize(({ rows, cols }) => this.#link.resize(rows, cols));

    this.#observer = new ResizeObserver(() => {
      if (this.#resizeTimer) clearTimeout(this.#resizeTimer);
      this.#resizeTimer = setTimeout(() => this.#fitNow(), RESIZE_DEBOUNCE_MS);
    });
    this.#observer.observe(container);
  }

  get reconnecting(): boolean {
    return this.#link.state === 'reconnecting';
  }

  get offset(): number {
    return this.#link.cursor.received;
  }

  focus(): void {
    this.term.focus();
  }

  text(): string {
    const buf = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  }

  reconnectNow(): void {
    this.#link.reconnectNow();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#resizeTimer) clearTimeout(this.#resizeTimer);
    this.#observer.disconnect();
    this.#link.dispose();
    this.term.dispose();
  }

  #fitNow(): void {
    if (this.#disposed) return;
    // A hidden container has no size; fitting it would shrink the PTY to nothing.
    if (!this.#fit.proposeDimensions()) return;
    try {
      this.#fit.fit();
    } catch {
      // The element was detached between the observer firing and now.
    }
  }

  #loadWebgl(): void {
    try {
      const webgl = new WebglAddon();
      webgl.onContextLoss(() => {
        // Back to the DOM renderer; the buffer is unaffected.
        webgl.dispose();
        this.#webgl = null;
        this.renderer = 'dom';
      });
      this.term.loadAddon(webgl);
      this.#webgl = webgl;
      this.renderer = 'webgl';
    } catch {
      this.renderer = 'dom';
    }
  }
}

/** OSC 52 `c;BASE64` → clipboard, only when the user allowed it. */
function writeOsc52(data: string): void {
  const semi = data.indexOf(';');
  const payload = semi >= 0 ? data.slice(semi + 1) : data;
  if (payload === '?' || !navigator.clipboard) return; // never answer clipboard reads
  try {
    const bin = atob(payload);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    void navigator.clipboard.writeText(new TextDecoder().decode(bytes)).catch(() => {});
  } catch {
    // Malformed base64: ignored.
  }
}
