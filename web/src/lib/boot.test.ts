import { describe, expect, it } from 'vitest';
import { takeDesktopConnection } from './boot';

describe('takeDesktopConnection', () => {
  it('takes the connection the shell left and removes it from the page', () => {
    const w: Record<string, unknown> = { __GROVE_CONNECTION__: { url: 'http://127.0.0.1:4242', token: 't0k' } };
    expect(takeDesktopConnection(w)).toEqual({ url: 'http://127.0.0.1:4242', token: 't0k' });
    expect('__GROVE_CONNECTION__' in w).toBe(false);
    expect(takeDesktopConnection(w)).toBeNull();
  });
  it('ignores anything that is not a connection', () => {
    expect(takeDesktopConnection({ __GROVE_CONNECTION__: 'http://x' })).toBeNull();
    expect(takeDesktopConnection({ __GROVE_CONNECTION__: { url: 1, token: 't' } })).toBeNull();
  });
});
