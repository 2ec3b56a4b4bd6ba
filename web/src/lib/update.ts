// The desktop updater as the UI sees it (the Rust `UpdateView`, src-tauri/src/update.rs): pure
// helpers for the dialog's text, tested without a shell.

export interface Offer {
  version: string;
  notes: string | null;
  date: string | null;
}

export type UpdateStatus =
  | { state: 'idle' }
  | { state: 'checking' }
  | { state: 'up_to_date' }
  | { state: 'available'; offer: Offer }
  | { state: 'downloading'; offer: Offer; downloaded: number; total: number | null }
  | { state: 'installing'; offer: Offer }
  | { state: 'restarting'; offer: Offer }
  | { state: 'failed'; message: string; offer: Offer | null }
  | { state: 'disabled'; reason: string };

export interface UpdateView {
  current_version: string;
  status: UpdateStatus;
  prompt: boolean;
  running_programs: number;
  updated_from: string | null;
  skipped: string | null;
  auto_check: boolean;
}

/** The release the status is about, if any. */
export function offerOf(s: UpdateStatus): Offer | null {
  return 'offer' in s ? s.offer : null;
}

/** "Grove 0.2.0 is available" and friends. */
export function titleOf(v: UpdateView): string {
  const s = v.status;
  switch (s.state) {
    case 'available':
      return `Grove ${s.offer.version} is available`;
    case 'downloading':
    case 'installing':
      return `Installing Grove ${s.offer.version}`;
    case 'restarting':
      return `Restarting into Grove ${s.offer.version}`;
    case 'failed':
      return s.offer ? `Grove ${s.offer.version} was not installed` : 'Could not check for updates';
    case 'checking':
      return 'Checking for updates…';
    case 'up_to_date':
      return `Grove ${v.current_version} is up to date`;
    case 'disabled':
      return 'Updates are off';
    case 'idle':
      return 'Updates';
  }
}

/** What a restart does to the programs running in sessions, or null when none runs. */
export function runningText(n: number): string | null {
  if (n <= 0) return null;
  const what = n === 1 ? '1 program is' : `${n} programs are`;
  return `${what} running in your sessions. Installing restarts Grove: they are stopped, and their sessions, logs and screens come back after the restart, where you can start them again.`;
}

function mb(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** "12.3 of 40.0 MB (31 %)", or "12.3 MB" when the size is unknown. */
export function progressText(downloaded: number, total: number | null): string {
  if (total && total > 0) {
    const pct = Math.min(100, Math.floor((downloaded / total) * 100));
    return `${mb(downloaded)} of ${mb(total)} MB (${pct} %)`;
  }
  return `${mb(downloaded)} MB`;
}

/** 0..1, or null when the size is unknown. */
export function progressFraction(downloaded: number, total: number | null): number | null {
  return total && total > 0 ? Math.min(1, downloaded / total) : null;
}
