// A unified patch as the server sends it (git's format: a header, then `@@` hunks), read into
// hunks with line numbers on both sides. The diff renderer draws the patch; this is what the
// panel itself needs from it: the hunk a selected line belongs to (for a hunk revert, named by
// its header line exactly as the patch shows it) and the lines a comment quotes.

export type Side = 'old' | 'new';

export interface PatchLine {
  kind: 'context' | 'add' | 'del';
  text: string;
  /** Line number in the old file (absent for an added line). */
  old: number | null;
  /** Line number in the new file (absent for a deleted line). */
  new: number | null;
}

export interface PatchHunk {
  /** The `@@ -a,b +c,d @@ …` line exactly as the patch has it (what a hunk revert names). */
  header: string;
  oldStart: number;
  oldCount: number;
  newStart: number;
  newCount: number;
  lines: PatchLine[];
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** The hunks of a one-file patch; lines before the first `@@` (the git header) are skipped. */
export function parseHunks(patch: string): PatchHunk[] {
  const hunks: PatchHunk[] = [];
  let cur: PatchHunk | null = null;
  let oldNo = 0;
  let newNo = 0;
  const lines = patch.split('\n');
  // A patch ends with a newline: the empty string after it is not a line of the diff.
  if (lines.at(-1) === '') lines.pop();
  for (const raw of lines) {
    const m = HUNK.exec(raw);
    if (m) {
      cur = {
        header: raw.replace(/\r$/, ''),
        oldStart: Number(m[1]),
        oldCount: m[2] === undefined ? 1 : Number(m[2]),
        newStart: Number(m[3]),
        newCount: m[4] === undefined ? 1 : Number(m[4]),
        lines: [],
      };
      hunks.push(cur);
      oldNo = cur.oldStart;
      newNo = cur.newStart;
      continue;
    }
    if (!cur) continue;
    const mark = raw[0];
    const text = raw.slice(1);
    if (mark === ' ') {
      cur.lines.push({ kind: 'context', text, old: oldNo++, new: newNo++ });
    } else if (mark === '+') {
      cur.lines.push({ kind: 'add', text, old: null, new: newNo++ });
    } else if (mark === '-') {
      cur.lines.push({ kind: 'del', text, old: oldNo++, new: null });
    } else if (mark === '\\') {
      // "\ No newline at end of file" belongs to the line before it.
    } else if (raw === '') {
      // Some producers drop the space of an empty context line.
      cur.lines.push({ kind: 'context', text: '', old: oldNo++, new: newNo++ });
    } else {
      // Anything else ends the hunk (a second file's header).
      cur = null;
    }
  }
  return hunks;
}

function lineOn(l: PatchLine, side: Side): number | null {
  return side === 'old' ? l.old : l.new;
}

/** The hunk holding `line` of `side`, or null (a line outside every hunk is unchanged context
 *  the patch does not show). */
export function hunkAt(hunks: PatchHunk[], side: Side, line: number): PatchHunk | null {
  return hunks.find((h) => h.lines.some((l) => lineOn(l, side) === line)) ?? null;
}

/** The hunks that hold any line of `side` in `start..=end`, in patch order. */
export function hunksIn(hunks: PatchHunk[], side: Side, start: number, end: number): PatchHunk[] {
  const [lo, hi] = start <= end ? [start, end] : [end, start];
  return hunks.filter((h) =>
    h.lines.some((l) => {
      const n = lineOn(l, side);
      return n !== null && n >= lo && n <= hi;
    }),
  );
}
