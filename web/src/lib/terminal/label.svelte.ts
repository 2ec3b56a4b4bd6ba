// What a terminal tab is called: the program that runs, read from its command line, so that
// `env HOME=/x codex --yolo` is "codex", not "env". The user may rename a tab; that name is kept
// in this browser only (see `TabNames`).

/** Commands that run another command given after their own options. */
const WRAPPERS = new Set(['env', 'exec', 'nohup', 'nice', 'time', 'command', 'sudo', 'doas', 'stdbuf', 'setsid', 'npx', 'bunx', 'pnpx', 'uvx']);
/** Shells whose `-c STRING` runs STRING. */
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'fish', 'ksh']);
/** `pnpm dlx X`, `npm exec X`, `yarn dlx X`: the package manager runs X. */
const RUNNERS: Record<string, string[]> = { pnpm: ['dlx', 'exec'], npm: ['exec', 'x'], yarn: ['dlx', 'exec'], bun: ['x'] };
/** Wrapper options that take a value as the next word (`env -u NAME`, `nice -n 5`). */
const TAKES_VALUE = new Set(['-u', '--unset', '-C', '--chdir', '-n', '--adjustment', '-p', '--package', '-S', '--split-string']);

/** Splits a command line into words the way a POSIX shell would for simple commands: quotes
 *  and backslashes are honoured, anything fancier is taken literally. */
export function splitWords(command: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < command.length) word += command[++i];
      else word += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < command.length) {
      word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else if (c === ';' || c === '&' || c === '|') {
      // A list or pipeline: its first command is the one the tab is named for.
      break;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

const basename = (w: string) => w.split('/').filter(Boolean).pop() ?? w;
const isAssignment = (w: string) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(w);

/** The name of the program a command line runs, or null when there is none to find. */
export function programName(command: string, depth = 0): string | null {
  const words = splitWords(command);
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    if (isAssignment(w)) {
      i++;
      continue;
    }
    const name = basename(w);
    if (WRAPPERS.has(name)) {
      i++;
      // The wrapper's own options, and their values.
      while (i < words.length && (words[i]!.startsWith('-') || isAssignment(words[i]!))) {
        const opt = words[i]!;
        i += TAKES_VALUE.has(opt) ? 2 : 1;
        if (opt === '--') break;
      }
      continue;
    }
    if (SHELLS.has(name) && depth < 4) {
      // `-c`, also in a cluster such as `-lc`.
      const c = words.findIndex((x, j) => j > i && /^-[a-zA-Z]*c[a-zA-Z]*$/.test(x));
      const script = c >= 0 ? words[c + 1] : undefined;
      if (script !== undefined) return programName(script, depth + 1) ?? name;
      return name;
    }
    const runner = RUNNERS[name];
    if (runner && runner.includes(words[i + 1] ?? '')) {
      i += 2;
      while (i < words.length && words[i]!.startsWith('-')) i++;
      continue;
    }
    // `@scope/pkg@1.2` (npx's package form) is named for the package.
    return name.replace(/@[^@/]*$/, '') || name;
  }
  return null;
}

/** Tab names the user chose, by terminal id, kept in this browser's localStorage. */
export class TabNames {
  names = $state<Record<number, string>>({});
  #key: string;

  constructor(key = 'grove.tab-names') {
    this.#key = key;
    try {
      const raw = globalThis.localStorage?.getItem(key);
      if (raw) this.names = JSON.parse(raw) as Record<number, string>;
    } catch {
      // A corrupt or unavailable store only loses custom names.
    }
  }

  /** Sets (or, with a blank name, clears) the name of a terminal's tab. */
  set(terminalId: number, name: string): void {
    const n = name.trim();
    if (n) this.names[terminalId] = n.slice(0, 40);
    else delete this.names[terminalId];
    try {
      globalThis.localStorage?.setItem(this.#key, JSON.stringify(this.names));
    } catch {
      // Private mode or a full store: the name holds for this page only.
    }
  }
}
