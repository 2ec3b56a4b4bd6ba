// Offset bookkeeping for one terminal stream: which byte offset comes next from the server, which
// the terminal emulator has parsed, and when to acknowledge. The server stops sending to a client
// with more than 1 MiB unacknowledged and resumes below 256 KiB, so acks must come from xterm's
// write callback (bytes *parsed*, not merely received), often enough, and not per byte.

/** Ack at least this often (in parsed bytes), and whenever the emulator has caught up. */
export const ACK_EVERY = 64 * 1024;

export class StreamCursor {
  /** Offset after the last byte received (the next byte expected). */
  received = 0;
  /** Offset after the last byte the emulator has parsed. */
  parsed = 0;
  /** The last offset acknowledged to the server. */
  acked = 0;
  /** Bumped on every new stream; callbacks of an older stream are ignored. */
  epoch = 0;
  #pending = 0;

  /**
   * A new stream begins at `offset`: the `hello` frame, or a `resync` (the server replaced the
   * screen with a snapshot and skipped to `offset`). Parse callbacks of bytes written before this
   * belong to an older epoch and never ack.
   */
  start(offset: number): void {
    this.epoch++;
    this.received = this.parsed = this.acked = offset;
    this.#pending = 0;
  }

  /** `len` bytes arrived; returns the offset after them and the stream's epoch. */
  receive(len: number): { end: number; epoch: number } {
    this.received += len;
    this.#pending++;
    return { end: this.received, epoch: this.epoch };
  }

  /**
   * The emulator parsed everything up to `end`. Returns the offset to acknowledge now, or null
   * when an ack would be too soon (less than ACK_EVERY since the last and more writes queued).
   */
  parsedTo(end: number, epoch: number): number | null {
    if (epoch !== this.epoch) return null;
    this.#pending = Math.max(0, this.#pending - 1);
    this.parsed = Math.max(this.parsed, end);
    const due = this.parsed - this.acked >= ACK_EVERY || (this.#pending === 0 && this.parsed > this.acked);
    if (!due) return null;
    this.acked = this.parsed;
    return this.acked;
  }

  get pending(): number {
    return this.#pending;
  }
}
