import { describe, expect, it } from 'vitest';
import { TerminalStore, type LivePane } from './terminals.svelte';
import { ConnectionStore } from './connection.svelte';
import type { Transport } from '../transport';

const noTransport: Transport = {
  request: () => Promise.reject(new Error('offline')),
  events: () => ({ close() {} }),
  terminal: () => {
    throw new Error('offline');
  },
  relay: () => noTransport,
};

/** A pane that records whether it holds its stream. */
function pane(terminalId: number) {
  const p: LivePane & { attached: boolean } = {
    terminalId,
    attached: true,
    reconnecting: false,
    text: () => '',
    reconnectNow() {},
    detach() {
      p.attached = false;
    },
    attach() {
      p.attached = true;
    },
    dispose() {},
  };
  return p;
}

describe('TerminalStore while the page is hidden', () => {
  it('detaches every pane when hidden and re-attaches them when shown', () => {
    const store = new TerminalStore(noTransport, new ConnectionStore());
    const a = pane(1);
    const b = pane(2);
    store.register(a);
    store.register(b);
    store.setHidden(true);
    expect([a.attached, b.attached]).toEqual([false, false]);
    // A pane mounted while hidden (a notification selected its session) waits too.
    const c = pane(3);
    store.register(c);
    expect(c.attached).toBe(false);
    store.setHidden(false);
    expect([a.attached, b.attached, c.attached]).toEqual([true, true, true]);
  });
});
