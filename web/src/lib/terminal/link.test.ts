import { describe, expect, it } from 'vitest';
import { TerminalLink, type TerminalSink } from './link';
import type { StreamStart, TerminalSocket, TerminalSocketHandlers, Transport } from '../transport';
import type { ClientFrame } from '../wire/ClientFrame';
import type { TerminalInfo } from '../wire/TerminalInfo';

const info: TerminalInfo = {
  id: 7, session_id: 1, kind: 'agent', command: 'bash', status: 'running', exit: null, rows: 24, cols: 80, log_end: 0,
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

/** A sink that parses writes when told to, like xterm's async write queue. */
class QueueSink implements TerminalSink {
  queue: { bytes: Uint8Array; cb: () => void }[] = [];
  written: number[] = [];
  notices: string[] = [];
  write(bytes: Uint8Array, cb: () => void) {
    this.queue.push({ bytes, cb });
  }
  notice(t: string) {
    this.notices.push(t);
  }
  drain() {
    for (const q of this.queue.splice(0)) {
      this.written.push(...q.bytes);
      q.cb();
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

const acks = (sent: (ClientFrame | Uint8Array)[]) =>
  sent.flatMap((f) => (!(f instanceof Uint8Array) && f.type === 'ack' ? [f.offset] : []));

describe('TerminalLink', () => {
  it('attaches with a tail, acks parsed bytes, and sends its size once live', () => {
    const t = new FakeTransport();
    const sink = new QueueSink();
    const link = new TerminalLink(t, 7, sink, { start: { tail: 4096 } });
    link.resize(30, 100);
    const s = t.opened[0]!;
    expect(s.start).toEqual({ tail: 4096 });
    s.h.frame({ type: 'hello', offset: 500, terminal: info });
    expect(s.sent).toContainEqual({ type: 'resize', rows: 30, cols: 100 });
    s.h.data(new Uint8Array([104, 105]));
    expect(acks(s.sent)).toEqual([]); // received, not parsed yet
    sink.drain();
    expect(acks(s.sent)).toEqual([502]);
    expect(sink.written).toEqual([104, 105]);
  });

  it('resumes from the exact offset after a dropped connection, with backoff', () => {
    const t = new FakeTransport();
    const sink = new QueueSink();
    const tm = timers();
    const states: string[] = [];
    const link = new TerminalLink(t, 7, sink, {
      start: { tail: 100 },
      backoff: [10, 20],
      setTimer: tm.setTimer,
      clearTimer: tm.clearTimer,
      onState: (s) => states.push(s),
    });
    const first = t.opened[0]!;
    first.h.frame({ type: 'hello', offset: 1000, terminal: info });
    first.h.data(new Uint8Array(300));
    first.h.closed({ clean: false, code: 1006, reason: '' });
    expect(link.state).toBe('reconnecting');
    expect(tm.fire()).toBe(10);
    const second = t.opened[1]!;
    expect(second.start).toEqual({ from: 1300 });
    // The second attempt fails before hello: backoff grows, resume point stays.
    second.h.closed({ clean: false, code: 1006, reason: '' });
    expect(tm.fire()).toBe(20);
    const third = t.opened[2]!;
    expect(third.start).toEqual({ from: 1300 });
    third.h.frame({ type: 'hello', offset: 1300, terminal: info });
    expect(link.state).toBe('live');
    expect(states).toEqual(['live', 'reconnecting', 'live']);
    expect(sink.notices).toEqual([]);
    // Late parse callbacks of the first socket never ack on the new one.
    sink.drain();
    expect(acks(third.sent)).toEqual([]);
  });

  it('says so when output was lost while disconnected', () => {
    const t = new FakeTransport();
    const sink = new QueueSink();
    const tm = timers();
    new TerminalLink(t, 7, sink, { start: { tail: 0 }, setTimer: tm.setTimer, clearTimer: tm.clearTimer });
    t.opened[0]!.h.frame({ type: 'hello', offset: 10, terminal: info });
    t.opened[0]!.h.closed({ clean: false, code: 1006, reason: '' });
    tm.fire();
    t.opened[1]!.h.frame({ type: 'hello', offset: 50, terminal: info });
    expect(sink.notices.length).toBe(1);
  });

  it('does not reconnect after dispose', () => {
    const t = new FakeTransport();
    const tm = timers();
    const link = new TerminalLink(t, 7, new QueueSink(), { start: { tail: 0 }, setTimer: tm.setTimer, clearTimer: tm.clearTimer });
    link.dispose();
    expect(t.opened[0]!.closed).toBe(true);
    t.opened[0]!.h.closed({ clean: true, code: 1000, reason: '' });
    expect(tm.pending.length).toBe(0);
  });
});
