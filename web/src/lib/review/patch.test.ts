import { describe, expect, it } from 'vitest';
import { hunkAt, hunksIn, parseHunks } from './patch';
import { locationOf, selectionOf } from './comments';

// A patch as git prints it: a header, then two hunks, one with a function context after `@@`.
const PATCH = [
  'diff --git a/src/app.py b/src/app.py',
  'index 1111111..2222222 100644',
  '--- a/src/app.py',
  '+++ b/src/app.py',
  '@@ -1,3 +1,4 @@',
  ' import os',
  '-print("hello")',
  '+print("hello, world")',
  '+print("again")',
  ' x = 1',
  '@@ -20,4 +21,3 @@ def main():',
  '     a = 1',
  '-    b = 2',
  '     c = 3',
  '     return a',
  '\\ No newline at end of file',
  '',
].join('\n');

describe('parseHunks', () => {
  it('reads every hunk with its header exactly as the patch shows it and numbers both sides', () => {
    const h = parseHunks(PATCH);
    expect(h.map((x) => x.header)).toEqual(['@@ -1,3 +1,4 @@', '@@ -20,4 +21,3 @@ def main():']);
    expect(h[0]!.lines).toEqual([
      { kind: 'context', text: 'import os', old: 1, new: 1 },
      { kind: 'del', text: 'print("hello")', old: 2, new: null },
      { kind: 'add', text: 'print("hello, world")', old: null, new: 2 },
      { kind: 'add', text: 'print("again")', old: null, new: 3 },
      { kind: 'context', text: 'x = 1', old: 3, new: 4 },
    ]);
    // The "no newline" marker is not a line; numbering continues on both sides.
    expect(h[1]!.lines.map((l) => [l.old, l.new])).toEqual([[20, 21], [21, null], [22, 22], [23, 23]]);
  });

  it('takes counts of 1 when the header leaves them out, and a new file from 0', () => {
    const h = parseHunks('--- /dev/null\n+++ b/n.txt\n@@ -0,0 +1 @@\n+only\n');
    expect(h).toHaveLength(1);
    expect(h[0]).toMatchObject({ oldStart: 0, oldCount: 0, newStart: 1, newCount: 1 });
    expect(h[0]!.lines).toEqual([{ kind: 'add', text: 'only', old: null, new: 1 }]);
  });

  it('has no hunks for a patch without any (a mode change)', () => {
    expect(parseHunks('diff --git a/x b/x\nold mode 100644\nnew mode 100755\n')).toEqual([]);
  });

  it('keeps a CRLF line\'s carriage return in its text but not in the header', () => {
    const h = parseHunks('@@ -1 +1 @@\r\n-a\r\n+b\r\n');
    expect(h[0]!.header).toBe('@@ -1 +1 @@');
    expect(h[0]!.lines.map((l) => l.text)).toEqual(['a\r', 'b\r']);
  });
});

describe('hunkAt / hunksIn', () => {
  const h = parseHunks(PATCH);
  it('finds the hunk of a line on either side, or none outside the hunks', () => {
    expect(hunkAt(h, 'new', 3)?.header).toBe('@@ -1,3 +1,4 @@');
    expect(hunkAt(h, 'old', 21)?.header).toBe('@@ -20,4 +21,3 @@ def main():');
    expect(hunkAt(h, 'new', 10)).toBeNull();
  });
  it('lists the hunks a range touches, in order', () => {
    expect(hunksIn(h, 'new', 23, 2).map((x) => x.oldStart)).toEqual([1, 20]);
    expect(hunksIn(h, 'new', 5, 20)).toEqual([]);
  });
});

describe('selectionOf', () => {
  const h = parseHunks(PATCH);
  it('quotes added lines plainly with new-side numbers', () => {
    expect(selectionOf(h, { side: 'new', line: 3 }, { side: 'new', line: 2 })).toMatchObject({
      line: 2,
      end_line: 3,
      quote: 'print("hello, world")\nprint("again")',
    });
  });
  it('gives one line no end_line', () => {
    const s = selectionOf(h, { side: 'new', line: 4 });
    expect(s).toMatchObject({ line: 4, quote: 'x = 1' });
    expect(s).not.toHaveProperty('end_line');
  });
  it('marks each line when removed and added lines are mixed', () => {
    const s = selectionOf(h, { side: 'old', line: 2 }, { side: 'new', line: 2 });
    expect(s?.quote).toBe('-print("hello")\n+print("hello, world")');
    expect(s).toMatchObject({ line: 2 });
  });
  it('numbers a removed-only selection on the old side', () => {
    expect(selectionOf(h, { side: 'old', line: 21 })).toMatchObject({ line: 21, quote: '    b = 2', side: 'old' });
    expect(selectionOf(h, { side: 'new', line: 2 })?.side).toBe('new');
  });
  it('is null for lines the patch does not show', () => {
    expect(selectionOf(h, { side: 'new', line: 100 })).toBeNull();
  });
  it('names the hunks a selection spans', () => {
    const s = selectionOf(h, { side: 'new', line: 1 }, { side: 'new', line: 21 });
    expect(s?.hunks.map((x) => x.header)).toEqual(['@@ -1,3 +1,4 @@', '@@ -20,4 +21,3 @@ def main():']);
  });
});

describe('locationOf', () => {
  it('writes path:line or path:start-end', () => {
    expect(locationOf({ path: 'a/b.rs', line: 7 })).toBe('a/b.rs:7');
    expect(locationOf({ path: 'a/b.rs', line: 7, end_line: 9 })).toBe('a/b.rs:7-9');
    expect(locationOf({ path: 'a/b.rs', line: 7, end_line: 7 })).toBe('a/b.rs:7');
  });
});
