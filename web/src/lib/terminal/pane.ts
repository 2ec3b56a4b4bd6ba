// One visible terminal pane: an xterm.js instance wired to a TerminalLink. Created when the pane
// is shown and disposed when it is hidden, so only visible terminals cost memory. A new pane
// attaches with the server's snapshot of the screen (scrollback, screen, modes), so showing a
// session again draws its current state at once instead of replaying minutes of output.

import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
// The WebGL renderer is a separate chunk, fetched only by panes that use it (not in WebKitGTK).
import type { WebglAddon } from '@xterm/addon-webgl';
import { chosenRenderer, preferredRenderer } from './renderer';
import { Unicode11Addon } from '@xterm/addon-unicode11';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { SearchAddon } from '@xterm/addon-search';
import '@xterm/xterm/css/xterm.css';

import type { StreamStart, Transport } from '../transport';
import type { TerminalInfo } from '../wire/TerminalInfo';
import type { ExitInfo } from '../wire/ExitInfo';
import type { ApiError } from '../wire/ApiError';
import type { ScreenSnapshot } from '../wire/ScreenSnapshot';
import type { FirstPane } from '../wire/FirstPane';
import type { LivePane } from '../stores/terminals.svelte';
import { TerminalLink, type LinkState, type TerminalSink } from './link';
import { swallowQueries } from './queries';
import { darkTheme, terminalFont } from './theme';
import type { Typed } from './preview';
import { primeWidths } from './widths';
import { markFirstScreenUp, markOnce, whenIdle } from '../startup';

export const SCROLLBACK = 5000;
/** Keystrokes and pastes kept for a socket that has not gone live yet, at most. */
const MAX_TYPED_EARLY = 1024;
const RESIZE_DEBOUNCE_MS = 100;

export interface PaneOptions {
  allowOsc52: () => boolean;
  onState?(state: LinkState): void;
  onInfo?(t: TerminalInfo): void;
  onExit?(exit: ExitInfo): void;
  onError?(e: ApiError): void;
  /** The screen the first state load brought for this terminal (see `TerminalStore.takeFirst`):
   *  drawn at once, and the socket continues it from its offset instead of sending a snapshot. */
  first?: FirstPane | null;
  /** Called in the frame that draws the first screen (the first pane's, or a snapshot's). */
  onDrawn?(): void;
}

function terminalOptions(): ConstructorParameters<typeof Terminal>[0] {
  const font = terminalFont();
  return {
    theme: darkTheme,
    fontFamily: font.family,
    fontSize: font.size,
    lineHeight: font.lineHeight,
    scrollback: SCROLLBACK,
    cursorBlink: true,
    allowProposedApi: true, // unicode11's activeVersion
    macOptionIsMeta: true,
    rightClickSelectsWord: true,
  };
}

export class XtermPane implements LivePane {
  readonly terminalId: number;
  readonly term: Terminal;
  readonly search: SearchAddon;
  renderer: 'webgl' | 'dom' = 'dom';
  #fit = new FitAddon();
  #link: TerminalLink | null = null;
  #transport: Transport;
  #sink: TerminalSink;
  #opts: PaneOptions;
  #observer: ResizeObserver;
  #resizeTimer: ReturnType<typeof setTimeout> | null = null;
  #webgl: WebglAddon | null = null;
  #disposed = false;
  /** Where the first attach starts: after the first pane's screen, or with a snapshot. */
  #firstStart: StreamStart | null = null;
  /** How the first state load's screen was drawn: parsed before xterm opened (`'inline'`), or
   *  through xterm's write queue (`'queued'`); `null` for a pane without one. */
  firstDraw: 'inline' | 'queued' | null = null;
  /** How many character widths the pane's screens (the first one, snapshots) had measured in one
   *  layout before they were drawn (see `primeWidths`); `null` when none was, or without the DOM
   *  renderer's cache. */
  primedWidths: number | null = null;
  /** Typed before the pane's socket first went live (into the preview, see `typeIn`, or into
   *  xterm), sent in order once it does; afterwards input goes straight to the socket. */
  #typed: Typed[] = [];
  #wasLive = false;
  /** Set while the pane resizes xterm for a snapshot; those sizes are not the PTY's. */
  #snapshotResize = false;

  constructor(container: HTMLElement, transport: Transport, terminalId: number, opts: PaneOptions) {
    this.terminalId = terminalId;
    const first = opts.first ?? null;
    // The first pane starts at its screen's size: mostly the container's too, so neither the
    // screen nor the fit below resizes (each resize reflows the buffer).
    const size = first ? { cols: Math.max(first.snapshot.cols, 2), rows: Math.max(first.snapshot.rows, 1) } : {};
    const term = new Terminal({ ...terminalOptions(), ...size });
    this.term = term;
    markOnce('pane');
    // Connect first: the socket's handshake and the server's snapshot then overlap with opening
    // and fitting xterm below (the first frame cannot arrive before this constructor returns).
    const sink: TerminalSink = {
      write: (bytes: Uint8Array, parsed: () => void) => term.write(bytes, parsed),
      snapshot: (snapshot: ScreenSnapshot) => this.#writeSnapshot(snapshot),
      notice: (text: string) => term.write(`\r\n\x1b[2;3m${text}\x1b[0m\r\n`),
      info: (t: TerminalInfo) => opts.onInfo?.(t),
      exited: (exit: ExitInfo) => opts.onExit?.(exit),
      error: (e: ApiError) => opts.onError?.(e),
    };
    this.#transport = transport;
    this.#sink = sink;
    this.#opts = opts;
    if (first) this.#firstStart = { from: first.offset };
    this.attach();
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
    // The server answers terminal queries; xterm answering too would double every reply.
    swallowQueries(term.parser);
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

    // The first pane's screen is parsed before xterm opens, so that opening draws it in the page's
    // first frame (a queued write is parsed a task later, and drawn a frame later).
    if (first) this.firstDraw = this.#writeFirst(first.snapshot);

    term.open(container);
    // Probing WebGL costs a GL context (tens of ms in software); when neither the user nor the
    // platform decided, the pane starts with the DOM renderer and probes once the page is idle.
    const renderer = chosenRenderer();
    // Drawing the first screen would measure each of its characters in a layout of its own.
    if (first && renderer !== 'webgl') this.#primed(primeWidths(term));
    if (renderer === 'webgl') this.#loadWebgl();
    else if (renderer === null) {
      whenIdle(() => {
        if (!this.#disposed && preferredRenderer() === 'webgl') this.#loadWebgl();
      });
    }
    this.#fitNow();
    // Drawn in the frame that draws the pane: the first pane's screen, before its socket has even
    // opened.
    if (this.firstDraw === 'inline') this.#whenDrawn();
    else if (first) this.#writeSnapshot(first.snapshot);

    this.#link?.resize(term.rows, term.cols);

    term.onData((d) => {
      if (this.#wasLive) this.#link?.input(d);
      else if (this.#typed.length < MAX_TYPED_EARLY) this.#typed.push({ text: d });
    });
    term.onBinary((d) => {
      const bytes = new Uint8Array(d.length);
      for (let i = 0; i < d.length; i++) bytes[i] = d.charCodeAt(i) & 0xff;
      this.#link?.input(bytes);
    });
    term.onResize(({ rows, cols }) => {
      if (!this.#snapshotResize) this.#link?.resize(rows, cols);
    });

    this.#observer = new ResizeObserver(() => {
      if (this.#resizeTimer) clearTimeout(this.#resizeTimer);
      this.#resizeTimer = setTimeout(() => this.#fitNow(), RESIZE_DEBOUNCE_MS);
    });
    this.#observer.observe(container);
  }

  get reconnecting(): boolean {
    return this.#link?.state === 'reconnecting';
  }

  get attached(): boolean {
    return this.#link !== null;
  }

  /**
   * Lets go of the stream while the page is hidden. A hidden page's timers are throttled, so
   * xterm would parse slowly, acknowledge late, and the server's flow control would then slow the
   * program itself; detached, the program runs at full speed and nothing queues up here.
   */
  detach(): void {
    if (!this.#link) return;
    this.#link.dispose();
    this.#link = null;
  }

  /** (Re)attaches with the server's snapshot of the screen, which replaces whatever is shown. */
  attach(): void {
    if (this.#link || this.#disposed) return;
    const opts = this.#opts;
    const start = this.#firstStart ?? { snapshot: true };
    this.#firstStart = null;
    this.#link = new TerminalLink(this.#transport, this.terminalId, this.#sink, {
      start,
      onState: (s) => {
        if (s === 'live') {
          this.#wasLive = true;
          this.#typeInNow();
        }
        opts.onState?.(s);
      },
    });
    // The very first attach happens before xterm opens; the constructor sends the size then.
    if (this.term.element) this.#link.resize(this.term.rows, this.term.cols);
  }

  focus(): void {
    this.term.focus();
  }

  /** Whether keystrokes reach the program (off while the pane's server is not connected). */
  setInputEnabled(on: boolean): void {
    if (this.term.options.disableStdin === !on) return;
    this.term.options.disableStdin = !on;
  }

  text(): string {
    const buf = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buf.length; i++) lines.push(buf.getLine(i)?.translateToString(true) ?? '');
    return lines.join('\n');
  }

  reconnectNow(): void {
    this.#link?.reconnectNow();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#resizeTimer) clearTimeout(this.#resizeTimer);
    this.#observer.disconnect();
    this.#link?.dispose();
    this.#link = null;
    this.term.dispose();
  }

  /**
   * Replaces everything shown with the server's snapshot, in order with the bytes around it.
   *
   * The reset travels through xterm's write queue as CAN + RIS instead of calling `term.reset()`.
   * `reset()` acts at once, so it would overtake bytes still queued (they would then be drawn over
   * the snapshot), and it leaves the parser inside whatever sequence those bytes ended in. In the
   * queue, CAN first aborts a half-received sequence without dispatching it (a dropped connection
   * can cut one anywhere), then RIS runs xterm's full reset, the same as `term.reset()`, exactly
   * between the old bytes and the snapshot.
   *
   * The snapshot is drawn at the size it was made at, since its cursor moves and line wraps assume
   * it; then the pane goes back to its own size and xterm reflows. The PTY was told the pane's size
   * when the stream went live, so the program redraws for it. The snapshot's size is never sent to
   * the server.
   */
  #writeSnapshot(snapshot: ScreenSnapshot): void {
    let own = { cols: this.term.cols, rows: this.term.rows };
    this.term.write('\x18\x1bc', () => {
      own = { cols: this.term.cols, rows: this.term.rows };
      this.#resizeForSnapshot(snapshot.cols, snapshot.rows);
    });
    this.term.write(snapshot.data);
    this.term.write('', () => {
      this.#resizeForSnapshot(own.cols, own.rows);
      // The container may have changed size while the snapshot was parsed.
      this.#fitNow();
      // Drawn in the next frame: a new pane's renderer would measure each character on the
      // screen in a layout of its own.
      if (this.renderer === 'dom' && !this.#disposed) this.#primed(primeWidths(this.term));
      this.#whenDrawn();
    });
  }

  /**
   * Parses the first pane's screen at once, before xterm opens, when xterm's write buffer offers a
   * synchronous write: `'inline'`. xterm's public `write` always parses in a later task, which
   * leaves the page's first frame to draw an empty pane and the screen to a second frame, as
   * costly as the first in WebKitGTK. `writeSync` is internal to xterm (pinned by the lockfile), so
   * it is looked for and its absence falls back to the queued write: `'queued'`. Nothing else can
   * be queued yet: the socket cannot have delivered anything before this constructor returns.
   */
  #writeFirst(snapshot: ScreenSnapshot): 'inline' | 'queued' {
    const buffer = (this.term as unknown as { _core?: { _writeBuffer?: { writeSync?: unknown } } })._core?._writeBuffer;
    if (typeof buffer?.writeSync !== 'function') return 'queued';
    // xterm was made at the snapshot's size (see the constructor): no resize is needed here.
    try {
      (buffer.writeSync as (data: string) => void).call(buffer, snapshot.data);
    } catch {
      // An internal that changed its contract: start clean and take the public, queued way.
      this.term.reset();
      return 'queued';
    }
    return 'inline';
  }

  /**
   * Marks the first pane drawn (and live: xterm draws it) in the frame xterm draws in, and tells
   * `onDrawn`: a frame callback queued now runs after xterm's own (queued when it opened or
   * parsed), in the same frame.
   */
  #whenDrawn(): void {
    requestAnimationFrame(() => {
      markOnce('pane-drawn');
      markOnce('pane-live');
      markFirstScreenUp();
      if (!this.#disposed) this.#opts.onDrawn?.();
    });
  }

  /** Hands xterm what was typed or pasted before it was there (see `Preview`), in order, once its
   *  socket is live (input is not sent before). */
  typeIn(typed: readonly Typed[]): void {
    this.#typed.unshift(...typed);
    if (this.#wasLive) this.#typeInNow();
  }

  #typeInNow(): void {
    const typed = this.#typed.splice(0);
    const app = this.term.modes.applicationCursorKeysMode ? 1 : 0;
    for (const t of typed) {
      if ('text' in t) this.term.input(t.text, true);
      else if ('paste' in t) this.term.paste(t.paste);
      else {
        const seq = CURSOR_KEYS[t.key]?.[app];
        if (seq) this.term.input(seq, true);
      }
    }
  }

  #primed(count: number | null): void {
    if (count !== null) this.primedWidths = (this.primedWidths ?? 0) + count;
  }

  #resizeForSnapshot(cols: number, rows: number): void {
    if (this.#disposed || cols < 1 || rows < 1) return;
    if (cols === this.term.cols && rows === this.term.rows) return;
    this.#snapshotResize = true;
    try {
      this.term.resize(cols, rows);
    } finally {
      this.#snapshotResize = false;
    }
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
    import('@xterm/addon-webgl').then(
      ({ WebglAddon }) => {
        if (this.#disposed) return;
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
      },
      () => {
        this.renderer = 'dom';
      },
    );
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

/** The sequences of the keys `Typed` leaves to the terminal's modes (normal and application cursor
 *  keys). */
const CURSOR_KEYS: Record<string, [string, string]> = {
  ArrowUp: ['\x1b[A', '\x1bOA'],
  ArrowDown: ['\x1b[B', '\x1bOB'],
  ArrowRight: ['\x1b[C', '\x1bOC'],
  ArrowLeft: ['\x1b[D', '\x1bOD'],
  Home: ['\x1b[H', '\x1bOH'],
  End: ['\x1b[F', '\x1bOF'],
};
