import { getContext, setContext } from 'svelte';
import type { Grove } from './grove.svelte';

const KEY = Symbol('grove');

export function provideGrove(g: Grove): void {
  setContext(KEY, g);
}

export function useGrove(): Grove {
  const g = getContext<Grove | undefined>(KEY);
  if (!g) throw new Error('Grove context missing');
  return g;
}
