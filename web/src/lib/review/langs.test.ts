import { afterEach, describe, expect, it, vi } from 'vitest';
import { bundledLanguages, highlightable, plainGrammar } from './langs';

/** A gzip-compressed JSON body, compressed with the web platform's own CompressionStream. */
function gzipped(value: unknown): Response {
  const body = new Blob([JSON.stringify(value)]).stream().pipeThrough(new CompressionStream('gzip') as ReadableWritablePair<Uint8Array, Uint8Array>);
  return new Response(body);
}

/** What the dev server would serve: each grammar by its name, from @shikijs/langs itself. */
async function grammarByName(): Promise<Map<string, unknown>> {
  const byName = new Map<string, unknown>();
  for (const id of ['vue', 'markdown', 'rust']) {
    const mod = (await import(/* @vite-ignore */ `@shikijs/langs/${id}`)) as { default: { name: string }[] };
    for (const g of mod.default) byName.set(g.name, g);
  }
  return byName;
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('langs', () => {
  it('a language loads as the array @shikijs/langs exports, fetching each grammar once', async () => {
    const byName = await grammarByName();
    const fetched: string[] = [];
    vi.stubGlobal('fetch', async (url: string) => {
      fetched.push(url);
      const name = /([a-z0-9-]+)\.json\.gz$/.exec(url)?.[1] ?? '';
      return byName.has(name) ? gzipped(byName.get(name)) : new Response('no', { status: 404 });
    });
    const vue = await bundledLanguages['vue']!();
    expect(vue.default).toEqual(((await import('@shikijs/langs/vue')) as { default: unknown[] }).default);
    const rs = await bundledLanguages['rs']!();
    expect(rs.default).toEqual(((await import('@shikijs/langs/rust')) as { default: unknown[] }).default);
    expect(new Set(fetched).size).toBe(fetched.length);
  });

  it('a grammar that cannot be fetched resolves to a plain grammar, and is tried again later', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.stubGlobal('fetch', async () => new Response('gone', { status: 404 }));
    expect((await bundledLanguages['toml']!()).default).toEqual([plainGrammar('toml')]);
    const toml = ((await import('@shikijs/langs/toml')) as { default: unknown[] }).default;
    vi.stubGlobal('fetch', async () => gzipped(toml[0]));
    expect((await bundledLanguages['toml']!()).default).toEqual(toml);
  });

  it('without DecompressionStream nothing is highlighted', () => {
    expect(highlightable('ts')).toBe(true);
    expect(highlightable('cobol')).toBe(false);
    vi.stubGlobal('DecompressionStream', undefined);
    expect(highlightable('ts')).toBe(false);
  });
});
