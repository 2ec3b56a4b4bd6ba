// The grammars the diff view can highlight: stands in for `shiki/langs` (aliased in
// vite.config.ts), whose full bundle is ~300 grammars and ~12 MB of chunks that the desktop
// binary would embed. A file in any other language is shown without colours (see render.ts).
// Each grammar is still its own lazily loaded chunk.

type Loader = () => Promise<{ default: unknown }>;

const grammars: Record<string, Loader> = {
  'typescript': () => import('@shikijs/langs/typescript'),
  'tsx': () => import('@shikijs/langs/tsx'),
  'javascript': () => import('@shikijs/langs/javascript'),
  'jsx': () => import('@shikijs/langs/jsx'),
  'json': () => import('@shikijs/langs/json'),
  'jsonc': () => import('@shikijs/langs/jsonc'),
  'json5': () => import('@shikijs/langs/json5'),
  'jsonl': () => import('@shikijs/langs/jsonl'),
  'rust': () => import('@shikijs/langs/rust'),
  'python': () => import('@shikijs/langs/python'),
  'go': () => import('@shikijs/langs/go'),
  'java': () => import('@shikijs/langs/java'),
  'kotlin': () => import('@shikijs/langs/kotlin'),
  'swift': () => import('@shikijs/langs/swift'),
  'c': () => import('@shikijs/langs/c'),
  'cpp': () => import('@shikijs/langs/cpp'),
  'objective-c': () => import('@shikijs/langs/objective-c'),
  'objective-cpp': () => import('@shikijs/langs/objective-cpp'),
  'csharp': () => import('@shikijs/langs/csharp'),
  'ruby': () => import('@shikijs/langs/ruby'),
  'php': () => import('@shikijs/langs/php'),
  'shellscript': () => import('@shikijs/langs/shellscript'),
  'fish': () => import('@shikijs/langs/fish'),
  'powershell': () => import('@shikijs/langs/powershell'),
  'yaml': () => import('@shikijs/langs/yaml'),
  'toml': () => import('@shikijs/langs/toml'),
  'ini': () => import('@shikijs/langs/ini'),
  'markdown': () => import('@shikijs/langs/markdown'),
  'html': () => import('@shikijs/langs/html'),
  'xml': () => import('@shikijs/langs/xml'),
  'css': () => import('@shikijs/langs/css'),
  'scss': () => import('@shikijs/langs/scss'),
  'sass': () => import('@shikijs/langs/sass'),
  'less': () => import('@shikijs/langs/less'),
  'svelte': () => import('@shikijs/langs/svelte'),
  'vue': () => import('@shikijs/langs/vue'),
  'astro': () => import('@shikijs/langs/astro'),
  'sql': () => import('@shikijs/langs/sql'),
  'graphql': () => import('@shikijs/langs/graphql'),
  'proto': () => import('@shikijs/langs/proto'),
  'dockerfile': () => import('@shikijs/langs/dockerfile'),
  'make': () => import('@shikijs/langs/make'),
  'cmake': () => import('@shikijs/langs/cmake'),
  'lua': () => import('@shikijs/langs/lua'),
  'dart': () => import('@shikijs/langs/dart'),
  'scala': () => import('@shikijs/langs/scala'),
  'elixir': () => import('@shikijs/langs/elixir'),
  'erlang': () => import('@shikijs/langs/erlang'),
  'haskell': () => import('@shikijs/langs/haskell'),
  'ocaml': () => import('@shikijs/langs/ocaml'),
  'clojure': () => import('@shikijs/langs/clojure'),
  'zig': () => import('@shikijs/langs/zig'),
  'nix': () => import('@shikijs/langs/nix'),
  'hcl': () => import('@shikijs/langs/hcl'),
  'terraform': () => import('@shikijs/langs/terraform'),
  'dotenv': () => import('@shikijs/langs/dotenv'),
  'r': () => import('@shikijs/langs/r'),
  'perl': () => import('@shikijs/langs/perl'),
  'groovy': () => import('@shikijs/langs/groovy'),
  'diff': () => import('@shikijs/langs/diff'),
  'nginx': () => import('@shikijs/langs/nginx'),
  'just': () => import('@shikijs/langs/just'),
  'latex': () => import('@shikijs/langs/latex'),
  'tex': () => import('@shikijs/langs/tex'),
};

const aliases: Record<string, string> = {
  'ts': 'typescript',
  'cts': 'typescript',
  'mts': 'typescript',
  'js': 'javascript',
  'cjs': 'javascript',
  'mjs': 'javascript',
  'rs': 'rust',
  'py': 'python',
  'kt': 'kotlin',
  'kts': 'kotlin',
  'c++': 'cpp',
  'objc': 'objective-c',
  'c#': 'csharp',
  'cs': 'csharp',
  'rb': 'ruby',
  'bash': 'shellscript',
  'sh': 'shellscript',
  'shell': 'shellscript',
  'zsh': 'shellscript',
  'ps': 'powershell',
  'ps1': 'powershell',
  'yml': 'yaml',
  'properties': 'ini',
  'md': 'markdown',
  'gql': 'graphql',
  'protobuf': 'proto',
  'docker': 'dockerfile',
  'makefile': 'make',
  'erl': 'erlang',
  'hs': 'haskell',
  'clj': 'clojure',
  'tf': 'terraform',
  'tfvars': 'terraform',
};

/** Every supported name (grammar ids and their aliases) → its loader, as shiki's bundle has it. */
export const bundledLanguages: Record<string, Loader> = {
  ...grammars,
  ...Object.fromEntries(Object.entries(aliases).map(([alias, id]) => [alias, grammars[id]!])),
};
export const bundledLanguagesBase = grammars;
export const bundledLanguagesAlias: Record<string, Loader> = Object.fromEntries(Object.entries(aliases).map(([alias, id]) => [alias, grammars[id]!]));
export const bundledLanguagesInfo = Object.keys(grammars).map((id) => ({
  id,
  name: id,
  aliases: Object.entries(aliases).filter(([, g]) => g === id).map(([a]) => a),
  import: grammars[id]!,
}));

/** Whether the diff view can highlight `lang` (a grammar id or alias). */
export function highlightable(lang: string): boolean {
  return Object.hasOwn(bundledLanguages, lang);
}
