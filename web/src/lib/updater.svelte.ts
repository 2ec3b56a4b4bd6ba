// The desktop updater's state in the page: the shell's `grove:update` events and its `update_*`
// commands (src-tauri/src/update.rs). Only the desktop shell attaches it; in a browser it stays
// empty and nothing shows.

import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import type { ConnectionStore } from './stores/connection.svelte';
import type { UpdateView } from './update';

export class Updater {
  view = $state.raw<UpdateView | null>(null);
  /** The dialog is open. */
  open = $state(false);
  #messages: ConnectionStore | null = null;
  #told = false;
  /** The last background failure said, so the same one is not said twice. */
  #said: string | null = null;

  async attach(messages: ConnectionStore): Promise<void> {
    this.#messages = messages;
    await listen<UpdateView>('grove:update', (e) => this.take(e.payload));
    this.take(await invoke<UpdateView>('update_state'));
  }

  take(v: UpdateView): void {
    this.view = v;
    const s = v.status.state;
    if (v.updated_from && !this.#told) {
      this.#told = true;
      this.#messages?.info(`Grove was updated to ${v.current_version} (from ${v.updated_from}).`);
    }
    if (s === 'available' && v.prompt) this.open = true;
    // A background check that failed: said once, quietly (the shell sends a repeated failure
    // only once, and the page drops a repeated event).
    if (v.status.state === 'failed' && !v.status.offer && !this.open && v.status.message !== this.#said) {
      this.#said = v.status.message;
      this.#messages?.info(`Could not check for updates: ${v.status.message}`);
    } else if (s !== 'failed') {
      this.#said = null;
    }
  }

  /** The tray's item and the sidebar's button: the dialog, with a check when nothing is known. */
  show(): void {
    this.open = true;
    const s = this.view?.status.state;
    if (s !== 'available' && s !== 'downloading' && s !== 'installing' && s !== 'restarting') void this.check();
  }

  async check(): Promise<void> {
    this.take(await invoke<UpdateView>('update_check'));
  }

  /** Resolves when the install failed (the status says why); on success the app restarts. */
  async install(): Promise<void> {
    try {
      await invoke('update_install');
    } catch {
      // The status event carries the reason; the dialog shows it.
    }
  }

  async setAutoCheck(on: boolean): Promise<void> {
    this.take(await invoke<UpdateView>('update_auto_check', { on }));
  }

  async later(): Promise<void> {
    this.open = false;
    await invoke('update_later');
  }

  async skip(): Promise<void> {
    this.open = false;
    await invoke('update_skip');
  }

  /** Closing the dialog while an update is on offer means *Later*. */
  close(): void {
    if (this.view?.status.state === 'available') void this.later();
    else this.open = false;
  }
}

export const updater = new Updater();
