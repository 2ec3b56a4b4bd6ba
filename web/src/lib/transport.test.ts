import { describe, expect, it, vi } from 'vitest';
import { deliverText, terminalQuery } from './transport';

describe('terminalQuery', () => {
  it('asks for a snapshot with no query at all', () => {
    expect(terminalQuery({ snapshot: true })).toBe('');
  });

  it('resumes from an exact offset, a whole non-negative number', () => {
    expect(terminalQuery({ from: 1300 })).toBe('?from=1300');
    expect(terminalQuery({ from: 12.7 })).toBe('?from=12');
    expect(terminalQuery({ from: -5 })).toBe('?from=0');
  });
});

describe('deliverText', () => {
  it('hands parsed frames to the handler', () => {
    const got: unknown[] = [];
    const failed = vi.fn();
    deliverText('{"type":"resync"}', (v) => got.push(v), failed);
    expect(got).toEqual([{ type: 'resync' }]);
    expect(failed).not.toHaveBeenCalled();
  });

  it('skips a frame that is not JSON without calling it a UI failure', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const handle = vi.fn();
    const failed = vi.fn();
    deliverText('not json{', handle, failed);
    expect(handle).not.toHaveBeenCalled();
    expect(failed).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledOnce();
    warn.mockRestore();
  });

  it('reports what the handler throws instead of swallowing it as a bad frame', () => {
    const failed = vi.fn();
    const bug = new TypeError("Cannot read properties of null (reading 'session_id')");
    deliverText('{"type":"terminal_updated","terminal":null}', () => {
      throw bug;
    }, failed);
    expect(failed).toHaveBeenCalledExactlyOnceWith(bug);
  });
});
