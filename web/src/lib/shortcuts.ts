// Keyboard shortcuts. All use Ctrl+Shift (or F1), which terminal programs do not receive as
// distinct keys anyway, so a shortcut never steals a key a program in the pane needs.

export type Action =
  | { kind: 'new-session' }
  | { kind: 'next-session' }
  | { kind: 'prev-session' }
  | { kind: 'session'; index: number }
  | { kind: 'new-terminal' }
  | { kind: 'close-pane' }
  | { kind: 'search' }
  | { kind: 'help' };

export interface KeyLike {
  key: string;
  code: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

/** The action for a key press, or null. `inTextField`: focus is in a form field (not a terminal). */
export function actionFor(e: KeyLike, inTextField: boolean): Action | null {
  if (e.key === 'F1' && !e.ctrlKey && !e.altKey && !e.metaKey) return { kind: 'help' };
  if (e.key === '?' && !e.ctrlKey && !e.altKey && !e.metaKey && !inTextField) {
    return null; // handled by the caller only when focus is on the page itself, not a terminal
  }
  if (!e.ctrlKey || !e.shiftKey || e.altKey || e.metaKey) return null;
  // `code` is layout-independent for digits and brackets (Shift changes `key`).
  const digit = /^Digit([1-9])$/.exec(e.code);
  if (digit) return { kind: 'session', index: Number(digit[1]) - 1 };
  switch (e.code) {
    case 'KeyN':
      return { kind: 'new-session' };
    case 'BracketRight':
      return { kind: 'next-session' };
    case 'BracketLeft':
      return { kind: 'prev-session' };
    case 'KeyT':
      return { kind: 'new-terminal' };
    case 'KeyW':
      return { kind: 'close-pane' };
    case 'KeyF':
      return { kind: 'search' };
    default:
      return null;
  }
}

export const HELP: { keys: string; what: string }[] = [
  { keys: 'Ctrl+Shift+N', what: 'New session' },
  { keys: 'Ctrl+Shift+] / [', what: 'Next / previous session' },
  { keys: 'Ctrl+Shift+1 … 9', what: 'Go to session 1 … 9' },
  { keys: 'Ctrl+Shift+T', what: 'New shell in this session' },
  { keys: 'Ctrl+Shift+W', what: 'Close this terminal (asks first while its program runs)' },
  { keys: 'Ctrl+Shift+F', what: 'Search in this terminal' },
  { keys: 'F1 (or ? outside a terminal)', what: 'This help' },
  { keys: 'Ctrl+Shift+C / V', what: 'Copy / paste in a terminal (or the usual mouse selection)' },
];
