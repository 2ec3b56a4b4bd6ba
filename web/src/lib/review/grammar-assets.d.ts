// Provided by web/grammar-assets.ts (the build's grammar plugin).
declare module 'virtual:grove-grammars' {
  /** Grammar name → the URL of its gzip-compressed JSON. */
  export const grammarFiles: Record<string, string>;
  /** Language id → the names of the grammars its Shiki module exports, in order (own last). */
  export const grammarParts: Record<string, string[]>;
}
