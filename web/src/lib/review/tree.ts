// The review panel's file list: changed files filtered by a query and grouped by folder.

import type { ChangedFile } from '../wire/ChangedFile';
import type { ChangeStatus } from '../wire/ChangeStatus';

export interface FolderGroup {
  /** The folder, `/`-separated without a trailing slash; '' for the worktree's root. */
  folder: string;
  files: ChangedFile[];
}

/** The folder part of a path ('' at the root). */
export function folderOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** The file name part of a path. */
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Whether a file matches the filter box: every word of the query appears in its path (or its
 *  old path, for a rename), ignoring case. */
export function matches(file: ChangedFile, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const hay = `${file.path}\n${file.old_path ?? ''}`.toLowerCase();
  return words.every((w) => hay.includes(w));
}

/** The files that match `query`, grouped by folder: the root first, then folders in path
 *  order, files by name inside each. */
export function groupByFolder(files: ChangedFile[], query = ''): FolderGroup[] {
  const byFolder = new Map<string, ChangedFile[]>();
  for (const f of files) {
    if (!matches(f, query)) continue;
    const dir = folderOf(f.path);
    let list = byFolder.get(dir);
    if (!list) byFolder.set(dir, (list = []));
    list.push(f);
  }
  return [...byFolder.entries()]
    .sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0))
    .map(([folder, list]) => ({
      folder,
      files: list.sort((x, y) => (baseName(x.path) < baseName(y.path) ? -1 : baseName(x.path) > baseName(y.path) ? 1 : 0)),
    }));
}

/** A one-letter mark and a word for a file's status, as the list shows them. */
export function statusMark(file: ChangedFile): { letter: string; word: string } {
  if (file.binary && file.status === 'modified') return { letter: 'B', word: 'binary, modified' };
  const words: Record<ChangeStatus, [string, string]> = {
    added: ['A', 'added'],
    modified: ['M', 'modified'],
    deleted: ['D', 'deleted'],
    renamed: ['R', 'renamed'],
    type_changed: ['T', 'type changed'],
    submodule: ['S', 'submodule'],
  };
  const [letter, word] = words[file.status];
  return { letter, word: file.binary ? `binary, ${word}` : word };
}
