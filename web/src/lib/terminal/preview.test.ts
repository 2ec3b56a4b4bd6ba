import { describe, expect, it } from 'vitest';
import { keyText } from './preview';

const key = (key: string, mods: Partial<{ ctrlKey: boolean; shiftKey: boolean; altKey: boolean; metaKey: boolean; defaultPrevented: boolean }> = {}) =>
  keyText({ key, ctrlKey: false, shiftKey: false, altKey: false, metaKey: false, defaultPrevented: false, ...mods });

describe('keys typed into the first pane before xterm is there', () => {
  it('are the bytes a terminal sends for them', () => {
    expect(key('a')).toBe('a');
    expect(key('A', { shiftKey: true })).toBe('A');
    expect(key('Enter')).toBe('\r');
    expect(key('Backspace')).toBe('\x7f');
    expect(key('Tab')).toBe('\t');
    expect(key('Escape')).toBe('\x1b');
    expect(key('c', { ctrlKey: true })).toBe('\x03');
    expect(key('[', { ctrlKey: true })).toBe('\x1b');
    expect(key('b', { altKey: true })).toBe('\x1bb');
    expect(key(' ', { ctrlKey: true })).toBe('\x00');
  });

  it('leave alone what is not a terminal key, or depends on its modes', () => {
    expect(key('C', { ctrlKey: true, shiftKey: true })).toBeNull(); // copy
    expect(key('v', { metaKey: true })).toBeNull();
    expect(key('x', { defaultPrevented: true })).toBeNull(); // a shortcut took it
    expect(key('ArrowUp')).toBeNull(); // sent through xterm, which knows the cursor-key mode
    expect(key('Shift', { shiftKey: true })).toBeNull();
    expect(key('1', { ctrlKey: true })).toBeNull();
  });
});
