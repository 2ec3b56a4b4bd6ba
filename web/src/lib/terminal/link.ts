// One attached terminal stream: opens the socket through the Transport, feeds bytes to a sink
// (xterm) in order, acknowledges what the sink has parsed, and reconnects with backoff from the
// exact offset when the connection drops. A stream may begin, or start over, with the server's
// snapshot of the screen; the snapshot is not part of the log, so offsets and acks count only the
// live bytes after it.

import type { Transport, TerminalSocket, StreamStart } from '../transport';
import type { ExitInfo } from '../wire/ExitInfo';
import type { ServerFrame } from '../wire/ServerFrame';
import type { TerminalInfo } from '../wire/TerminalInfo';
import type { ApiError } from '../wire/ApiError';
import type { ScreenSnapshot } from '../wire/ScreenSnapshot';
import { StreamCursor } from './cursor';
import { markOnce } from '../startup';

export interface TerminalSink {
  /** Writes raw bytes; calls `parsed` once the emulator has parsed them. */
  write(bytes: Uint8Array, parsed: () => void): void;
  /**
   * Replaces everything shown (scrollback, screen, modes) with the server's snapshot: a reset and
   * then `snapshot.data`, in order after every write already queued and before every later one.
   */
  snapshot(snapshot: ScreenSnapshot): void;
  /** A readable line shown in the pane (not program output). */
  notice(text: string): void;
  info?(terminal: TerminalInfo): void;
  exited?(exit: ExitInfo): void;
  error?(error: ApiError): void;
}

export type LinkState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface LinkOptions {
  start: StreamStart;
  onState?(state: LinkState): void;
  /** Backoff delays in ms; the last repeats. */
  backoff?: number[];
  setTimer?(fn: () => void, ms: number): unknown;
  clearTimer?(handle: unknown): void;
}

const DEFAULT_BACKOFF = [250, 500, 1000, 2000, 4000, 8000];

export class TerminalLink {
  readonly id: number;
  readonly cursor = new StreamCursor();
  state: LinkState = 'connecting';
  #transport: Transport;
  #sink: TerminalSink;
  #opts: LinkOptions;
  #socket: TerminalSocket | null = null;
  #helloSeen = false;
  #attempt = 0;
  #timer: unknown = null;
  #size: { rows: number; cols: number } | null = null;
  #disposed = false;

  constructor(transport: Transport, id: number, sink: TerminalSink, opts: LinkOptions) {
    this.#transport = transport;
    this.id = id;
    this.#sink = sink;
    this.#opts = opts;
    this.#connect(opts.start);
  }

  /** Keystrokes or pasted text, as xterm gives them. */
  input(data: string | Uint8Array): void {
    this.#socket?.input(data);
  }

  resize(rows: number, cols: number): void {
    if (rows < 1 || cols < 1) return;
    if (this.#size && this.#size.rows === rows && this.#size.cols === cols) return;
    this.#size = { rows, cols };
    if (this.state === 'live') this.#socket?.send({ type: 'resize', rows, cols });
  }

  /** Drops the connection now and reconnects from the current offset (used after a network change). */
  reconnectNow(): void {
    if (this.#disposed) return;
    this.#attempt = 0;
    this.#clearTimer();
    this.#socket?.close();
    this.#socket = null;
    this.#connect(this.#resumePoint());
  }

  dispose(): void {
    this.#disposed = true;
    this.#clearTimer();
    this.#socket?.close();
    this.#socket = null;
    this.#setState('closed');
  }

  #resumePoint(): StreamStart {
    return this.#helloSeen ? { from: this.cursor.received } : this.#opts.start;
  }

  #setState(s: LinkState): void {
    if (this.state === s) return;
    this.state = s;
    this.#opts.onState?.(s);
  }

  #connect(start: StreamStart): void {
    const socket = this.#transport.terminal(this.id, start, {
      frame: (f) => {
        if (socket === this.#socket) this.#frame(f, start);
      },
      data: (bytes) => {
        if (socket === this.#socket) this.#data(bytes);
      },
      closed: ({ clean }) => {
        if (socket !== this.#socket || clean || this.#disposed) return;
        this.#socket = null;
        this.#scheduleReconnect();
      },
    });
    this.#socket = socket;
  }

  #scheduleReconnect(): void {
    this.#setState('reconnecting');
    const delays = this.#opts.backoff ?? DEFAULT_BACKOFF;
    const delay = delays[Math.min(this.#attempt, delays.length - 1)] ?? 1000;
    this.#attempt++;
    const set = this.#opts.setTimer ?? ((fn: () => void, ms: number) => setTimeout(fn, ms));
    this.#timer = set(() => {
      this.#timer = null;
      if (!this.#disposed) this.#connect(this.#resumePoint());
    }, delay);
  }

  #clearTimer(): void {
    if (this.#timer === null) return;
    const clear = this.#opts.clearTimer ?? ((h: unknown) => clearTimeout(h as ReturnType<typeof setTimeout>));
    clear(this.#timer);
    this.#timer = null;
  }

  #frame(f: ServerFrame, start: StreamStart): void {
    switch (f.type) {
      case 'hello': {
        markOnce('terminal-hello');
        if (f.snapshot) {
          // Either a fresh attach or a resume the log could no longer serve: the snapshot
          // repairs any gap, so nothing was lost from the user's point of view.
          this.#sink.snapshot(f.snapshot);
        } else if (this.#helloSeen && 'from' in start && f.offset > start.from) {
          this.#sink.notice(`[grove: ${f.offset - start.from} bytes of output were lost while disconnected]`);
        }
        this.#helloSeen = true;
        this.#attempt = 0;
        this.cursor.start(f.offset);
        this.#sink.info?.(f.terminal);
        this.#setState('live');
        if (this.#size) this.#socket?.send({ type: 'resize', ...this.#size });
        break;
      }
      case 'resync':
        // We fell further behind than the log holds. Bytes still queued in the sink are parsed
        // before the snapshot replaces them; their parse callbacks belong to the old epoch, so
        // they neither ack offsets from before the resync nor upset the count of queued writes.
        this.#sink.snapshot(f.snapshot);
        this.cursor.start(f.offset);
        break;
      case 'exit':
        this.#sink.exited?.(f.exit);
        break;
      case 'restarted':
        this.#sink.info?.(f.terminal);
        break;
      case 'error':
        this.#sink.error?.(f.error);
        break;
    }
  }

  #data(bytes: Uint8Array): void {
    const { end, epoch } = this.cursor.receive(bytes.length);
    this.#sink.write(bytes, () => {
      const ack = this.cursor.parsedTo(end, epoch);
      if (ack !== null && epoch === this.cursor.epoch) this.#socket?.send({ type: 'ack', offset: ack });
    });
  }
}
