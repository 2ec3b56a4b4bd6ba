// Closing a terminal stops its program and deletes its output log for good, so one keystroke
// (Ctrl+Shift+W) or one click on a tab's × must not do it unasked: an agent always asks (its
// output is the work), a running shell asks unless the user said not to, and a terminal whose
// program already ended closes at once (there is nothing left to stop).

import type { TerminalInfo } from './wire/TerminalInfo';
import type { ServerGrove } from './grove.svelte';
import type { Confirmation } from '../components/ConfirmDialog.svelte';

/** Whether closing `t` asks first; `askForShells` is the user's "ask for shells" setting. */
export function closeAsks(t: TerminalInfo, askForShells: boolean): boolean {
  if (t.kind === 'agent') return true;
  return isRunning(t) && askForShells;
}

export function isRunning(t: TerminalInfo): boolean {
  return t.status === 'running' || t.status === 'idle' || t.status === 'needs_attention';
}

/** The question for closing `t`: what stops and what is deleted. */
export function closeConfirmation(t: TerminalInfo, close: () => Promise<unknown>, dontAskAgain: () => void): Confirmation {
  const agent = t.kind === 'agent';
  const running = isRunning(t);
  return {
    title: agent ? 'Close the agent?' : 'Close this shell?',
    text: `${t.command}${running ? ' (running)' : ' (ended)'}`,
    question: running
      ? `Closing stops ${agent ? 'the agent' : 'this program'} and deletes its output; neither can be brought back.`
      : 'Closing deletes its output; it cannot be brought back.',
    action: agent ? 'Stop and close' : 'Close',
    option: agent ? undefined : { label: "Don't ask again for shells", chosen: dontAskAgain },
    run: close,
  };
}

/** Closes a session's terminal, asking first when `closeAsks` says so (through `confirm`). */
export function requestClose(grove: ServerGrove, sessionId: number, t: TerminalInfo, confirm: (c: Confirmation) => void): void {
  const close = () => grove.attempt('Close terminal', () => grove.sessions.closeTerminal(sessionId, t.id));
  if (!closeAsks(t, grove.terminals.askBeforeClosingShells)) {
    void close();
    return;
  }
  confirm(closeConfirmation(t, close, () => grove.terminals.setAskBeforeClosingShells(false)));
}
