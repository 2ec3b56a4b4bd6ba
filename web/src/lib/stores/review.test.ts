import { describe, expect, it } from 'vitest';
import { ReviewStore } from './review.svelte';
import { RequestError, type Method, type Transport } from '../transport';
import type { ChangedFile } from '../wire/ChangedFile';
import type { KeyValue } from '../review/viewed';

function file(path: string, version = 'v1'): ChangedFile {
  return { path, old_path: null, status: 'modified', additions: 1, deletions: 1, binary: false, version };
}

/** A server stand-in that records requests and answers from `files`; `hold` delays answers. */
class FakeServer {
  files: ChangedFile[] = [];
  calls: string[] = [];
  bodies: unknown[] = [];
  fail: RequestError | null = null;
  held: (() => void)[] = [];
  hold = false;
  transport: Transport = {
    request: <T>(method: Method, path: string, body?: unknown): Promise<T> => {
      this.calls.push(`${method} ${path}`);
      this.bodies.push(body);
      const answer = (): T => {
        if (this.fail && method === 'POST') throw this.fail;
        if (path.includes('/changes')) return { files: this.files } as T;
        if (path.includes('/diff')) {
          const p = new URL(`http://x${path}`).searchParams.get('path');
          const f = this.files.find((x) => x.path === p);
          return { files: f ? [{ file: f, content: { kind: 'text', patch: `@@ -1 +1 @@\n-a\n+${f.version}\n` } }] : [] } as T;
        }
        if (path.endsWith('/comments')) return { terminal_id: 7, text: 'x' } as T;
        if (path.endsWith('/revert')) return { undo_id: 'u1', paths: [] } as T;
        return {} as T;
      };
      if (!this.hold) return Promise.resolve().then(answer);
      return new Promise<T>((res, rej) => this.held.push(() => { try { res(answer()); } catch (e) { rej(e); } }));
    },
    events: () => ({ close() {} }),
    terminal: () => {
      throw new Error('no terminals here');
    },
    relay: () => {
      throw new Error('no remotes here');
    },
  };
  release() {
    const h = this.held;
    this.held = [];
    for (const f of h) f();
  }
}

const settle = () => new Promise((r) => setTimeout(r, 0));
const count = (s: FakeServer, what: string) => s.calls.filter((c) => c.includes(what)).length;

describe('ReviewStore', () => {
  it('loads when opened, selects the first file and fetches its diff; no fetch while closed', async () => {
    const srv = new FakeServer();
    srv.files = [file('a.ts'), file('b.ts')];
    const r = new ReviewStore(srv.transport, 1, null);
    r.changed(['a.ts'], false);
    await settle();
    expect(srv.calls).toEqual([]);
    r.open();
    await settle();
    await settle();
    expect(r.files.map((f) => f.path)).toEqual(['a.ts', 'b.ts']);
    expect(r.selectedPath).toBe('a.ts');
    expect(r.diff?.file.path).toBe('a.ts');
    expect(srv.calls[0]).toBe('GET /sessions/1/changes?scope=base');
  });

  it('coalesces a burst of change events into one more list load, and refetches the diff whose version moved', async () => {
    const srv = new FakeServer();
    srv.files = [file('a.ts')];
    const r = new ReviewStore(srv.transport, 1, null);
    r.open();
    await settle();
    await settle();
    const before = count(srv, '/changes');
    srv.hold = true;
    srv.files = [file('a.ts', 'v2')];
    for (let i = 0; i < 20; i++) r.changed(['other.ts'], false);
    srv.release();
    await settle();
    srv.release();
    await settle();
    srv.release();
    await settle();
    srv.release();
    await settle();
    expect(count(srv, '/changes') - before).toBe(2);
    expect(r.diff?.file.version).toBe('v2');
  });

  it('keeps viewed marks per version in storage', async () => {
    const kv = new Map<string, string>();
    const store: KeyValue = { getItem: (k) => kv.get(k) ?? null, setItem: (k, v) => void kv.set(k, v), removeItem: (k) => void kv.delete(k) };
    const srv = new FakeServer();
    srv.files = [file('a.ts')];
    const r = new ReviewStore(srv.transport, 4, store);
    r.open();
    await settle();
    r.setViewed(r.files[0]!, true);
    expect(r.viewedCount).toBe(1);
    expect(new ReviewStore(srv.transport, 4, store).marks).toEqual({ 'a.ts': 'v1' });
    srv.files = [file('a.ts', 'v2')];
    await r.refresh();
    expect(r.viewedCount).toBe(0);
  });

  it('sends the collected comments and keeps the ones added meanwhile', async () => {
    const srv = new FakeServer();
    const r = new ReviewStore(srv.transport, 1, null);
    const c1 = { path: 'a.ts', line: 1, quote: 'a', text: 'one' };
    r.addComment(c1);
    srv.hold = true;
    const sent = r.sendComments();
    await settle();
    r.addComment({ path: 'a.ts', line: 2, quote: 'b', text: 'two' });
    srv.release();
    expect((await sent).terminal_id).toBe(7);
    expect(srv.bodies.at(-1)).toEqual({ comments: [c1] });
    expect(r.comments.map((c) => c.text)).toEqual(['two']);
  });

  it('reverts in the shown scope with the hunk header, and keeps the undo id', async () => {
    const srv = new FakeServer();
    const r = new ReviewStore(srv.transport, 1, null);
    r.setScope('uncommitted');
    await r.revert('a.ts', '@@ -1 +1 @@');
    expect(srv.bodies.find((b) => b && typeof b === 'object' && 'path' in b)).toEqual({ path: 'a.ts', scope: 'uncommitted', hunk: '@@ -1 +1 @@' });
    expect(r.reverted?.undoId).toBe('u1');
  });

  it('keeps a refused commit\'s code and message (a hook\'s output) for the commit box', async () => {
    const srv = new FakeServer();
    srv.fail = new RequestError({ code: 'hook_failed', message: 'lint failed\nline 2' }, 409);
    const r = new ReviewStore(srv.transport, 1, null);
    expect(await r.commit('msg', false)).toBeNull();
    expect(r.commitError).toEqual({ code: 'hook_failed', message: 'lint failed\nline 2' });
  });
});

describe('ReviewStore scopes', () => {
  it('keeps the selected file across a scope switch when it is in both, else shows the first', async () => {
    const srv = new FakeServer();
    srv.files = [file('a.ts'), file('b.ts')];
    const r = new ReviewStore(srv.transport, 1, null);
    r.open();
    await settle();
    r.select('b.ts');
    srv.files = [file('b.ts'), file('c.ts')];
    r.setScope('uncommitted');
    await settle();
    await settle();
    expect(r.selectedPath).toBe('b.ts');
    srv.files = [file('c.ts')];
    r.setScope('base');
    await settle();
    await settle();
    expect(r.selectedPath).toBe('c.ts');
    // A file that leaves the list otherwise (reverted, committed) stays selected: the panel says so.
    srv.files = [file('d.ts')];
    await r.refresh();
    expect(r.selectedPath).toBe('c.ts');
    expect(r.diff).toBeNull();
  });
});

describe('ReviewStore keyboard walk', () => {
  it('steps through the filtered list in folder order, wrapping, and marks viewed then moves on', async () => {
    const srv = new FakeServer();
    srv.files = [file('src/b.ts'), file('README.md'), file('src/a.ts'), file('docs/x.md')];
    const r = new ReviewStore(srv.transport, 1, null);
    r.open();
    await settle();
    // The list's order: the root, then docs/, then src/.
    expect(r.groups.flatMap((g) => g.files.map((f) => f.path))).toEqual(['README.md', 'docs/x.md', 'src/a.ts', 'src/b.ts']);
    r.select('README.md');
    r.step(1);
    expect(r.selectedPath).toBe('docs/x.md');
    r.step(-2);
    expect(r.selectedPath).toBe('src/b.ts');
    r.filter = 'src';
    r.step(1);
    expect(r.selectedPath).toBe('src/a.ts');
    r.filter = '';
    r.setViewed(srv.files.find((f) => f.path === 'src/b.ts')!, true);
    r.viewedAndNext();
    expect(r.isViewed(r.files.find((f) => f.path === 'src/a.ts')!)).toBe(true);
    // src/b.ts is viewed already: the next one not viewed wraps around to README.md.
    expect(r.selectedPath).toBe('README.md');
  });
});
