// Terminal queries (device attributes, cursor position, mode and setting reports, color queries)
// are answered by the Grove server, from its own model of the screen: it answers whether or not a
// pane is attached, and exactly once however many are. xterm.js answers them too, so every
// attached pane would add its own reply to the program's input, and a program that reads one reply
// would find the rest as stray keystrokes. These parser hooks swallow the queries before xterm's
// built-in handlers see them. Everything else, including the *set* forms of the same sequences,
// falls through to xterm (a handler returning false lets the next, older handler run).
//
// Focus reports (CSI I / CSI O) stay with xterm: it sends them only while the program has enabled
// mode 1004, and only the pane knows when it gains focus.

import type { IDisposable, IParser } from '@xterm/xterm';

/** The part of xterm's parser API the hooks use (the same in @xterm/headless). */
export type ParserHooks = Pick<IParser, 'registerCsiHandler' | 'registerDcsHandler' | 'registerOscHandler'>;

type Params = (number | number[])[];

/** The first parameter, 0 when omitted (xterm reports an omitted parameter as 0). */
function first(params: Params): number {
  const p = params[0];
  return typeof p === 'number' ? p : (p?.[0] ?? 0);
}

/** `CSI Ps t` forms that ask for a report (window state, position, sizes, title); the rest act. */
const WINDOW_REPORTS = new Set([11, 13, 14, 15, 16, 18, 19, 20, 21]);

/**
 * OSC 4 is `index;spec` pairs. A spec of `?` asks for that color. A sequence that mixes sets and
 * queries is swallowed whole: answering twice can corrupt a program's input, while a dropped
 * palette change only looks wrong, and programs hardly ever mix the two in one sequence.
 */
function isIndexedColorQuery(data: string): boolean {
  return data.split(';').some((slot, i) => i % 2 === 1 && slot === '?');
}

/** OSC 10/11/12 take one spec per slot (fg, bg, cursor from the code on); `?` is a query. */
function isSpecialColorQuery(data: string): boolean {
  return data.split(';').includes('?');
}

/** Installs the hooks; disposing the result removes them. */
export function swallowQueries(parser: ParserHooks): IDisposable {
  const swallow = () => true;
  const hooks: IDisposable[] = [
    parser.registerCsiHandler({ final: 'c' }, swallow), // DA1: CSI c, CSI 0 c
    parser.registerCsiHandler({ prefix: '>', final: 'c' }, swallow), // DA2
    parser.registerCsiHandler({ prefix: '=', final: 'c' }, swallow), // DA3
    parser.registerCsiHandler({ final: 'n' }, swallow), // DSR: 5n status, 6n cursor position
    parser.registerCsiHandler({ prefix: '?', final: 'n' }, swallow), // DECDSR, DECXCPR (?6n)
    parser.registerCsiHandler({ intermediates: '$', final: 'p' }, swallow), // DECRQM (ANSI modes)
    parser.registerCsiHandler({ prefix: '?', intermediates: '$', final: 'p' }, swallow), // DECRQM (DEC modes)
    parser.registerCsiHandler({ prefix: '>', final: 'q' }, swallow), // XTVERSION
    // Kitty keyboard protocol: only `CSI ? u` is a query; `>`, `<` and `=` push, pop and set.
    parser.registerCsiHandler({ prefix: '?', final: 'u' }, swallow),
    // xterm itself drops a `CSI t` whose window option is off (all are, by default) before any
    // handler runs; this matters only if an option is ever turned on.
    parser.registerCsiHandler({ final: 't' }, (params) => WINDOW_REPORTS.has(first(params))),
    parser.registerDcsHandler({ intermediates: '$', final: 'q' }, swallow), // DECRQSS
    parser.registerOscHandler(4, isIndexedColorQuery),
    parser.registerOscHandler(10, isSpecialColorQuery),
    parser.registerOscHandler(11, isSpecialColorQuery),
    parser.registerOscHandler(12, isSpecialColorQuery),
  ];
  return {
    dispose() {
      for (const h of hooks.splice(0)) h.dispose();
    },
  };
}
