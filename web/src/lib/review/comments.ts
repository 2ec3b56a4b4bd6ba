// Review comments as the panel collects them: a selected line range of a diff turned into the
// `ReviewComment` the server types into the agent's terminal (`path:line` and the quoted lines).

import type { ReviewComment } from '../wire/ReviewComment';
import type { PatchHunk, PatchLine, Side } from './patch';

export interface LinePoint {
  side: Side;
  line: number;
}

export interface Selection {
  /** First line number (the new side's, or the old side's when only deleted lines are chosen). */
  line: number;
  end_line?: number;
  quote: string;
  /** The side `line` counts on: new, unless only removed lines are chosen. */
  side: Side;
  /** The hunks the selection touches, in patch order. */
  hunks: PatchHunk[];
}

function at(l: PatchLine, p: LinePoint): boolean {
  return (p.side === 'old' ? l.old : l.new) === p.line;
}

/**
 * What a selection from `a` to `b` (either order, either side) covers: the patch lines between
 * them in patch order. The quote is the lines' text; when the range mixes removed and added lines
 * each line keeps its diff marker (`-`, `+`, or a space), so the agent can tell old from new.
 * Null when neither end is a line the patch shows.
 */
export function selectionOf(hunks: PatchHunk[], a: LinePoint, b: LinePoint = a): Selection | null {
  const flat: { l: PatchLine; h: PatchHunk }[] = hunks.flatMap((h) => h.lines.map((l) => ({ l, h })));
  let i = flat.findIndex((x) => at(x.l, a));
  let j = flat.findIndex((x) => at(x.l, b));
  if (i < 0 && j < 0) return null;
  if (i < 0) i = j;
  if (j < 0) j = i;
  if (i > j) [i, j] = [j, i];
  const picked = flat.slice(i, j + 1);
  const lines = picked.map((x) => x.l);
  const mixed = lines.some((l) => l.kind === 'del') && lines.some((l) => l.kind !== 'del');
  const quote = lines
    .map((l) => {
      const text = l.text.replace(/\r$/, '');
      if (!mixed) return text;
      return (l.kind === 'add' ? '+' : l.kind === 'del' ? '-' : ' ') + text;
    })
    .join('\n');
  const news = lines.map((l) => l.new).filter((n): n is number => n !== null);
  const nums = news.length > 0 ? news : lines.map((l) => l.old).filter((n): n is number => n !== null);
  const first = nums[0] ?? a.line;
  const last = nums.at(-1) ?? first;
  const hunksHit = [...new Set(picked.map((x) => x.h))];
  const side: Side = news.length > 0 ? 'new' : 'old';
  return { line: first, ...(last !== first ? { end_line: last } : {}), quote, side, hunks: hunksHit };
}

/** `path:12` or `path:12-14`, how the panel and the agent see where a comment points. */
export function locationOf(c: Pick<ReviewComment, 'path' | 'line' | 'end_line'>): string {
  return c.end_line !== undefined && c.end_line !== c.line ? `${c.path}:${c.line}-${c.end_line}` : `${c.path}:${c.line}`;
}
