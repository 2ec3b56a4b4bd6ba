import type { ITheme } from '@xterm/xterm';

/** A dark theme close to common terminal defaults (readable ANSI colours on near-black). */
export const darkTheme: ITheme = {
  background: '#0d1117',
  foreground: '#d1d7e0',
  cursor: '#d1d7e0',
  cursorAccent: '#0d1117',
  selectionBackground: '#3b5070',
  black: '#1c2128',
  red: '#f47067',
  green: '#8ddb8c',
  yellow: '#e0c36a',
  blue: '#6cb6ff',
  magenta: '#dcbdfb',
  cyan: '#76e3ea',
  white: '#c9d1d9',
  brightBlack: '#636e7b',
  brightRed: '#ff938a',
  brightGreen: '#b4f1b4',
  brightYellow: '#f2d98b',
  brightBlue: '#96d0ff',
  brightMagenta: '#eedcff',
  brightCyan: '#b3f0ff',
  brightWhite: '#ffffff',
};

/**
 * The terminal's font stack for the platform of `userAgent`: JetBrains Mono when installed, then
 * the platform's own terminal fonts, then `monospace` (the user's fontconfig choice on Linux).
 * Only fonts that can exist there are named: every family named is looked up for every size and
 * weight drawn, and in WebKitGTK each lookup that misses still costs a fontconfig match (about a
 * millisecond each, on the first screen's critical path).
 */
export function terminalFontFamily(userAgent: string): string {
  if (/Mac OS X|Macintosh|iPhone|iPad/.test(userAgent)) return '"JetBrains Mono", "SF Mono", Menlo, monospace';
  if (/Windows/.test(userAgent)) return '"JetBrains Mono", "Cascadia Mono", Consolas, monospace';
  return '"JetBrains Mono", monospace';
}

/** The terminal's font: the panes' and the first screen's preview (see `preview.ts`). */
export function terminalFont(): { family: string; size: number; lineHeight: number } {
  return { family: terminalFontFamily(navigator.userAgent), size: 13, lineHeight: 1.1 };
}
