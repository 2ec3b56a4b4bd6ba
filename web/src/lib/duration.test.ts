import { describe, expect, it } from 'vitest';
import { badgeSince, shortDuration } from './duration.svelte';
import type { Session } from './wire/Session';
import type { TerminalInfo } from './wire/TerminalInfo';

const term = (id: number, kind: TerminalInfo['kind'], status: TerminalInfo['status'], since: number): TerminalInfo => ({
  id, session_id: 1, kind, command: 'codex', status, exit: null, rows: 24, cols: 80, log_end: 0, status_since: since,
});

const session = (terminals: TerminalInfo[]) => ({ id: 1, terminals }) as unknown as Session;

describe('durations', () => {
  it('are short', () => {
    expect(shortDuration(20_000)).toBe('<1 m');
    expect(shortDuration(3 * 60_000 + 5_000)).toBe('3 m');
    expect(shortDuration(2 * 3600_000)).toBe('2 h');
    expect(shortDuration(3 * 86_400_000)).toBe('3 d');
    expect(shortDuration(-5)).toBe('<1 m');
  });

  it('count from the earliest waiting terminal, or the idle agent', () => {
    const s = session([term(1, 'agent', 'running', 100), term(2, 'shell', 'needs_attention', 500), term(3, 'shell', 'needs_attention', 300)]);
    expect(badgeSince(s, { kind: 'attention' })).toBe(300);
    expect(badgeSince(session([term(1, 'agent', 'idle', 700), term(2, 'shell', 'idle', 100)]), { kind: 'idle' })).toBe(700);
    expect(badgeSince(s, { kind: 'running' })).toBeNull();
  });
});
