// Which xterm renderer a pane uses. WebGL is the fastest renderer on a real GPU, but where WebGL
// is rasterised in software (VMs, remote desktops, headless browsers: SwiftShader, llvmpipe) it
// costs most of every frame and leaves the parser a third of the time; the DOM renderer is then
// several times faster (pane_flood: 4 vs 25 MB/s in headless Chromium).

export type RendererChoice = 'webgl' | 'dom';

/** Renderer strings of software WebGL implementations. */
export function isSoftwareRenderer(name: string): boolean {
  return /swiftshader|llvmpipe|softpipe|software|basic render driver|mesa offscreen/i.test(name);
}

let detected: RendererChoice | null = null;

/** The renderer for new panes: the user's choice if set (localStorage `grove.renderer`), else
 *  WebGL when the browser's WebGL is hardware-accelerated. Probed once. */
export function preferredRenderer(): RendererChoice {
  const chosen = safeGet('grove.renderer');
  if (chosen === 'webgl' || chosen === 'dom') return chosen;
  if (detected === null) detected = probe();
  return detected;
}

/** The renderer for new panes if it is known without probing (the user's choice, the platform's
 *  default, or an earlier probe); `null` when only a probe can tell. */
export function chosenRenderer(): RendererChoice | null {
  const chosen = safeGet('grove.renderer');
  if (chosen === 'webgl' || chosen === 'dom') return chosen;
  return detected;
}

/** Sets the renderer used when the user has not chosen one, without probing WebGL (the desktop
 *  shell on Linux: see `desktop.ts`). */
export function setDefaultRenderer(choice: RendererChoice): void {
  detected = choice;
}

function probe(): RendererChoice {
  try {
    const canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2');
    if (!gl) return 'dom';
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    // Browsers that hide the renderer name get WebGL; its context-loss fallback still applies.
    const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : '';
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return isSoftwareRenderer(name) ? 'dom' : 'webgl';
  } catch {
    return 'dom';
  }
}

function safeGet(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}
