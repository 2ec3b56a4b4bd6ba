// The live terminal panes: only visible panes exist. A pane registers here while mounted so the
// connection banner can count reconnecting panes, a reconnect of the events socket can resume
// every pane at once, panes let go of their streams while the page is hidden (a background tab,
// a window hidden to the tray or minimized), and tests can read a terminal's buffer.

import type { Transport } from '../transport';
import type { ConnectionStore } from './connection.svelte';
import type { FirstPane } from '../wire/FirstPane';

export interface LivePane {
  readonly terminalId: number;
  /** The terminal's buffer as text (what the user sees plus scrollback). */
  text(): string;
  reconnectNow(): void;
  /** Lets go of the stream (the page is hidden) / takes it up again from a snapshot. */
  detach(): void;
  attach(): void;
  dispose(): void;
  readonly reconnecting: boolean;
}

export class TerminalStore {
  readonly transport: Transport;
  /** Ignore OSC 52 clipboard writes from programs unless the user allows them. */
  allowOsc52 = $state(false);
  /** Whether closing a running shell asks first (agents always ask); kept in this browser. */
  askBeforeClosingShells = $state(readFlag(ASK_SHELLS_KEY, true));
  /** Panes by terminal id; not reactive (xterm objects do not belong in proxies). */
  readonly panes = new Map<number, LivePane>();
  /** The first pane's screen from the first state load, until that pane takes it. */
  #first: FirstPane | null = null;
  /** The page is hidden: panes hold no streams (see `XtermPane.detach`). */
  #hidden = false;
  #connection: ConnectionStore;
  /** The server these terminals run on (`local` or a remote's name). */
  readonly server: string;
  /** Whether that server is reachable: panes of a server that is not wait for it quietly (their
   *  own line says so) instead of counting in the "Reconnecting terminals" banner. */
  #serverUp: () => boolean;

  constructor(transport: Transport, connection: ConnectionStore, server = 'local', serverUp: () => boolean = () => true) {
    this.transport = transport;
    this.#connection = connection;
    this.server = server;
    this.#serverUp = serverUp;
  }

  setAskBeforeClosingShells(ask: boolean): void {
    this.askBeforeClosingShells = ask;
    writeFlag(ASK_SHELLS_KEY, ask);
  }

  /** Keeps the first pane's screen (from the state load) for the pane that shows it. */
  offerFirst(pane: FirstPane): void {
    if (this.panes.size === 0) this.#first = pane;
  }

  /**
   * The screen the first state load brought for `terminalId`, once: only the first pane shown
   * takes it (a later pane attaches with a fresh snapshot over its socket). Stale by the time it
   * is taken it would still be exact: the socket continues from its offset, or sends a fresh
   * snapshot when the log no longer holds it.
   */
  takeFirst(terminalId: number): FirstPane | null {
    const first = this.#first;
    this.#first = null;
    return first && first.terminal_id === terminalId ? first : null;
  }

  register(p: LivePane): void {
    this.panes.set(p.terminalId, p);
    // A pane shown while the page is hidden (a tray menu or a notification selected a session)
    // waits like the others.
    if (this.#hidden) p.detach();
    this.refreshReconnecting();
  }

  /** The page was hidden or shown again (`visibilitychange`). */
  setHidden(hidden: boolean): void {
    if (hidden === this.#hidden) return;
    this.#hidden = hidden;
    for (const p of this.panes.values()) {
      if (hidden) p.detach();
      else p.attach();
    }
    this.refreshReconnecting();
  }

  unregister(p: LivePane): void {
    if (this.panes.get(p.terminalId) === p) this.panes.delete(p.terminalId);
    this.refreshReconnecting();
  }

  refreshReconnecting(): void {
    let n = 0;
    if (this.#serverUp()) for (const p of this.panes.values()) if (p.reconnecting) n++;
    this.#connection.setReconnecting(this.server, n);
  }

  reconnectAll(): void {
    for (const p of this.panes.values()) if (p.reconnecting) p.reconnectNow();
  }

  disposeAll(): void {
    for (const p of [...this.panes.values()]) p.dispose();
    this.panes.clear();
    this.refreshReconnecting();
  }
}

const ASK_SHELLS_KEY = 'grove.askBeforeClosingShells';

function readFlag(key: string, fallback: boolean): boolean {
  try {
    const v = globalThis.localStorage?.getItem(key);
    return v === null || v === undefined ? fallback : v === 'true';
  } catch {
    return fallback; // storage disabled: the default each time
  }
}

function writeFlag(key: string, value: boolean): void {
  try {
    globalThis.localStorage?.setItem(key, String(value));
  } catch {
    // Storage disabled: the choice lasts until the page reloads.
  }
}
