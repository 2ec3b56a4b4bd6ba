// "needs you · 3 m": how long a session has been waiting or idle, from its terminals'
// `status_since`, against a clock that ticks often enough for minutes.

import type { Session } from './wire/Session';
import type { Badge } from './stores/sessions.svelte';

/** A short duration: "<1 m", "12 m", "3 h", "2 d". */
export function shortDuration(ms: number): string {
  const m = Math.floor(Math.max(0, ms) / 60_000);
  if (m < 1) return '<1 m';
  if (m < 60) return `${m} m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.floor(h / 24)} d`;
}

/** Since when a session has shown `badge`: for "needs you" its earliest waiting terminal, for
 *  "idle" its agent. Null for the other badges (running, exited: no duration is shown). */
export function badgeSince(s: Session, badge: Badge): number | null {
  if (badge.kind === 'attention') {
    const waiting = s.terminals.filter((t) => t.status === 'needs_attention').map((t) => t.status_since);
    return waiting.length > 0 ? Math.min(...waiting) : null;
  }
  if (badge.kind === 'idle') {
    const agent = s.terminals.find((t) => t.kind === 'agent') ?? s.terminals[0];
    return agent ? agent.status_since : null;
  }
  return null;
}

/** The current time, updated every 15 s while anything reads it. */
class Clock {
  now = $state(Date.now());
  #timer: ReturnType<typeof setInterval> | null = null;

  start(): () => void {
    this.now = Date.now();
    this.#timer ??= setInterval(() => (this.now = Date.now()), 15_000);
    return () => {
      if (this.#timer) clearInterval(this.#timer);
      this.#timer = null;
    };
  }
}

export const clock = new Clock();
