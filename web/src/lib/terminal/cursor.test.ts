import { describe, expect, it } from 'vitest';
import { ACK_EVERY, StreamCursor } from './cursor';

describe('StreamCursor', () => {
  it('acks once the emulator caught up, and not per chunk while writes queue', () => {
    const c = new StreamCursor();
    c.start(1000);
    const a = c.receive(100);
    const b = c.receive(200);
    expect(a.end).toBe(1100);
    expect(b.end).toBe(1300);
    // First write parsed, second still queued, far below ACK_EVERY: no ack yet.
    expect(c.parsedTo(a.end, a.epoch)).toBeNull();
    // Caught up: ack everything parsed.
    expect(c.parsedTo(b.end, b.epoch)).toBe(1300);
    expect(c.acked).toBe(1300);
  });

  it('acks at least every ACK_EVERY bytes under a continuous stream', () => {
    const c = new StreamCursor();
    c.start(0);
    const chunk = 16 * 1024;
    const acks: number[] = [];
    const queued = [];
    for (let i = 0; i < 64; i++) queued.push(c.receive(chunk));
    // The stream never drains (one more chunk always queued) until the very end.
    for (const q of queued) {
      const ack = c.parsedTo(q.end, q.epoch);
      if (ack !== null) acks.push(ack);
    }
    expect(acks.length).toBe(64 * chunk / ACK_EVERY);
    for (let i = 1; i < acks.length; i++) expect(acks[i]! - acks[i - 1]!).toBeLessThanOrEqual(ACK_EVERY);
    expect(acks.at(-1)).toBe(64 * chunk);
  });

  it('keeps unacked bytes below the server high watermark', () => {
    const c = new StreamCursor();
    c.start(0);
    let maxUnacked = 0;
    for (let i = 0; i < 1000; i++) {
      const q = c.receive(7000);
      c.receive(0); // another write queued behind, so only the threshold triggers acks
      c.parsedTo(q.end, q.epoch);
      maxUnacked = Math.max(maxUnacked, c.received - c.acked);
    }
    expect(maxUnacked).toBeLessThan(256 * 1024);
  });

  it('ignores callbacks from a previous stream', () => {
    const c = new StreamCursor();
    c.start(0);
    const old = c.receive(500);
    c.start(10_000); // reconnected
    expect(c.parsedTo(old.end, old.epoch)).toBeNull();
    expect(c.parsed).toBe(10_000);
    const now = c.receive(10);
    expect(c.parsedTo(now.end, now.epoch)).toBe(10_010);
  });
});
