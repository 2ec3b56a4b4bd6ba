// Build-time half of the diff view's grammars (run-time half: src/lib/review/langs.ts).
//
// The desktop app embeds web/dist uncompressed, and Shiki's grammars as JavaScript chunks were
// ≈ 5 MB of it (cpp alone 780 KB). Instead each grammar is written as a gzip-compressed JSON
// asset (≈ 0.4 MB for all of them) that the page fetches and inflates with
// `DecompressionStream('gzip')` when a diff in that language is first shown.
//
// A Shiki language module's default export is an array: the grammars it embeds (html embeds
// javascript and css, vue a dozen more), then its own. Each distinct grammar becomes one asset,
// named by the grammar's `name`, and the manifest lists, for every language, the names of its
// array in order, so the page rebuilds the very same array from shared assets.

import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Plugin, ResolvedConfig } from 'vite';

export const GRAMMARS_MODULE = 'virtual:grove-grammars';
const RESOLVED = '\0' + GRAMMARS_MODULE;
/** Where the dev server serves the assets (a build writes them under assets/grammars/). */
const DEV_PREFIX = '/@grove-grammars/';

export interface GrammarBundle {
  /** Grammar name → its JSON, gzip-compressed. */
  files: Map<string, Buffer>;
  /** Language id → the grammar names of its Shiki module's default export, in order. */
  parts: Record<string, string[]>;
}

/** Gzip-compressed JSON of one grammar object. */
export function gzipGrammar(grammar: unknown): Buffer {
  return gzipSync(JSON.stringify(grammar), { level: 9 });
}

/** Reads the grammars of `ids` from @shikijs/langs and compresses each distinct one once. */
export async function collectGrammars(ids: readonly string[]): Promise<GrammarBundle> {
  const files = new Map<string, Buffer>();
  const texts = new Map<string, string>();
  const parts: Record<string, string[]> = {};
  for (const id of ids) {
    const mod = (await import(/* @vite-ignore */ `@shikijs/langs/${id}`)) as { default?: unknown };
    if (!Array.isArray(mod.default)) throw new Error(`@shikijs/langs/${id} does not export an array of grammars; is @shikijs/langs 4.x installed?`);
    parts[id] = mod.default.map((grammar: unknown) => {
      const name = (grammar as { name?: unknown }).name;
      if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(name)) {
        throw new Error(`a grammar of @shikijs/langs/${id} has the name ${JSON.stringify(name)}, which cannot name an asset`);
      }
      const text = JSON.stringify(grammar);
      const seen = texts.get(name);
      if (seen === undefined) {
        texts.set(name, text);
        files.set(name, gzipSync(text, { level: 9 }));
      } else if (seen !== text) {
        throw new Error(`two different grammars are named "${name}" (one of them in @shikijs/langs/${id}); they cannot share an asset`);
      }
      return name;
    });
  }
  return { files, parts };
}

/** The plugin: provides `virtual:grove-grammars` ({ grammarFiles: name → URL, grammarParts }). */
export function grammarAssets(ids: readonly string[]): Plugin {
  let config: ResolvedConfig | undefined;
  let bundle: Promise<GrammarBundle> | undefined;
  const collected = () => (bundle ??= collectGrammars(ids));
  const refs = new Map<string, string>();
  return {
    name: 'grove-grammar-assets',
    configResolved(c) {
      config = c;
    },
    async buildStart() {
      if (config?.command !== 'build') return;
      const { files } = await collected();
      for (const [name, source] of files) {
        const hash = createHash('sha256').update(source).digest('base64url').slice(0, 8);
        refs.set(name, this.emitFile({ type: 'asset', fileName: `assets/grammars/${name}-${hash}.json.gz`, source }));
      }
    },
    resolveId(id) {
      return id === GRAMMARS_MODULE ? RESOLVED : null;
    },
    async load(id) {
      if (id !== RESOLVED) return null;
      const { files, parts } = await collected();
      const urls = [...files.keys()].map((name) => {
        const ref = refs.get(name);
        const url = ref ? `import.meta.ROLLUP_FILE_URL_${ref}` : JSON.stringify(`${DEV_PREFIX}${name}.json.gz`);
        return `  ${JSON.stringify(name)}: ${url},`;
      });
      return `export const grammarFiles = {\n${urls.join('\n')}\n};\nexport const grammarParts = ${JSON.stringify(parts)};\n`;
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const url = req.url ?? '';
        if (!url.startsWith(DEV_PREFIX)) return next();
        const name = url.slice(DEV_PREFIX.length).replace(/\.json\.gz$/, '');
        collected().then(
          ({ files }) => {
            const file = files.get(name);
            if (!file) {
              res.statusCode = 404;
              res.end(`no grammar named ${name}`);
              return;
            }
            res.setHeader('Content-Type', 'application/octet-stream');
            res.end(file);
          },
          (e: unknown) => next(e),
        );
      });
    },
  };
}
