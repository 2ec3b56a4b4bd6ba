// The servers this UI shows: its own ("local") and the remotes its server relays (issue 21). The
// list comes from `GET /remotes` and is kept current by `remote_changed` / `remote_removed` on
// the local events socket; adding and removing go through the local server's API, which keeps
// the remote's token (the UI never sees it again after the add form).

import type { Transport } from '../transport';
import type { Remote } from '../wire/Remote';
import type { RemoteState } from '../wire/RemoteState';
import type { AddRemoteRequest } from '../wire/AddRemoteRequest';

/** The name of the UI's own server; reserved, never a remote's. */
export const LOCAL = 'local';

/** What a remote's state means for its sessions, in words, and how loud it is. */
export interface StateView {
  label: string;
  /** `error`: refused, the user must act (shown red); `warn`: waiting or reconnecting. */
  level: 'ok' | 'warn' | 'error';
}

export const STATE_VIEW: Record<RemoteState, StateView> = {
  connecting: { label: 'connecting…', level: 'warn' },
  connected: { label: 'connected', level: 'ok' },
  offline: { label: 'offline — reconnecting', level: 'warn' },
  unauthorized: { label: 'wrong token', level: 'error' },
  fingerprint_mismatch: { label: 'REFUSED: certificate changed', level: 'error' },
  incompatible: { label: 'incompatible version', level: 'error' },
  host_key_unknown: { label: 'SSH host key unknown', level: 'error' },
  locked: { label: 'locked: unlock the vault', level: 'error' },
};

/** The remote's state and reason as one line (for a tooltip or under the header). */
export function stateLine(r: Remote): string {
  const v = STATE_VIEW[r.state];
  return r.detail ? `${v.label}: ${r.detail}` : v.label;
}

export class ServerStore {
  /** The remotes, by name. */
  list = $state<Remote[]>([]);
  #t: Transport;

  constructor(t: Transport) {
    this.#t = t;
  }

  /** The remotes in the sidebar's order (by name). */
  get sorted(): Remote[] {
    return [...this.list].sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Remote | undefined {
    return this.list.find((r) => r.name === name);
  }

  /** Whether `name`'s sessions can be used now: the local server always (its own outage is the
   *  connection banner's), a remote while connected. */
  connected(name: string): boolean {
    return name === LOCAL || this.get(name)?.state === 'connected';
  }

  async load(): Promise<Remote[]> {
    const list = await this.#t.request<Remote[]>('GET', '/remotes');
    this.list = list;
    return list;
  }

  async add(req: AddRemoteRequest): Promise<Remote> {
    const r = await this.#t.request<Remote>('POST', '/remotes', req);
    // The remote may have connected (and said so on the events socket) before this answer
    // arrived: the event is newer than the answer, so it is kept.
    const known = this.get(r.name);
    if (known) return known;
    this.upsert(r);
    return r;
  }

  async remove(name: string): Promise<void> {
    await this.#t.request<unknown>('DELETE', `/remotes/${encodeURIComponent(name)}`);
    this.removed(name);
  }

  /** Takes a remote's new state; returns its state before (`null`: it was not known). */
  upsert(r: Remote): RemoteState | null {
    const i = this.list.findIndex((x) => x.name === r.name);
    const before = i >= 0 ? this.list[i]!.state : null;
    if (i >= 0) this.list[i] = r;
    else this.list.push(r);
    return before;
  }

  removed(name: string): void {
    this.list = this.list.filter((r) => r.name !== name);
  }
}
