import { describe, expect, it } from 'vitest';
import { Terminal } from '@xterm/headless';
import { swallowQueries } from './queries';

const ESC = '\x1b';
const CSI = `${ESC}[`;
const ST = `${ESC}\\`;

/**
 * xterm drops every `CSI t` whose window option is off before any handler sees it (the pane leaves
 * them all off). Turn them all on here so the `CSI t` hooks are really exercised, and so xterm
 * answers 18t in the control.
 */
const ALL_WINDOW_OPTIONS = Object.fromEntries(
  [
    'restoreWin', 'minimizeWin', 'setWinPosition', 'setWinSizePixels', 'raiseWin', 'lowerWin', 'refreshWin',
    'setWinSizeChars', 'maximizeWin', 'fullscreenWin', 'getWinState', 'getWinPosition', 'getWinSizePixels',
    'getScreenSizePixels', 'getCellSizePixels', 'getWinSizeChars', 'getScreenSizeChars', 'getIconTitle',
    'getWinTitle', 'pushTitle', 'popTitle', 'setWinLines',
  ].map((k) => [k, true]),
);

/**
 * A headless xterm with a probe handler for `seq`'s identifier registered *before* the hooks:
 * xterm tries the most recently added handler first, so the probe runs only when the hooks let
 * the sequence through, and then passes it on (returns false) to xterm's own handler.
 */
function terminal(hooks: boolean, probe: (t: Terminal, hit: () => void) => void) {
  const term = new Terminal({ cols: 80, rows: 24, allowProposedApi: true, windowOptions: ALL_WINDOW_OPTIONS });
  const answers: string[] = [];
  let reached = 0;
  term.onData((d) => answers.push(d));
  probe(term, () => reached++);
  if (hooks) swallowQueries(term.parser);
  return {
    answers,
    reached: () => reached,
    write: (s: string) => new Promise<void>((r) => term.write(s, r)),
  };
}

const csi = (id: { prefix?: string; intermediates?: string; final: string }) => (t: Terminal, hit: () => void) =>
  t.parser.registerCsiHandler(id, () => (hit(), false));
const dcs = (id: { intermediates?: string; final: string }) => (t: Terminal, hit: () => void) =>
  t.parser.registerDcsHandler(id, () => (hit(), false));
const osc = (code: number) => (t: Terminal, hit: () => void) => t.parser.registerOscHandler(code, () => (hit(), false));

interface Case {
  name: string;
  seq: string;
  probe: (t: Terminal, hit: () => void) => void;
  /** Whether xterm.js 6 (headless) answers it itself today; others are swallowed for later versions and the browser build. */
  answers: boolean;
}

const QUERIES: Case[] = [
  { name: 'DA1 (CSI c)', seq: `${CSI}c`, probe: csi({ final: 'c' }), answers: true },
  { name: 'DA1 (CSI 0 c)', seq: `${CSI}0c`, probe: csi({ final: 'c' }), answers: true },
  { name: 'DA2 (CSI > c)', seq: `${CSI}>c`, probe: csi({ prefix: '>', final: 'c' }), answers: true },
  { name: 'DA3 (CSI = c)', seq: `${CSI}=c`, probe: csi({ prefix: '=', final: 'c' }), answers: false },
  { name: 'DSR status (CSI 5 n)', seq: `${CSI}5n`, probe: csi({ final: 'n' }), answers: true },
  { name: 'DSR cursor position (CSI 6 n)', seq: `${CSI}6n`, probe: csi({ final: 'n' }), answers: true },
  { name: 'DECXCPR (CSI ? 6 n)', seq: `${CSI}?6n`, probe: csi({ prefix: '?', final: 'n' }), answers: true },
  { name: 'DECRQM ANSI (CSI 4 $ p)', seq: `${CSI}4$p`, probe: csi({ intermediates: '$', final: 'p' }), answers: true },
  { name: 'DECRQM DEC (CSI ? 25 $ p)', seq: `${CSI}?25$p`, probe: csi({ prefix: '?', intermediates: '$', final: 'p' }), answers: true },
  { name: 'XTVERSION (CSI > q)', seq: `${CSI}>q`, probe: csi({ prefix: '>', final: 'q' }), answers: false },
  { name: 'XTVERSION (CSI > 0 q)', seq: `${CSI}>0q`, probe: csi({ prefix: '>', final: 'q' }), answers: false },
  { name: 'kitty keyboard query (CSI ? u)', seq: `${CSI}?u`, probe: csi({ prefix: '?', final: 'u' }), answers: false },
  { name: 'DECRQSS SGR (DCS $ q m ST)', seq: `${ESC}P$qm${ST}`, probe: dcs({ intermediates: '$', final: 'q' }), answers: true },
  { name: 'DECRQSS DECSTBM (DCS $ q r ST)', seq: `${ESC}P$qr${ST}`, probe: dcs({ intermediates: '$', final: 'q' }), answers: true },
  { name: 'text area size in chars (CSI 18 t)', seq: `${CSI}18t`, probe: csi({ final: 't' }), answers: true },
  ...[11, 13, 14, 15, 16, 19, 20, 21].map((n) => ({
    name: `window report (CSI ${n} t)`,
    seq: `${CSI}${n}t`,
    probe: csi({ final: 't' }),
    answers: false,
  })),
  { name: 'window size in pixels (CSI 14 ; 2 t)', seq: `${CSI}14;2t`, probe: csi({ final: 't' }), answers: false },
  { name: 'palette color query (OSC 4 ; 1 ; ?)', seq: `${ESC}]4;1;?${ST}`, probe: osc(4), answers: false },
  { name: 'palette query after a set (OSC 4 ; 1 ; #ff0000 ; 2 ; ?)', seq: `${ESC}]4;1;#ff0000;2;?\x07`, probe: osc(4), answers: false },
  { name: 'foreground query (OSC 10 ; ?)', seq: `${ESC}]10;?\x07`, probe: osc(10), answers: false },
  { name: 'background query (OSC 11 ; ?)', seq: `${ESC}]11;?${ST}`, probe: osc(11), answers: false },
  { name: 'foreground and background query (OSC 10 ; ? ; ?)', seq: `${ESC}]10;?;?\x07`, probe: osc(10), answers: false },
  { name: 'cursor color query (OSC 12 ; ?)', seq: `${ESC}]12;?\x07`, probe: osc(12), answers: false },
];

/** Sequences that share an identifier with a query but act: they must reach xterm. */
const NOT_QUERIES: Omit<Case, 'answers'>[] = [
  { name: 'kitty keyboard push (CSI > 1 u)', seq: `${CSI}>1u`, probe: csi({ prefix: '>', final: 'u' }) },
  { name: 'kitty keyboard pop (CSI < u)', seq: `${CSI}<u`, probe: csi({ prefix: '<', final: 'u' }) },
  { name: 'kitty keyboard set (CSI = 1 ; 1 u)', seq: `${CSI}=1;1u`, probe: csi({ prefix: '=', final: 'u' }) },
  { name: 'restore cursor (CSI u)', seq: `${CSI}u`, probe: csi({ final: 'u' }) },
  { name: 'resize window (CSI 8 ; 30 ; 100 t)', seq: `${CSI}8;30;100t`, probe: csi({ final: 't' }) },
  { name: 'push title (CSI 22 ; 0 t)', seq: `${CSI}22;0t`, probe: csi({ final: 't' }) },
  { name: 'palette color set (OSC 4 ; 1 ; #ff0000)', seq: `${ESC}]4;1;#ff0000${ST}`, probe: osc(4) },
  { name: 'foreground set (OSC 10 ; rgb:ff/ff/ff)', seq: `${ESC}]10;rgb:ff/ff/ff\x07`, probe: osc(10) },
  { name: 'background set (OSC 11 ; #123456)', seq: `${ESC}]11;#123456\x07`, probe: osc(11) },
  { name: 'cursor color set (OSC 12 ; #00ff00)', seq: `${ESC}]12;#00ff00\x07`, probe: osc(12) },
];

describe('swallowQueries', () => {
  for (const q of QUERIES) {
    it(`swallows ${q.name}`, async () => {
      const without = terminal(false, q.probe);
      await without.write(q.seq);
      // Control: without the hooks the query reaches xterm's handler (and xterm answers it).
      expect(without.reached()).toBe(1);
      if (q.answers) expect(without.answers.join('')).not.toBe('');

      const withHooks = terminal(true, q.probe);
      await withHooks.write(q.seq);
      expect(withHooks.answers).toEqual([]);
      expect(withHooks.reached()).toBe(0);
    });
  }

  for (const s of NOT_QUERIES) {
    it(`lets ${s.name} through`, async () => {
      const t = terminal(true, s.probe);
      await t.write(s.seq);
      expect(t.reached()).toBe(1);
      expect(t.answers).toEqual([]);
    });
  }

  it('keeps the terminal working around swallowed queries', async () => {
    const term = new Terminal({ cols: 40, rows: 5, allowProposedApi: true });
    swallowQueries(term.parser);
    const answers: string[] = [];
    term.onData((d) => answers.push(d));
    await new Promise<void>((r) => term.write(`a${CSI}6nb${ESC}]11;?\x07c${CSI}>1ud${CSI}u`, r));
    expect(answers).toEqual([]);
    expect(term.buffer.active.getLine(0)?.translateToString(true)).toBe('abcd');
  });

  it('stops swallowing once disposed', async () => {
    const term = new Terminal({ cols: 40, rows: 5, allowProposedApi: true });
    const answers: string[] = [];
    term.onData((d) => answers.push(d));
    swallowQueries(term.parser).dispose();
    await new Promise<void>((r) => term.write(`${CSI}6n`, r));
    expect(answers).toEqual([`${CSI}1;1R`]);
  });
});
