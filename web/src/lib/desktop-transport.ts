// A transport whose sockets go through @tauri-apps/plugin-websocket (they live in Rust, outside the
// webview). Selected with GROVE_DESKTOP_TRANSPORT=plugin; the desktop app uses the webview's own
// WebSocket by default, because this one missed the echo and flood goals (see lib/desktop.ts and
// the desktop benchmarks). HTTP requests go to the in-process server with fetch, as in a browser.
// Frames are passed through untouched: text frames as parsed JSON to `frame`/`event`, binary
// frames as bytes to `data`.

import { Channel, invoke } from '@tauri-apps/api/core';
import WebSocket, { type Message } from '@tauri-apps/plugin-websocket';
import { BrowserTransport, deliver, deliverText, relayBase, terminalQuery } from './transport';
import type {
  Closable,
  EventHandlers,
  Method,
  StreamStart,
  TerminalSocket,
  TerminalSocketHandlers,
  Transport,
} from './transport';
import type { Event } from './wire/Event';
import type { ServerFrame } from './wire/ServerFrame';

const PROTOCOL = 'grove.v1';
const encoder = new TextEncoder();

/** What the shell's `connection` command returns. */
export interface DesktopConnection {
  url: string;
  token: string;
}

/** A plugin socket with the few things the UI needs: ordered sends and one close report. */
class PluginSocket {
  #ws: WebSocket | null = null;
  #closed = false;
  #reported = false;
  #queue: Message[] = [];
  #sending: Promise<void> = Promise.resolve();
  readonly #onClose: (info: { clean: boolean; code: number; reason: string }) => void;

  constructor(
    url: string,
    token: string,
    onOpen: () => void,
    onMessage: (m: Message) => void,
    onClose: (info: { clean: boolean; code: number; reason: string }) => void,
  ) {
    this.#onClose = onClose;
    // `WebSocket.connect` of the plugin's JS attaches listeners only once the connect call
    // returns, and drops what the server sent before (a terminal's `hello` arrives at once).
    // So the channel is made here, with its handler in place before the socket exists.
    const channel = new Channel<Message>();
    channel.onmessage = (m) => {
      if (this.#reported) return;
      // The plugin reports a read error as a bare value instead of a message.
      if (typeof m !== 'object' || m === null || !('type' in m)) {
        this.#report({ clean: this.#closed, code: 1006, reason: String(m) });
        return;
      }
      if (m.type === 'Close') {
        this.#report({ clean: this.#closed, code: m.data?.code ?? 1005, reason: m.data?.reason ?? '' });
        return;
      }
      onMessage(m);
    };
    invoke<number>('plugin:websocket|connect', {
      url,
      onMessage: channel,
      config: {
        headers: [
          ['Authorization', `Bearer ${token}`],
          ['Sec-WebSocket-Protocol', PROTOCOL],
        ],
        // Keystrokes are tiny: write each one at once instead of filling a 128 KiB buffer.
        writeBufferSize: 0,
      },
    }).then(
      (id) => {
        const ws = new WebSocket(id, new Set());
        if (this.#closed) {
          void ws.disconnect().catch(() => {});
          return;
        }
        this.#ws = ws;
        onOpen();
        for (const q of this.#queue.splice(0)) this.send(q);
      },
      (e: unknown) => this.#report({ clean: this.#closed, code: 1006, reason: String(e) }),
    );
  }


  /** Sends in order (each plugin send is an IPC round trip; they must not overtake each other). */
  send(m: Message): void {
    if (this.#closed || this.#reported) return;
    const ws = this.#ws;
    if (!ws) {
      this.#queue.push(m);
      return;
    }
    this.#sending = this.#sending.then(
      () => ws.send(m),
      () => ws.send(m),
    );
    this.#sending.catch((e: unknown) => this.#report({ clean: false, code: 1006, reason: String(e) }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const ws = this.#ws;
    if (ws) void this.#sending.finally(() => ws.disconnect().catch(() => {}));
    this.#report({ clean: true, code: 1000, reason: '' });
  }

  #report(info: { clean: boolean; code: number; reason: string }): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#onClose(info);
  }
}

/** fetch for requests (delegated to BrowserTransport), plugin sockets for streams. */
export class DesktopTransport implements Transport {
  readonly #http: BrowserTransport;
  readonly #wsBase: string;
  readonly #token: string;
  readonly #conn: DesktopConnection;

  /** `base`: the API's path (`/api/v1`, or a remote's relay; see `relayBase`). */
  constructor(conn: DesktopConnection, base: string = relayBase('local')) {
    this.#conn = conn;
    this.#token = conn.token;
    this.#http = new BrowserTransport(conn.token, conn.url, base);
    this.#wsBase = `${conn.url.replace(/^http/, 'ws')}${base}`;
  }

  relay(name: string): Transport {
    return new DesktopTransport(this.#conn, relayBase(name));
  }

  request<T>(method: Method, path: string, body?: unknown): Promise<T> {
    return this.#http.request<T>(method, path, body);
  }

  events(handlers: EventHandlers): Closable {
    let closedByUs = false;
    const failed = (e: unknown) => handlers.failed(e);
    const sock = new PluginSocket(
      `${this.#wsBase}/events`,
      this.#token,
      () => deliver(() => handlers.open(), failed),
      (m) => {
        if (m.type === 'Text') deliverText<Event>(m.data, (ev) => handlers.event(ev), failed);
      },
      (info) => {
        if (!closedByUs) deliver(() => handlers.closed({ code: info.code, reason: info.reason }), failed);
      },
    );
    return {
      close() {
        closedByUs = true;
        sock.close();
      },
    };
  }

  terminal(id: number, start: StreamStart, handlers: TerminalSocketHandlers): TerminalSocket {
    const failed = (e: unknown) => handlers.failed(e);
    const sock = new PluginSocket(
      `${this.#wsBase}/terminals/${id}${terminalQuery(start)}`,
      this.#token,
      () => {},
      (m) => {
        if (m.type === 'Text') deliverText<ServerFrame>(m.data, (f) => handlers.frame(f), failed);
        else if (m.type === 'Binary') deliver(() => handlers.data(Uint8Array.from(m.data)), failed);
      },
      (info) => deliver(() => handlers.closed(info), failed),
    );
    return {
      input(data) {
        const bytes = typeof data === 'string' ? encoder.encode(data) : data;
        sock.send({ type: 'Binary', data: Array.from(bytes) });
      },
      send(frame) {
        sock.send({ type: 'Text', data: JSON.stringify(frame) });
      },
      close() {
        sock.close();
      },
    };
  }
}
