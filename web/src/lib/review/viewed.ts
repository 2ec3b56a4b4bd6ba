// "Viewed" marks of the review panel: per session, `{path: version}` kept in the browser's
// storage. A file counts as viewed only while its current `version` equals the one stored when
// it was marked, so a file the agent changes again comes back unviewed.

import type { ChangedFile } from '../wire/ChangedFile';

/** The part of `Storage` the marks use (localStorage in the app, a map in tests). */
export interface KeyValue {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export function viewedKey(sessionId: number): string {
  return `grove.viewed.${sessionId}`;
}

/** Reads a session's marks; anything unreadable counts as none (marks are a convenience). */
export function readMarks(store: KeyValue, sessionId: number): Record<string, string> {
  try {
    const raw = store.getItem(viewedKey(sessionId));
    const v: unknown = raw ? JSON.parse(raw) : {};
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return {};
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) if (typeof val === 'string') out[k] = val;
    return out;
  } catch {
    return {};
  }
}

export function writeMarks(store: KeyValue, sessionId: number, marks: Record<string, string>): void {
  try {
    if (Object.keys(marks).length === 0) store.removeItem(viewedKey(sessionId));
    else store.setItem(viewedKey(sessionId), JSON.stringify(marks));
  } catch {
    // A full or disabled storage loses the marks of this page only.
  }
}

export function isViewed(marks: Record<string, string>, file: ChangedFile): boolean {
  return marks[file.path] === file.version;
}

/** The marks after checking or unchecking `file`; marks of files no longer changed are
 *  dropped when `current` is given, so storage does not grow with every file ever viewed. */
export function setViewed(
  marks: Record<string, string>,
  file: ChangedFile,
  viewed: boolean,
  current?: ChangedFile[],
): Record<string, string> {
  const next: Record<string, string> = {};
  const keep = current ? new Set(current.map((f) => f.path)) : null;
  for (const [k, v] of Object.entries(marks)) if (!keep || keep.has(k)) next[k] = v;
  if (viewed) next[file.path] = file.version;
  else delete next[file.path];
  return next;
}

/** How many of `files` are viewed. */
export function viewedCount(marks: Record<string, string>, files: ChangedFile[]): number {
  return files.filter((f) => isViewed(marks, f)).length;
}
