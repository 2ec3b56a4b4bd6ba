import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { grammarAssets } from './grammar-assets.ts';
import { GRAMMAR_IDS } from './src/lib/review/grammar-ids.ts';

// The UI is served by `grove serve` from the same origin as the API, under a strict CSP
// (`default-src 'self'`): no inline scripts, so the module-preload polyfill (inlined otherwise)
// is off.
/**
 * What the diff view's highlighter does not use is not shipped: @pierre/diffs lists every Shiki
 * theme, Pierre's own themes and two other tokenizer backends (its own "highlights" and Shiki's WebAssembly engine) as
 * lazy imports, so each would become a chunk that the desktop binary embeds. Those modules are
 * replaced by one that refuses to load: only the theme and the JavaScript regex engine that
 * render.ts asks for are real.
 */
const DIFF_THEME = 'github-dark-default';
const NOT_SHIPPED = '\0grove-not-shipped';
const notShipped = {
  name: 'grove-diff-view-not-shipped',
  enforce: 'pre' as const,
  resolveId(id: string) {
    const theme = /^@shikijs\/themes\/(.+)$/.exec(id);
    if (theme && theme[1] !== DIFF_THEME) return NOT_SHIPPED;
    if (id === '@pierre/highlights' || id === 'shiki/wasm') return NOT_SHIPPED;
    // @pierre/highlights' Zed themes (for the backend not used) and Pierre's own TextMate themes
    // (@pierre/theme/*, listed by @pierre/theming's catalog next to Shiki's): ≈ 0.8 MB of chunks.
    if (id.startsWith('@pierre/highlights/') || id.startsWith('@pierre/theme/')) return NOT_SHIPPED;
    return null;
  },
  load(id: string) {
    if (id !== NOT_SHIPPED) return null;
    // What @pierre/diffs imports by name from @pierre/highlights; each fails only when used.
    const fail = `throw new Error("not shipped with Grove: the diff view uses Shiki's JavaScript engine and ${DIFF_THEME}")`;
    return [
      `export default function notShipped() { ${fail}; }`,
      `export function codeToTokens() { ${fail}; }`,
      `export function isSupportedLanguage() { return false; }`,
      `export class LiveTokenizer { constructor() { ${fail}; } }`,
    ].join('\n');
  },
};

/** In the highlighter's worker no grammar is ever loaded (the page resolves them and hands them
 *  over), so the worker's copy of the grammar list is empty rather than a second set of chunks. */
const NO_GRAMMARS = '\0grove-worker-no-grammars';
const workerWithoutGrammars = {
  name: 'grove-worker-without-grammars',
  enforce: 'pre' as const,
  resolveId(id: string) {
    return id === 'shiki/langs' || id.endsWith('/src/lib/review/langs.ts') ? NO_GRAMMARS : null;
  },
  load(id: string) {
    if (id !== NO_GRAMMARS) return null;
    return 'export const bundledLanguages = {}, bundledLanguagesBase = {}, bundledLanguagesAlias = {}, bundledLanguagesInfo = [];';
  },
};

/**
 * The UI's chunk (src/app.ts, imported by the small entry once the first state load is under way),
 * the chunks it imports and its CSS, named in index.html so the browser fetches and compiles them while the entry runs
 * instead of after (see src/main.ts).
 */
const preloadApp = {
  name: 'grove-preload-app',
  transformIndexHtml: {
    order: 'post' as const,
    handler(html: string, ctx: { bundle?: Record<string, unknown> }) {
      const chunk = Object.values(ctx.bundle ?? {}).find(
        (c): c is { type: 'chunk'; fileName: string; imports: string[]; facadeModuleId: string | null; viteMetadata?: { importedCss: Set<string> } } =>
          typeof c === 'object' && c !== null && (c as { type?: string }).type === 'chunk' &&
          ((c as { facadeModuleId?: string | null }).facadeModuleId ?? '').endsWith('/src/app.ts'),
      );
      if (!chunk) return [];
      return [
        ...[chunk.fileName, ...chunk.imports].filter((js) => !html.includes(js)).map((js) => ({
          tag: 'link',
          attrs: { rel: 'modulepreload', crossorigin: true, href: `/${js}` },
          injectTo: 'head' as const,
        })),
        ...[...(chunk.viteMetadata?.importedCss ?? [])].map((css) => ({
          tag: 'link',
          attrs: { rel: 'stylesheet', crossorigin: true, href: `/${css}` },
          injectTo: 'head' as const,
        })),
      ];
    },
  },
};

export default defineConfig({
  // grammarAssets: each grammar a gzip'd JSON asset instead of a chunk (see grammar-assets.ts).
  plugins: [svelte(), notShipped, grammarAssets(GRAMMAR_IDS), preloadApp],
  // The diff highlighter's worker (render.ts): an ES module worker, so what it imports lazily
  // stays in chunks, and with the same pruning as the page.
  worker: { format: 'es', plugins: () => [workerWithoutGrammars, notShipped] },
  resolve: {
    // The diff view's highlighter gets a curated set of grammars instead of all of Shiki's
    // (~12 MB of chunks the desktop binary would carry); see src/lib/review/langs.ts.
    alias: [{ find: /^shiki\/langs$/, replacement: fileURLToPath(new URL('./src/lib/review/langs.ts', import.meta.url)) }],
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    modulePreload: { polyfill: false },
    target: 'es2022',
    chunkSizeWarningLimit: 1500,
  },
  test: {
    include: ['src/**/*.test.ts', 'grammar-assets.test.ts'],
    environment: 'node',
  },
});
