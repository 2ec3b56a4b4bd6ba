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

export const FONT_FAMILY =
  '"JetBrains Mono", "Cascadia Mono", "SF Mono", Menlo, "DejaVu Sans Mono", "Liberation Mono", monospace';
