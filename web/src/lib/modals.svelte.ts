// The dialogs open right now, innermost last. Only the innermost one answers Escape and keeps
// focus; while any is open the app behind is inert and global shortcuts are paused.

export const openModals = $state<{ stack: symbol[] }>({ stack: [] });

export function pushModal(): symbol {
  const id = Symbol('modal');
  openModals.stack.push(id);
  return id;
}

export function popModal(id: symbol): void {
  const i = openModals.stack.indexOf(id);
  if (i >= 0) openModals.stack.splice(i, 1);
}

export function isTopModal(id: symbol): boolean {
  return openModals.stack.at(-1) === id;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), summary, [tabindex]:not([tabindex="-1"])';

/** The elements of `root` that Tab can reach, in order. */
export function focusables(root: HTMLElement): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((e) => e.getClientRects().length > 0);
}
