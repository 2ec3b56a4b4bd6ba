import { describe, expect, it } from 'vitest';
import { TerminalLink, type TerminalSink } from './link';
import type { StreamStart, TerminalSocket, TerminalSocketHandlers, Transport } from '../transport';
import type { ClientFrame } from '../wire/ClientFrame';
import type { TerminalInfo } from '../wire/TerminalInfo';
import type { ScreenSnapshot } from '../wire/ScreenSnapshot';

const info: TerminalInfo = {
  id: 7, session_id: 1, kind: 'agent', command: 'bash', status: 'running', exit: null, rows: 24, cols: 80, log_end: 0, status_since: 0,
};

/** A transport whose sockets the test drives by hand. */
class FakeTransport implements Transport {
  opened: { start: StreamStart; h: TerminalSocketHandlers; sent: (ClientFrame | Uint8Array)[]; closed: boolean }[] = [];
  request<T>(): Promise<T> {
    return Promise.reject(new Error('not used'));
  }
  events() {
    return { close() {} };
  }
  relay(): Transport {
    return this;
  }
  terminal(_id: number, start: StreamStart, h: TerminalSocketHandlers): TerminalSocket {
    const s = { start, h, sent: [] as (ClientFrame | Uint8Array)[], closed: false };
    this.opened.push(s);
    return {
      input: (d) => s.sent.push(typeof d === 'string' ? new TextEncoder().encode(d) : d),
      send: (f) => s.sent.push(f),
      close: () => {
        s.closed = true;
      },
    };
  }
}

/** A sink that parses writes when told to, like xterm's async write queue, in order. */
class QueueSink implements TerminalSink {
  queue: { text: string; cb?: () => void }[] = [];
  /** What the emulator parsed, in order: program output, or `<reset>` and a snapshot's data. */
  parsed: string[] = [];
  notices: string[] = [];
  write(bytes: Uint8Array, cb: () => void) {
    this.queue.push({ text: new TextDecoder().decode(bytes), cb });
  }
  snapshot(s: ScreenSnapshot) {
    this.queue.push({ text: `<reset>${s.data}` });
  }
  notice(t: string) {
    this.notices.push(t);
  }
  /** Parses the first `n` queued writes (all by default). */
  drain(n = this.queue.length) {
    for (const q of this.queue.splice(0, n)) {
      this.parsed.push(q.text);
      q.cb?.();
    }
  }
}

function timers() {
  const pending: { fn: () => void; ms: number }[] = [];
  return {
    pending,
    setTimer: (fn: () => void, ms: number) => {
      pending.push({ fn, ms });
      return pending.length;
    },
    clearTimer: () => {},
    fire() {
      const t = pending.shift();
      t?.fn();
      return t?.ms;
    },
  };
}

const snap = (data: string): ScreenSnapshot => ({ cols: 80, rows: 24, data });
const bytes = (text: string) => new TextEncoder().encode(text);

const acks = (sent: (ClientFrame | Uint8Array)[]) =>
  sent.flatMap((f) => (!(f instanceof Uint8Array) && f.type === 'ack' ? [f.offset] : []));

describe('TerminalLink', () => {
  it('attaches with a snapshot, draws it before the live bytes, and acks log offsets', () => {
    const t = new FakeTransport();
    const sink = new QueueSink();
    const link = new TerminalLink(t, 7, sink, { start: { snapshot: true } });
    link.resize(30, 100);
    const s = t.opened[0]!;
    expect(s.start).toEqual({ snapshot: true });
    s.h.frame({ type: 'hello', offset: 500, terminal: info, snapshot: snap('\x1b[2J$ screen') });
    expect(s.sent).toContainEqual({ type: 'resize', rows: 30, cols: 100 });
    s.h.data(bytes('hi'));
    expect(acks(s.sent)).toEqual([]); // received, not parsed yet
    sink.drain();
    expect(sink.parsed).toEqual(['<reset>\x1b[2J$ screen', 'hi']);
    // The snapshot is not part of the log: the ack counts the two live bytes after offset 500.
    expect(acks(s.sent)).toEqual([502]);
    expect(link.cursor.received).toBe(502);
    expect(sink.notices).toEqual([]);
  });

  it('attaches without a reset when the server has no snapshot for the terminal', () => {
    const t = new FakeTransport();
    const sink = new QueueSink();
    new TerminalLink(t, 7, sink, { start: { snapshot: true } });
    const s = t.opened[0]!;
    s.h.frame({ type: 'hello', offset: 0, terminal: info, snapshot: null });
    s.h.data(bytes('$ '));
    sink.drain();
    expect(sink.parsed).toEqual(['$ ']);
    expect(acks(s.sent)).toEqual([2]);
  });

  it('on resync, draws the snapshot after the queued bytes and restarts acks at its offset', () => {
    const t = new FakeTransport();
    const sink = new QueueSink();
    const link = new TerminalLink(t, 7, sink, { start: { snapshot: true } });
    const s = t.opened[0]!;
    s.h.frame({ type: 'hello', offset: 1000, terminal: info, snapshot: snap('A') });
    s.h.data(bytes('old-1'));
    sink.drain(2); // the first snapshot and old-1 are parsed and acked
    expect(acks(s.sent)).toEqual([1005]);
    s.h.data(bytes('old-2')); // still queued when the resync arrives
    s.h.frame({ type: 'resync', offset: 90_000, snapshot: snap('B') });
    expect(link.cursor.received).toBe(90_000);
    // old-2 is parsed after the resync: its late callback acks nothing (1010 is before it).
    sink.drain(1);
    expect(acks(s.sent)).toEqual([1005]);
    s.h.data(bytes('new'));
    sink.drain();
    expect(sink.parsed).toEqual(['<reset>A', 'old-1', 'old-2', '<reset>B', 'new']);
    expect(acks(s.sent)).toEqual([1005, 90_003]);
    expect(sink.notices).toEqual([]);
  });

  it('resumes from the exact offset after a dropped connection, with backoff', () => {
    const t = new FakeTransport();
    const sink = new QueueSink();
    const tm = timers();
    const states: string[] = [];
    const link = new TerminalLink(t, 7, sink, {
      start: { snapshot: true },
      backoff: [10, 20],
      setTimer: tm.setTimer,
      clearTimer: tm.clearTimer,
      onState: (s) => states.push(s),
    });
    const first = t.opened[0]!;
    first.h.frame({ type: 'hello', offset: 1000, terminal: info, snapshot: snap('screen') });
    first.h.data(new Uint8Array(300));
    first.h.closed({ clean: false, code: 1006, reason: '' });
    expect(link.state).toBe('reconnecting');
    expect(tm.fire()).toBe(10);
    const second = t.opened[1]!;
    // Not another snapshot: the pane already shows everything before 1300.
    expect(second.start).toEqual({ from: 1300 });
    // The second attempt fails before hello: backoff grows, resume point stays.
    second.h.closed({ clean: false, code: 1006, reason: '' });
    expect(tm.fire()).toBe(20);
    const third = t.opened[2]!;
    expect(third.start).toEqual({ from: 1300 });
    third.h.frame({ type: 'hello', offset: 1300, terminal: info, snapshot: null });
    expect(link.state).toBe('live');
    expect(states).toEqual(['live', 'reconnecting', 'live']);
    expect(sink.notices).toEqual([]);
    // Late parse callbacks of the first socket never ack on the new one.
    sink.drain();
    expect(acks(third.sent)).toEqual([]);
    third.h.data(bytes('x'));
    sink.drain();
    expect(acks(third.sent)).toEqual([1301]);
  });

  it('attaches with a snapshot again when the first connection never got its hello', () => {
    const t = new FakeTransport();
    const tm = timers();
    new TerminalLink(t, 7, new QueueSink(), { start: { snapshot: true }, setTimer: tm.setTimer, clearTimer: tm.clearTimer });
    t.opened[0]!.h.closed({ clean: false, code: 1006, reason: '' });
    tm.fire();
    expect(t.opened[1]!.start).toEqual({ snapshot: true });
  });

  it('says so when output was lost while disconnected', () => {
    const t = new FakeTransport();
    const sink = new QueueSink();
    const tm = timers();
    new TerminalLink(t, 7, sink, { start: { snapshot: true }, setTimer: tm.setTimer, clearTimer: tm.clearTimer });
    t.opened[0]!.h.frame({ type: 'hello', offset: 10, terminal: info, snapshot: null });
    t.opened[0]!.h.closed({ clean: false, code: 1006, reason: '' });
    tm.fire();
    t.opened[1]!.h.frame({ type: 'hello', offset: 50, terminal: info, snapshot: null });
    expect(sink.notices.length).toBe(1);
  });

  it('says nothing was lost when a snapshot repairs the gap of a resume', () => {
    const t = new FakeTransport();
    const sink = new QueueSink();
    const tm = timers();
    new TerminalLink(t, 7, sink, { start: { snapshot: true }, setTimer: tm.setTimer, clearTimer: tm.clearTimer });
    t.opened[0]!.h.frame({ type: 'hello', offset: 10, terminal: info, snapshot: snap('one') });
    t.opened[0]!.h.data(bytes('abc'));
    t.opened[0]!.h.closed({ clean: false, code: 1006, reason: '' });
    tm.fire();
    const second = t.opened[1]!;
    expect(second.start).toEqual({ from: 13 });
    // The log no longer holds 13: the server answers with a snapshot at its current end.
    second.h.frame({ type: 'hello', offset: 7000, terminal: info, snapshot: snap('two') });
    second.h.data(bytes('de'));
    sink.drain();
    expect(sink.notices).toEqual([]);
    expect(sink.parsed).toEqual(['<reset>one', 'abc', '<reset>two', 'de']);
    expect(acks(second.sent)).toEqual([7002]);
  });

  it('does not reconnect after dispose', () => {
    const t = new FakeTransport();
    const tm = timers();
    const link = new TerminalLink(t, 7, new QueueSink(), { start: { snapshot: true }, setTimer: tm.setTimer, clearTimer: tm.clearTimer });
    link.dispose();
    expect(t.opened[0]!.closed).toBe(true);
    t.opened[0]!.h.closed({ clean: true, code: 1000, reason: '' });
    expect(tm.pending.length).toBe(0);
  });
});
