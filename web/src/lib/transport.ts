// The only module that talks to a Grove server. Components and stores get a `Transport` and never
// open sockets or call fetch themselves, so the desktop shell can swap in its own implementation
// (its sockets live in Rust and do not pause with the webview).

import type { ApiError } from './wire/ApiError';
import type { ClientFrame } from './wire/ClientFrame';
import type { Event } from './wire/Event';
import type { ServerFrame } from './wire/ServerFrame';

/** A refused or failed request, carrying the server's `{code, message}`. */
export class RequestError extends Error {
  readonly error: ApiError;
  readonly status: number;
  constructor(error: ApiError, status: number) {
    super(error.message);
    this.name = 'RequestError';
    this.error = error;
    this.status = status;
  }
}

/**
 * Where a terminal stream starts: with the server's snapshot of the screen followed by live output
 * (how a pane attaches), or at an exact log offset (how a link resumes; the server answers with a
 * snapshot instead when the log no longer holds that offset).
 */
export type StreamStart = { snapshot: true } | { from: number };

/**
 * The query string of a terminal socket's URL for `start`, with its `?` (empty for a snapshot
 * attach): `${base}/terminals/${id}${terminalQuery(start)}`. Shared by every Transport so the
 * socket URL means the same thing everywhere.
 */
export function terminalQuery(start: StreamStart): string {
  if ('from' in start) return `?from=${Math.max(0, Math.floor(start.from))}`;
  return '';
}

/**
 * Hands one text frame to `handle`. Two different failures, kept apart: a frame that is not JSON
 * is the server's (or a proxy's) and is skipped with a console warning, since the next resync
 * reloads the state anyway; an exception thrown by `handle` is the UI's own bug in a store or pane
 * and goes to `failed`, which shows it to the user. Wrapping both in one catch used to make every
 * UI bug on the event path vanish without a trace.
 */
export function deliverText<T>(text: string, handle: (value: T) => void, failed: (e: unknown) => void): void {
  let value: T;
  try {
    value = JSON.parse(text) as T;
  } catch {
    console.warn(`Grove: skipped a text frame that is not JSON: ${text.slice(0, 120)}`);
    return;
  }
  deliver(() => handle(value), failed);
}

/** Runs a socket handler; what it throws goes to `failed` instead of into the socket's callback. */
export function deliver(run: () => void, failed: (e: unknown) => void): void {
  try {
    run();
  } catch (e) {
    failed(e);
  }
}

export interface TerminalSocketHandlers {
  /** A server text frame (`hello`, `resync`, `exit`, `restarted`, `error`). */
  frame(frame: ServerFrame): void;
  /** Raw PTY bytes, exactly as the program wrote them. */
  data(bytes: Uint8Array): void;
  /** The socket ended; `clean` when this side closed it. */
  closed(info: { clean: boolean; code: number; reason: string }): void;
  /** One of the handlers above threw: a bug in the UI, for the user's error banner. */
  failed(e: unknown): void;
}

export interface TerminalSocket {
  input(data: string | Uint8Array): void;
  send(frame: ClientFrame): void;
  close(): void;
}

export interface EventHandlers {
  open(): void;
  event(ev: Event): void;
  closed(info: { code: number; reason: string }): void;
  /** One of the handlers above threw: a bug in the UI, for the user's error banner. */
  failed(e: unknown): void;
}

export interface Closable {
  close(): void;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface Transport {
  request<T>(method: Method, path: string, body?: unknown): Promise<T>;
  events(handlers: EventHandlers): Closable;
  terminal(id: number, start: StreamStart, handlers: TerminalSocketHandlers): TerminalSocket;
  /**
   * The same connection addressed to the remote server `name` through this server's relay: its
   * API base is `/api/v1/remotes/{name}/relay` instead of `/api/v1`, with the same token and
   * subprotocols (the relay adds the remote's own token). See `relayBase`.
   */
  relay(name: string): Transport;
}

/** The API base path of a server as seen from the UI's own server: `local` is the server itself. */
export function relayBase(name: string): string {
  return name === 'local' ? API_BASE : `${API_BASE}/remotes/${encodeURIComponent(name)}/relay`;
}

const API_BASE = '/api/v1';

const PROTOCOL = 'grove.v1';
const TOKEN_PREFIX = 'grove.token.';
const encoder = new TextEncoder();

/** The browser transport: fetch + native WebSocket against the page's own origin. */
export class BrowserTransport implements Transport {
  readonly #base: string;
  readonly #wsBase: string;
  readonly #token: string;
  readonly #origin: string;

  /** `base`: the API's path on `origin` (`/api/v1`, or a remote's relay; see `relayBase`). */
  constructor(token: string, origin: string = location.origin, base: string = API_BASE) {
    this.#token = token;
    this.#origin = origin;
    this.#base = `${origin}${base}`;
    this.#wsBase = `${origin.replace(/^http/, 'ws')}${base}`;
  }

  relay(name: string): Transport {
    return new BrowserTransport(this.#token, this.#origin, relayBase(name));
  }

  async request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.#base + path, {
        method,
        headers: {
          Authorization: `Bearer ${this.#token}`,
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new RequestError(
        { code: 'internal', message: `Cannot reach the Grove server (${String(e)}).` },
        0,
      );
    }
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // Not JSON: reported below as a plain message.
    }
    if (!res.ok) {
      if (isApiError(parsed)) throw new RequestError(parsed, res.status);
      throw new RequestError(
        { code: 'internal', message: `${method} ${path} failed: HTTP ${res.status} ${text.slice(0, 200)}` },
        res.status,
      );
    }
    return parsed as T;
  }

  events(handlers: EventHandlers): Closable {
    const ws = new WebSocket(`${this.#wsBase}/events`, this.#protocols());
    let closedByUs = false;
    const failed = (e: unknown) => handlers.failed(e);
    ws.onopen = () => deliver(() => handlers.open(), failed);
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') deliverText<Event>(m.data, (ev) => handlers.event(ev), failed);
    };
    ws.onclose = (e) => {
      if (!closedByUs) deliver(() => handlers.closed({ code: e.code, reason: e.reason }), failed);
    };
    return {
      close() {
        closedByUs = true;
        ws.close();
      },
    };
  }

  terminal(id: number, start: StreamStart, handlers: TerminalSocketHandlers): TerminalSocket {
    const ws = new WebSocket(`${this.#wsBase}/terminals/${id}${terminalQuery(start)}`, this.#protocols());
    ws.binaryType = 'arraybuffer';
    let closedByUs = false;
    const failed = (e: unknown) => handlers.failed(e);
    ws.onmessage = (m) => {
      if (typeof m.data === 'string') deliverText<ServerFrame>(m.data, (f) => handlers.frame(f), failed);
      else deliver(() => handlers.data(new Uint8Array(m.data as ArrayBuffer)), failed);
    };
    ws.onclose = (e) => deliver(() => handlers.closed({ clean: closedByUs, code: e.code, reason: e.reason }), failed);
    const sendRaw = (d: string | Uint8Array) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(d);
    };
    return {
      input(data) {
        sendRaw(typeof data === 'string' ? encoder.encode(data) : data);
      },
      send(frame) {
        sendRaw(JSON.stringify(frame));
      },
      close() {
        closedByUs = true;
        ws.close();
      },
    };
  }

  #protocols(): string[] {
    return [PROTOCOL, TOKEN_PREFIX + this.#token];
  }
}

export function isApiError(v: unknown): v is ApiError {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as ApiError).code === 'string' &&
    typeof (v as ApiError).message === 'string'
  );
}

/** A readable message for anything thrown. */
export function messageOf(e: unknown): string {
  if (e instanceof RequestError) return e.error.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
