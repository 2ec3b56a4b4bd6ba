import { describe, expect, it } from 'vitest';
import { groupByFolder, matches, statusMark } from './tree';
import { isViewed, readMarks, setViewed, viewedCount, writeMarks, type KeyValue } from './viewed';
import type { ChangedFile } from '../wire/ChangedFile';

function file(path: string, extra: Partial<ChangedFile> = {}): ChangedFile {
  return { path, old_path: null, status: 'modified', additions: 1, deletions: 0, binary: false, version: 'v1', ...extra };
}

describe('groupByFolder', () => {
  const files = [file('src/z.ts'), file('README.md'), file('src/lib/a.ts'), file('src/a.ts'), file('build.rs')];
  it('puts the root first, then folders in order, files by name', () => {
    expect(groupByFolder(files).map((g) => [g.folder, g.files.map((f) => f.path)])).toEqual([
      ['', ['README.md', 'build.rs']],
      ['src', ['src/a.ts', 'src/z.ts']],
      ['src/lib', ['src/lib/a.ts']],
    ]);
  });
  it('keeps only what the filter matches, every word, any case', () => {
    expect(groupByFolder(files, 'SRC a.ts').map((g) => g.files.map((f) => f.path))).toEqual([['src/a.ts'], ['src/lib/a.ts']]);
    expect(groupByFolder(files, 'nothing')).toEqual([]);
  });
  it('matches a rename by its old path too', () => {
    expect(matches(file('new/name.ts', { status: 'renamed', old_path: 'old/thing.ts' }), 'thing')).toBe(true);
  });
});

describe('statusMark', () => {
  it('names every status, binary included', () => {
    expect(statusMark(file('a', { status: 'added' }))).toEqual({ letter: 'A', word: 'added' });
    expect(statusMark(file('a', { status: 'type_changed' })).word).toBe('type changed');
    expect(statusMark(file('a', { status: 'submodule' })).letter).toBe('S');
    expect(statusMark(file('a', { binary: true }))).toEqual({ letter: 'B', word: 'binary, modified' });
    expect(statusMark(file('a', { binary: true, status: 'added' })).word).toBe('binary, added');
  });
});

class MapStore implements KeyValue {
  m = new Map<string, string>();
  getItem(k: string) {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string) {
    this.m.set(k, v);
  }
  removeItem(k: string) {
    this.m.delete(k);
  }
}

describe('viewed marks', () => {
  it('hold while the version is the one marked and reset when the file changes again', () => {
    const a = file('a.ts', { version: '10:1' });
    let marks = setViewed({}, a, true);
    expect(isViewed(marks, a)).toBe(true);
    const changed = { ...a, version: '12:2' };
    expect(isViewed(marks, changed)).toBe(false);
    marks = setViewed(marks, changed, true);
    expect(viewedCount(marks, [changed, file('b.ts')])).toBe(1);
    expect(isViewed(setViewed(marks, changed, false), changed)).toBe(false);
  });
  it('drop marks of files no longer changed when given the current list', () => {
    const marks = setViewed(setViewed({}, file('gone.ts'), true), file('a.ts'), true, [file('a.ts')]);
    expect(Object.keys(marks)).toEqual(['a.ts']);
  });
  it('persist per session and survive junk in storage', () => {
    const s = new MapStore();
    writeMarks(s, 3, { 'a.ts': 'v1' });
    expect(readMarks(s, 3)).toEqual({ 'a.ts': 'v1' });
    expect(readMarks(s, 4)).toEqual({});
    s.setItem('grove.viewed.5', '{not json');
    expect(readMarks(s, 5)).toEqual({});
    s.setItem('grove.viewed.6', '{"a": 1, "b": "v"}');
    expect(readMarks(s, 6)).toEqual({ b: 'v' });
    writeMarks(s, 3, {});
    expect(s.getItem('grove.viewed.3')).toBeNull();
  });
});
