import { describe, expect, it, vi } from 'vitest';
import { closeAsks, closeConfirmation } from './close';
import type { TerminalInfo } from './wire/TerminalInfo';

function term(over: Partial<TerminalInfo>): TerminalInfo {
  return { id: 1, session_id: 1, kind: 'shell', command: 'bash', status: 'running', exit: null, rows: 24, cols: 80, log_end: 0, status_since: 0, ...over };
}

describe('closing a terminal', () => {
  it('always asks for an agent, running or not, even when shells do not ask', () => {
    for (const status of ['running', 'idle', 'needs_attention', 'exited', 'ended_with_app'] as const) {
      expect(closeAsks(term({ kind: 'agent', status }), false)).toBe(true);
    }
  });

  it('asks for a running shell unless the user said not to', () => {
    for (const status of ['running', 'idle', 'needs_attention'] as const) {
      expect(closeAsks(term({ status }), true)).toBe(true);
      expect(closeAsks(term({ status }), false)).toBe(false);
    }
  });

  it('closes a shell whose program ended at once', () => {
    expect(closeAsks(term({ status: 'exited', exit: { code: 0, signal: null } }), true)).toBe(false);
    expect(closeAsks(term({ status: 'ended_with_app' }), true)).toBe(false);
  });

  it('offers "don\'t ask again" for shells only', () => {
    const never = vi.fn();
    const shell = closeConfirmation(term({}), async () => {}, never);
    expect(shell.option?.label).toMatch(/don't ask again for shells/i);
    shell.option?.chosen();
    expect(never).toHaveBeenCalledOnce();
    expect(closeConfirmation(term({ kind: 'agent', command: 'claude' }), async () => {}, never).option).toBeUndefined();
  });
});
