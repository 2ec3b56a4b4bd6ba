// The DOM renderer's character widths for a screen, measured in one layout.
//
// xterm's DOM renderer sizes each distinct character (per bold/italic variant) the first time it
// draws it: it sets a hidden span's text and reads its `offsetWidth`, one forced layout per
// character, all inside the page's first frame (an agent's screen has 60–100 distinct
// characters). Here the same spans (clones of xterm's own, in its own container, so the same
// font, weight, style and `white-space: pre`) are filled for every character the screen shows and
// read after a single layout; xterm's cache then already holds them. Reaches into xterm's
// internals (pinned by the lockfile): when they are not as expected nothing is primed and xterm
// measures as it always did.

import type { Terminal } from '@xterm/xterm';

/** xterm's WidthCache (src/browser/renderer/dom/WidthCache.ts): what this relies on. */
interface WidthCache {
  _flat: Float32Array;
  _holey: Map<string, number> | undefined;
  _measureElements: HTMLSpanElement[];
}

/** WidthCacheSettings.REPEAT and FLAT_SIZE; FontVariant is bold = 1 | italic = 2. */
const REPEAT = 32;
const FLAT_SIZE = 256;
const BOLD = 1;
const ITALIC = 2;

/** The DOM renderer's width cache, when the terminal draws with it and it has the known shape. */
function widthCache(term: Terminal): WidthCache | null {
  const core = (term as unknown as { _core?: { _renderService?: { _renderer?: { value?: { _widthCache?: unknown } } } } })._core;
  const wc = core?._renderService?._renderer?.value?._widthCache as Partial<WidthCache> | undefined;
  if (
    !wc ||
    !(wc._flat instanceof Float32Array) ||
    wc._flat.length !== FLAT_SIZE ||
    !(wc._holey instanceof Map) ||
    !Array.isArray(wc._measureElements) ||
    wc._measureElements.length !== 4 ||
    !wc._measureElements.every((e) => e instanceof HTMLElement && e.parentElement)
  ) {
    return null;
  }
  return wc as WidthCache;
}

/** The cache key xterm uses for `chars` in `variant` (see WidthCache.get). */
function flatIndex(chars: string, variant: number): number | null {
  if (variant !== 0 || chars.length !== 1) return null;
  const cp = chars.charCodeAt(0);
  return cp < FLAT_SIZE ? cp : null;
}

function holeyKey(chars: string, variant: number): string {
  return chars + (variant & BOLD ? 'B' : '') + (variant & ITALIC ? 'I' : '');
}

/**
 * Measures, in one layout, every character the terminal's viewport shows that xterm has not
 * measured yet, and puts the widths in xterm's cache. Returns how many were primed, or `null`
 * when the renderer is not the DOM renderer with the cache this knows.
 */
export function primeWidths(term: Terminal): number | null {
  const wc = widthCache(term);
  if (!wc) return null;
  const holey = wc._holey as Map<string, number>;
  const wanted = new Map<string, [string, number]>();
  const want = (chars: string, variant: number) => {
    const i = flatIndex(chars, variant);
    if (i !== null ? (wc._flat[i] ?? 0) > 0 : holey.has(holeyKey(chars, variant))) return;
    wanted.set(holeyKey(chars, variant), [chars, variant]);
  };
  // The renderer's default spacing is measured on 'W'; a blank cell is drawn as a space, an
  // underlined one as a no-break space.
  want('W', 0);
  want(' ', 0);
  const buffer = term.buffer.active;
  const cell = buffer.getNullCell();
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    if (!line) continue;
    for (let x = 0; x < term.cols; x++) {
      if (!line.getCell(x, cell) || cell.getWidth() === 0) continue;
      const variant = (cell.isBold() ? BOLD : 0) | (cell.isItalic() ? ITALIC : 0);
      let chars = cell.getChars() || ' ';
      if (chars === ' ' && (cell.isUnderline() || cell.isOverline())) chars = '\xa0';
      want(chars, variant);
    }
  }
  if (wanted.size === 0) return 0;
  const spans: { span: HTMLElement; chars: string; variant: number; width: number }[] = [];
  for (const [chars, variant] of wanted.values()) {
    const model = wc._measureElements[variant];
    if (!model?.parentElement) continue;
    const span = model.cloneNode(false) as HTMLElement;
    span.textContent = chars.repeat(REPEAT);
    model.parentElement.appendChild(span);
    spans.push({ span, chars, variant, width: 0 });
  }
  // The first read lays the page out once; the others read that layout (nothing changes the
  // DOM until every width is read).
  for (const m of spans) m.width = m.span.offsetWidth / REPEAT;
  let primed = 0;
  for (const { span, chars, variant, width } of spans) {
    span.remove();
    // A hidden pane measures 0: left to xterm, as it would be without this.
    if (!(width > 0)) continue;
    const i = flatIndex(chars, variant);
    if (i !== null) wc._flat[i] = width;
    else holey.set(holeyKey(chars, variant), width);
    primed++;
  }
  return primed;
}
