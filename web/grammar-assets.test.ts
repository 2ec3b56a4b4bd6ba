import { describe, expect, it } from 'vitest';
import { collectGrammars, gzipGrammar } from './grammar-assets';
import { GRAMMAR_IDS } from './src/lib/review/grammar-ids';
import { gunzipJson } from './src/lib/review/grammar-load';

const inflate = (gz: Buffer) => gunzipJson(new Blob([new Uint8Array(gz)]).stream());

async function shikiExport(id: string): Promise<unknown[]> {
  return ((await import(/* @vite-ignore */ `@shikijs/langs/${id}`)) as { default: unknown[] }).default;
}

describe('grammar assets', () => {
  it('a gzip-compressed grammar inflates to the same object', async () => {
    const [cpp] = (await shikiExport('cpp')).slice(-1);
    const gz = gzipGrammar(cpp);
    expect(gz.length).toBeLessThan(JSON.stringify(cpp).length / 5);
    expect(await inflate(gz)).toEqual(cpp);
  });

  it('every curated language rebuilds to the array @shikijs/langs exports, embedded grammars included', async () => {
    const { files, parts } = await collectGrammars(GRAMMAR_IDS);
    for (const id of GRAMMAR_IDS) {
      const names = parts[id];
      expect(names, id).toBeDefined();
      const rebuilt = await Promise.all(names!.map((n) => inflate(files.get(n)!)));
      expect(rebuilt, id).toEqual(await shikiExport(id));
    }
    // Languages that embed others list them, and shared grammars are stored once.
    expect(parts['vue']).toEqual(expect.arrayContaining(['html', 'css', 'javascript', 'typescript', 'vue']));
    expect(parts['svelte']).toEqual(expect.arrayContaining(['javascript', 'typescript', 'css', 'svelte']));
    expect(parts['html']).toEqual(['javascript', 'css', 'html']);
    const all = Object.values(parts).flat();
    expect(files.size).toBe(new Set(all).size);
    expect(files.size).toBeLessThan(all.length);
  });

  it('refuses a language that is not in @shikijs/langs', async () => {
    await expect(collectGrammars(['no-such-language'])).rejects.toThrow();
  });
});
