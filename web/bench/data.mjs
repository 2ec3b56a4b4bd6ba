// Deterministic "mixed text + ANSI" output, like an agent's: prose lines, colour runs, cursor
// moves, a progress line redrawn with \r, and some UTF-8. Runs in node and (serialised) in the page.
export function makeChunk() {
  const enc = new TextEncoder();
  const parts = [];
  let seed = 12345;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const words = ['grove', 'session', 'worktree', 'compile', 'error', 'warning:', 'src/lib.rs', 'λ', 'résumé', '→', 'ok', 'test', 'flood'];
  for (let line = 0; line < 2000; line++) {
    const kind = line % 10;
    if (kind === 0) parts.push(`\x1b[1;32m   Compiling\x1b[0m crate-${line} v0.${line % 7}.0\r\n`);
    else if (kind === 1) parts.push(`\x1b[38;5;${rnd(256)}m${'█'.repeat(rnd(30))}\x1b[0m progress ${rnd(100)}%\r`);
    else if (kind === 2) parts.push(`\x1b[2K\x1b[1G\x1b[33mwarning\x1b[0m: unused variable \x1b[1m\`x${line}\`\x1b[0m\r\n`);
    else if (kind === 3) parts.push(`\x1b[s\x1b[1;1H\x1b[7m status ${line} \x1b[0m\x1b[u`);
    else {
      let l = '';
      const n = 4 + rnd(14);
      for (let i = 0; i < n; i++) l += words[rnd(words.length)] + ' ';
      parts.push(l + '\r\n');
    }
  }
  return enc.encode(parts.join(''));
}
