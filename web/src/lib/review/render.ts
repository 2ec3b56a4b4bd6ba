// The diff renderer: @pierre/diffs (vanilla `FileDiff`, Shiki highlighting). Only ever reached
// through a dynamic `import()` (see DiffView.svelte), so neither this library nor Shiki's
// grammars weigh on the main bundle or the first paint; they load when a diff is first shown.
//
// Why @pierre/diffs: it has a vanilla (framework-free) entry a Svelte component can drive, line
// selection for comments, unified and split layouts, folded unchanged runs between hunks, and it
// measured fastest on `diff_render` (scripts/bench-web diff_render).

import {
  FileDiff,
  VirtualizedFileDiff,
  Virtualizer,
  processFile,
  getFiletypeFromFileName,
  type FileDiffMetadata,
  type SelectedLineRange,
  type DiffLineAnnotation,
} from '@pierre/diffs';
import { getOrCreateWorkerPoolSingleton, type WorkerPoolManager } from '@pierre/diffs/worker';
// Vite builds the library's worker script into its own file and hands back its constructor.
import DiffsWorker from '@pierre/diffs/worker/worker.js?worker';
import type { LinePoint } from './comments';
import { highlightable } from './langs';

export type DiffStyle = 'unified' | 'split';

export interface DiffNote {
  point: LinePoint;
  text: string;
}

export interface DiffInput {
  patch: string;
  /** The file's path (names the file and picks the grammar). */
  path: string;
  style: DiffStyle;
  /** Collected comments shown under their lines. */
  notes: DiffNote[];
}

export interface DiffCallbacks {
  /** The user selected lines (clicked or dragged over line numbers), or cleared it (null). */
  onSelect(range: { from: LinePoint; to: LinePoint } | null): void;
}

export interface DiffHandle {
  update(input: DiffInput): void;
  clearSelection(): void;
  destroy(): void;
}

function point(line: number, side: SelectedLineRange['side']): LinePoint {
  return { side: side === 'deletions' ? 'old' : 'new', line };
}

/** The patch read by the renderer's own parser; throws on a patch it cannot read. */
function metadata(patch: string, path: string): FileDiffMetadata {
  const meta = processFile(patch, { cacheKey: `${path}\n${patch.length}\n${hash(patch)}`, throwOnError: true });
  if (!meta) throw new Error(`the diff of ${path} could not be read`);
  if (!meta.name) meta.name = path;
  // Grammars outside the curated set (langs.ts) are not shipped: such a file shows plain.
  if (!highlightable(getFiletypeFromFileName(path))) meta.lang = 'text';
  return meta;
}

/** A cheap string hash for the renderer's cache key (FNV-1a). */
function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16);
}

const THEME = 'github-dark-default';

/**
 * Highlighting runs in a Web Worker: tokenizing a 5,000-line file on the page's own thread held
 * it for over a second (`diff_render_longest_task`), and the terminal beside the diff is drawn
 * by that thread. Small diffs are still highlighted in place, where a round trip costs more. If
 * the worker cannot start, the library highlights on the main thread instead.
 */
let pool: WorkerPoolManager | null | undefined;
function workers(): WorkerPoolManager | undefined {
  if (pool === undefined) {
    try {
      pool = getOrCreateWorkerPoolSingleton({
        poolOptions: { workerFactory: () => new DiffsWorker(), poolSize: 1, mainThreadMaxCharacters: 20_000 },
        highlighterOptions: { theme: THEME, tokenizeMaxLineLength: 2000 },
      });
    } catch (e) {
      console.warn(`Grove: the diff highlighter's worker did not start; highlighting on the page instead (${String(e)})`);
      pool = null;
    }
  }
  return pool ?? undefined;
}

function noteElement(a: DiffLineAnnotation<string>): HTMLElement {
  const el = document.createElement('div');
  el.className = 'grove-diff-note';
  el.textContent = a.metadata;
  el.style.cssText =
    'margin: 4px 8px 4px 48px; padding: 4px 8px; border-left: 3px solid #6cb6ff; background: #161b22; color: #d1d7e0; font: 12px/1.4 system-ui, sans-serif; white-space: pre-wrap;';
  return el;
}

export interface MountOptions {
  /** The element that scrolls the diff: with it, only the rows in view are drawn. */
  scroller?: HTMLElement | null;
  /** Draw every row up front instead (what `diff_render` compares against). */
  full?: boolean;
}

export function mountDiff(container: HTMLElement, input: DiffInput, cb: DiffCallbacks, mount: MountOptions = {}): DiffHandle {
  const options = (style: DiffStyle) => ({
    diffStyle: style,
    theme: THEME,
    themeType: 'dark' as const,
    hunkSeparators: 'line-info' as const,
    lineDiffType: 'word' as const,
    overflow: 'scroll' as const,
    disableFileHeader: true,
    enableLineSelection: true,
    // Lines far apart fold into one separator that says how many lines it hides.
    collapsedContextThreshold: 8,
    // Very long lines are shown plain rather than tokenized (a minified file must not hang).
    tokenizeMaxLineLength: 2000,
    onLineSelected: (r: SelectedLineRange | null) => {
      cb.onSelect(r ? { from: point(r.start, r.side), to: point(r.end, r.endSide ?? r.side) } : null);
    },
    renderAnnotation: (a: DiffLineAnnotation<string>) => noteElement(a),
  });
  let current = input;
  let virtualizer: Virtualizer | null = null;
  let diff: FileDiff<string>;
  if (mount.scroller && !mount.full) {
    virtualizer = new Virtualizer();
    virtualizer.setup(mount.scroller, container);
    diff = new VirtualizedFileDiff<string>(options(input.style), virtualizer, undefined, workers());
  } else {
    diff = new FileDiff<string>(options(input.style), workers());
  }
  const annotations = (notes: DiffNote[]): DiffLineAnnotation<string>[] =>
    notes.map((n) => ({ side: n.point.side === 'old' ? 'deletions' : 'additions', lineNumber: n.point.line, metadata: n.text }));
  let meta = metadata(input.patch, input.path);
  diff.render({ fileDiff: meta, containerWrapper: container, lineAnnotations: annotations(input.notes) });
  return {
    update(next) {
      if (next.style !== current.style) diff.setOptions(options(next.style));
      if (next.patch !== current.patch || next.path !== current.path) meta = metadata(next.patch, next.path);
      current = next;
      diff.render({ fileDiff: meta, containerWrapper: container, lineAnnotations: annotations(next.notes), forceRender: true });
    },
    clearSelection() {
      diff.setSelectedLines(null);
    },
    destroy() {
      diff.cleanUp();
      virtualizer?.cleanUp();
      container.replaceChildren();
    },
  };
}
