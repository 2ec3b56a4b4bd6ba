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
  /** Panes currently reconnecting their terminal stream. */
  reconnecting = $state(0);
  messages = $state<Message[]>([]);
  #next = 1;

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
