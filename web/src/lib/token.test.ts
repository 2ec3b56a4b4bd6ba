import { describe, expect, it } from 'vitest';
import { takeToken, type TokenEnv } from './token';
import { actionFor, HELP } from './shortcuts';

function env(hash: string, stored: string | null = null) {
  const store = new Map<string, string>();
  if (stored) store.set('grove.token', stored);
  const urls: string[] = [];
  const e: TokenEnv = {
    hash,
    pathAndSearch: '/',
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v) },
    replaceUrl: (u) => urls.push(u),
  };
  return { e, store, urls };
}

describe('takeToken', () => {
  it('takes the token from the fragment, stores it, and clears the address bar', () => {
    const { e, store, urls } = env('#token=abc123');
    expect(takeToken(e)).toBe('abc123');
    expect(store.get('grove.token')).toBe('abc123');
    expect(urls).toEqual(['/']);
  });
  it('falls back to session storage after a reload', () => {
    const { e, urls } = env('', 'stored');
    expect(takeToken(e)).toBe('stored');
    expect(urls).toEqual([]);
  });
  it('returns null without a token', () => {
    expect(takeToken(env('').e)).toBeNull();
  });
});

describe('shortcuts', () => {
  const key = (code: string, mods: Partial<{ ctrlKey: boolean; shiftKey: boolean; altKey: boolean; metaKey: boolean }> = {}, k = '') => ({
    key: k, code, ctrlKey: false, shiftKey: false, altKey: false, metaKey: false, ...mods,
  });
  it('maps Ctrl+Shift keys and leaves plain terminal keys alone', () => {
    expect(actionFor(key('KeyN', { ctrlKey: true, shiftKey: true }), false)).toEqual({ kind: 'new-session' });
    expect(actionFor(key('Digit3', { ctrlKey: true, shiftKey: true }), false)).toEqual({ kind: 'session', index: 2 });
    expect(actionFor(key('BracketRight', { ctrlKey: true, shiftKey: true }), false)).toEqual({ kind: 'next-session' });
    expect(actionFor(key('KeyC', { ctrlKey: true }), false)).toBeNull(); // Ctrl+C is the program's
    expect(actionFor(key('KeyW', { ctrlKey: true }), false)).toBeNull(); // Ctrl+W deletes a word
    expect(actionFor(key('F1', {}, 'F1'), false)).toEqual({ kind: 'help' });
    expect(actionFor(key('KeyD', { ctrlKey: true, shiftKey: true }), false)).toEqual({ kind: 'review' });
    expect(actionFor(key('KeyD', { ctrlKey: true }), false)).toBeNull(); // Ctrl+D is EOF in the pane
    expect(actionFor(key('ArrowDown', { ctrlKey: true, shiftKey: true }), false)).toEqual({ kind: 'review-file', delta: 1 });
    expect(actionFor(key('KeyE', { ctrlKey: true, shiftKey: true }), false)).toEqual({ kind: 'review-viewed-next' });
  });
  it('lists every shortcut kind in the F1 help, the review panel in its own section', () => {
    const all = HELP.flatMap((s) => s.entries.map((e) => e.keys));
    expect(all).toContain('Ctrl+Shift+D');
    expect(HELP.map((s) => s.section)).toContain('Review');
  });
});
