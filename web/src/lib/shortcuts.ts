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
  | { kind: 'review' }
  | { kind: 'review-file'; delta: number }
  | { kind: 'review-viewed-next' }
  | { kind: 'servers' }
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
    case 'KeyD':
      return { kind: 'review' };
    case 'ArrowDown':
      return { kind: 'review-file', delta: 1 };
    case 'ArrowUp':
      return { kind: 'review-file', delta: -1 };
    case 'KeyE':
      return { kind: 'review-viewed-next' };
    case 'KeyS':
      return { kind: 'servers' };
    default:
      return null;
  }
}

/** One line of the F1 overlay. */
export interface HelpEntry {
  keys: string;
  what: string;
}

/** The F1 overlay: every shortcut, by where it applies. A new panel adds its own section here. */
export const HELP: { section: string; entries: HelpEntry[] }[] = [
  {
    section: 'Anywhere',
    entries: [
      { keys: 'Ctrl+Shift+N', what: 'New session (Enter in the dialog starts it with the suggested name)' },
      { keys: 'Ctrl+Shift+] / [', what: 'Next / previous session' },
      { keys: 'Ctrl+Shift+1 … 9', what: 'Go to session 1 … 9' },
      { keys: 'Ctrl+Shift+T', what: 'New shell in this session' },
      { keys: 'Ctrl+Shift+W', what: 'Close this terminal (asks first while its program runs)' },
      { keys: 'Ctrl+Shift+F', what: 'Search in this terminal' },
      { keys: 'Ctrl+Shift+D', what: 'Open / close the review panel (changes, diff, comments, commit)' },
      { keys: 'Ctrl+Shift+S', what: 'Servers: remote Grove hosts shown in this window (add, remove, state)' },
      { keys: 'F1 (or ? outside a terminal)', what: 'This help' },
    ],
  },
  {
    section: 'In a terminal',
    entries: [
      { keys: 'Ctrl+Shift+C / V', what: 'Copy / paste (or the usual mouse selection)' },
      { keys: 'Enter / Shift+Enter in search', what: 'Next / previous match; Escape closes the search' },
    ],
  },
  {
    section: 'Review',
    entries: [
      { keys: 'Ctrl+Shift+↓ / ↑', what: 'Next / previous file in the review panel' },
      { keys: 'Ctrl+Shift+E', what: 'Mark this file viewed and show the next one not viewed' },
      { keys: 'Click a line number; Shift+click or drag', what: 'Select a line or a range of the diff to comment on (or revert its hunk)' },
      { keys: 'Ctrl+Enter in the comment box', what: 'Add the comment to the list (Escape cancels the selection)' },
      { keys: 'Ctrl+Enter in the commit message', what: 'Commit' },
    ],
  },
  {
    section: 'Terminal tabs (focus a tab first)',
    entries: [
      { keys: '← / →, Home / End', what: 'Previous / next, first / last tab' },
      { keys: 'F2 (or double-click)', what: 'Rename the tab (empty: back to the program\'s name)' },
      { keys: 'Delete', what: 'Close the tab\'s terminal (asks first while its program runs)' },
    ],
  },
  {
    section: 'Dialogs',
    entries: [
      { keys: 'Escape', what: 'Close the dialog (shortcuts above wait while one is open)' },
      { keys: 'Tab / Shift+Tab', what: 'Move between its fields; focus stays in the dialog' },
    ],
  },
];
