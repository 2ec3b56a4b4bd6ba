// Run-time half of the diff view's grammars: fetching and inflating one gzip-compressed JSON
// grammar asset (written by web/grammar-assets.ts at build time).

/** Whether this engine can inflate the assets; without it diffs are shown without colours. */
export function canInflate(): boolean {
  return typeof DecompressionStream === 'function';
}

/** The JSON value in a gzip-compressed stream. */
export async function gunzipJson(body: ReadableStream<Uint8Array>): Promise<unknown> {
  const inflated = body.pipeThrough(new DecompressionStream('gzip') as ReadableWritablePair<Uint8Array, Uint8Array>);
  return JSON.parse(await new Response(inflated).text());
}

/** Fetches one grammar asset and returns its grammar object (frozen, as @shikijs/langs has it). */
export async function fetchGrammar(url: string): Promise<unknown> {
  const res = await fetch(url);
  if (!res.ok || !res.body) throw new Error(`the grammar ${url} did not load (HTTP ${res.status})`);
  return Object.freeze(await gunzipJson(res.body));
}
