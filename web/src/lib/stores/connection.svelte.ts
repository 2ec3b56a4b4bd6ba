// Whether the server is reachable, and the messages the user must see (errors never go only to
// the console).

export type ServerState = 'connecting' | 'up' | 'down' | 'unauthorized';

export interface Message {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

export class ConnectionStore {
  server = $state<ServerState>('connecting');
  /** Panes currently reconnecting their terminal stream, per server (see `TerminalStore`). */
  reconnectingBy = $state<Record<string, number>>({});
  messages = $state<Message[]>([]);
  #next = 1;

  /** Panes currently reconnecting their terminal stream, on every server. */
  get reconnecting(): number {
    let n = 0;
    for (const k in this.reconnectingBy) n += this.reconnectingBy[k] ?? 0;
    return n;
  }

  setReconnecting(server: string, n: number): void {
    if ((this.reconnectingBy[server] ?? 0) !== n) this.reconnectingBy[server] = n;
  }

  get banner(): string | null {
    if (this.server === 'unauthorized') {
      return 'The launch token is missing or wrong. Open the URL that `grove serve` printed (it ends in #token=…).';
    }
    if (this.server === 'down') return 'Connection to the Grove server lost — reconnecting…';
    if (this.reconnecting > 0) return 'Reconnecting terminals…';
    return null;
  }

  error(text: string): number {
    return this.#push('error', text);
  }

  info(text: string): number {
    return this.#push('info', text);
  }

  dismiss(id: number): void {
    this.messages = this.messages.filter((m) => m.id !== id);
  }

  #push(kind: Message['kind'], text: string): number {
    const id = this.#next++;
    // Keep the list short: the newest five.
    this.messages = [...this.messages.slice(-4), { id, kind, text }];
    return id;
  }
}
