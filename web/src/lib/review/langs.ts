// The grammars the diff view can highlight: stands in for `shiki/langs` (aliased in
// vite.config.ts), whose full bundle is ~300 grammars and ~12 MB of chunks that the desktop
// binary would embed. The curated set is in grammar-ids.ts; a file in any other language is
// shown without colours (see render.ts).
//
// The grammars are not JavaScript chunks but gzip-compressed JSON assets (grammar-assets.ts at
// the web root writes them), fetched and inflated when a language is first shown: ≈ 0.4 MB in
// web/dist instead of ≈ 5 MB. A language's loader resolves to the same array its @shikijs/langs
// module exports (embedded grammars first), each grammar fetched once however many embed it.

import { grammarFiles, grammarParts } from 'virtual:grove-grammars';
import { GRAMMAR_ALIASES, GRAMMAR_IDS, type GrammarId } from './grammar-ids';
import { canInflate, fetchGrammar } from './grammar-load';

type Loader = () => Promise<{ default: unknown[] }>;

const fetched = new Map<string, Promise<unknown>>();

function grammar(name: string): Promise<unknown> {
  let p = fetched.get(name);
  if (!p) {
    const url = grammarFiles[name];
    p = url ? fetchGrammar(url) : Promise.reject(new Error(`no grammar asset named ${name} in this build`));
    // A failed fetch is tried again next time rather than remembered.
    p.catch(() => fetched.delete(name));
    fetched.set(name, p);
  }
  return p;
}

function aliasesOf(id: GrammarId): string[] {
  return Object.entries(GRAMMAR_ALIASES)
    .filter(([, g]) => g === id)
    .map(([a]) => a);
}

/**
 * A grammar that colours nothing, under the language's names: what a language resolves to when
 * its assets cannot be loaded, so the diff is still drawn (plain) instead of failing.
 */
export function plainGrammar(id: GrammarId): Record<string, unknown> {
  return { name: id, displayName: id, scopeName: `text.grove-plain.${id}`, aliases: aliasesOf(id), patterns: [], repository: {} };
}

function loader(id: GrammarId): Loader {
  return async () => {
    try {
      const names = grammarParts[id];
      if (!names) throw new Error(`the build has no grammar list for ${id}`);
      return { default: await Promise.all(names.map(grammar)) };
    } catch (e) {
      console.warn(`Grove: the ${id} grammar did not load; its diffs are shown without colours (${String(e)})`);
      return { default: [plainGrammar(id)] };
    }
  };
}

const grammars = Object.fromEntries(GRAMMAR_IDS.map((id) => [id, loader(id)])) as Record<GrammarId, Loader>;

/** Every supported name (grammar ids and their aliases) → its loader, as shiki's bundle has it. */
export const bundledLanguagesAlias: Record<string, Loader> = Object.fromEntries(
  Object.entries(GRAMMAR_ALIASES).map(([alias, id]) => [alias, grammars[id]]),
);
export const bundledLanguages: Record<string, Loader> = { ...grammars, ...bundledLanguagesAlias };
export const bundledLanguagesBase: Record<string, Loader> = grammars;
export const bundledLanguagesInfo = GRAMMAR_IDS.map((id) => ({ id, name: id, aliases: aliasesOf(id), import: grammars[id] }));

/**
 * Whether the diff view can highlight `lang` (a grammar id or alias): one of the curated set, in
 * an engine that can inflate the grammar assets (without `DecompressionStream`, no colours).
 */
export function highlightable(lang: string): boolean {
  return Object.hasOwn(bundledLanguages, lang) && canInflate();
}
