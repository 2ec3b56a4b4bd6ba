// The page's first lines: where the server is, and the first state load (with the first pane's
// screen) started at once, before the rest of the UI's code (xterm, Svelte, the components) is
// even fetched. That load and the server's work for it overlap the app chunk's parsing; see
// main.ts. Kept small and free of the UI's code on purpose.

import { BrowserTransport, RequestError } from './transport';
import { browserTokenEnv, takeToken } from './token';
import { markOnce } from './startup';
import type { UiState } from './wire/UiState';

/** Where the in-process server of the desktop app is (the shell's `connection`). */
export interface ServerConnection {
  url: string;
  token: string;
}

/**
 * The name under which the desktop shell's initialization script leaves the connection for the
 * page (see src-tauri's `main.rs`). Read once and deleted.
 */
const DESKTOP_CONNECTION = '__GROVE_CONNECTION__';

export interface Boot {
  /** Inside the desktop shell (Tauri). */
  desktop: boolean;
  /** The server's address and token; `null` in the desktop shell when the shell did not hand
   *  them over at load (the page then asks with the `connection` command), and a browser
   *  token of `null` when the page has none. */
  conn: { url: string | undefined; token: string | null } | null;
  /** The first state load, with the first pane's screen; `null` when it could not start. */
  state: Promise<UiState> | null;
}

/** Takes the desktop shell's connection from the global its initialization script set. */
export function takeDesktopConnection(w: Record<string, unknown>): ServerConnection | null {
  const c = w[DESKTOP_CONNECTION];
  delete w[DESKTOP_CONNECTION];
  if (typeof c !== 'object' || c === null) return null;
  const { url, token } = c as Record<string, unknown>;
  return typeof url === 'string' && typeof token === 'string' ? { url, token } : null;
}

/** The first state load: `GET /state?first_pane=true`. */
export function loadFirstState(token: string, origin?: string): Promise<UiState> {
  return new BrowserTransport(token, origin).request<UiState>('GET', '/state?first_pane=true');
}

export function boot(): Boot {
  const w = window as unknown as Record<string, unknown>;
  const desktop = '__TAURI_INTERNALS__' in w;
  let conn: Boot['conn'];
  if (desktop) {
    const c = takeDesktopConnection(w);
    conn = c ? { url: c.url, token: c.token } : null;
  } else {
    conn = { url: undefined, token: takeToken(browserTokenEnv()) };
  }
  if (conn) markOnce('connection');
  const state = conn?.token ? loadFirstState(conn.token, conn.url) : null;
  // Failures are handled where it is awaited; this only marks the answer's arrival (and keeps an
  // early failure from showing as unhandled).
  state?.then(
    () => markOnce('state'),
    (e: unknown) => e instanceof RequestError,
  );
  return { desktop, conn, state };
}
