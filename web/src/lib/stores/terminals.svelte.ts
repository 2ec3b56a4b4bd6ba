// The live terminal panes: only visible panes exist. A pane registers here while mounted so the
// connection banner can count reconnecting panes, a reconnect of the events socket can resume
// every pane at once, and tests can read a terminal's buffer.

import type { Transport } from '../transport';
import type { ConnectionStore } from './connection.svelte';

export interface LivePane {
  readonly terminalId: number;
  /** The terminal's buffer as text (what the user sees plus scrollback). */
  text(): string;
  reconnectNow(): void;
  dispose(): void;
  readonly reconnecting: boolean;
}

export class TerminalStore {
  readonly transport: Transport;
  /** Ignore OSC 52 clipboard writes from programs unless the user allows them. */
  allowOsc52 = $state(false);
  /** Panes by terminal id; not reactive (xterm objects do not belong in proxies). */
  readonly panes = new Map<number, LivePane>();
  #connection: ConnectionStore;

  constructor(transport: Transport, connection: ConnectionStore) {
    this.transport = transport;
    this.#connection = connection;
  }

  register(p: LivePane): void {
    this.panes.set(p.terminalId, p);
    this.refreshReconnecting();
  }

  unregister(p: LivePane): void {
    if (this.panes.get(p.terminalId) === p) this.panes.delete(p.terminalId);
    this.refreshReconnecting();
  }

  refreshReconnecting(): void {
    let n = 0;
    for (const p of this.panes.values()) if (p.reconnecting) n++;
    this.#connection.reconnecting = n;
  }

  reconnectAll(): void {
    for (const p of this.panes.values()) if (p.reconnecting) p.reconnectNow();
  }

  disposeAll(): void {
    for (const p of [...this.panes.values()]) p.dispose();
    this.panes.clear();
  }
}
