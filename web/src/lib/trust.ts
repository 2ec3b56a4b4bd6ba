// What a repo's committed grove.toml would run, as lines a person can check, and how a changed
// file differs from the version approved last. Pure functions: the trust dialog renders them, the
// tests check them.

import type { RepoConfigView } from './wire/RepoConfigView';
import type { RepoTrust } from './wire/RepoTrust';

/** One thing the config does, in the order the dialog lists them. */
export interface ConfigLine {
  section: 'setup' | 'agent' | 'env' | 'copy';
  text: string;
}

/** Whether sessions of this repo wait for the user's approval. */
export function needsApproval(t: RepoTrust | undefined): boolean {
  return t?.state === 'untrusted' || t?.state === 'changed';
}

/** Every setup command, the agent, every env key and value, every copy pattern. */
export function configLines(c: RepoConfigView): ConfigLine[] {
  return [
    ...c.setup.map((text): ConfigLine => ({ section: 'setup', text })),
    ...(c.agent !== null ? [{ section: 'agent', text: c.agent } as ConfigLine] : []),
    ...envEntries(c).map(([k, v]): ConfigLine => ({ section: 'env', text: `${k}=${v}` })),
    ...c.copy.map((text): ConfigLine => ({ section: 'copy', text })),
  ];
}

/** The env entries sorted by key (the wire's map has no order worth showing). */
export function envEntries(c: RepoConfigView): [string, string][] {
  return Object.entries(c.env)
    .flatMap(([k, v]): [string, string][] => (v === undefined ? [] : [[k, v]]))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

export interface DiffLine {
  kind: 'same' | 'added' | 'removed';
  line: ConfigLine;
}

/**
 * The approved config against the current one, line by line (a longest common subsequence over
 * `section: text`, so a reordered setup shows as removed and added, since the order of setup
 * commands matters).
 */
export function configDiff(approved: RepoConfigView, current: RepoConfigView): DiffLine[] {
  const a = configLines(approved);
  const b = configLines(current);
  const key = (l: ConfigLine) => `${l.section}\u0000${l.text}`;
  // lcs[i][j]: the common length of a[i..] and b[j..].
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = key(a[i]!) === key(b[j]!) ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (key(a[i]!) === key(b[j]!)) {
      out.push({ kind: 'same', line: b[j]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      out.push({ kind: 'removed', line: a[i++]! });
    } else {
      out.push({ kind: 'added', line: b[j++]! });
    }
  }
  while (i < a.length) out.push({ kind: 'removed', line: a[i++]! });
  while (j < b.length) out.push({ kind: 'added', line: b[j++]! });
  return out;
}

export const SECTION_LABEL: Record<ConfigLine['section'], string> = {
  setup: 'setup',
  agent: 'agent',
  env: 'env',
  copy: 'copy',
};
