//! Cutting byte streams without splitting a UTF-8 character.
//!
//! The log stores bytes exactly as the PTY produced them and hands them out in chunks that may end
//! in the middle of a multibyte character. That is fine for consumers that decode with state
//! (xterm.js's `write(Uint8Array)` and `TextDecoder` with `{stream: true}` both carry a partial
//! sequence over to the next chunk), and it is what Grove's own wire does: bytes travel as binary
//! frames and are never decoded on the server. A consumer that must cut at a character boundary
//! (e.g. to decode each chunk on its own) calls [`complete_prefix_len`] and carries the rest over.

/// Length of the longest prefix of `bytes` that does not end inside an incomplete UTF-8
/// sequence. Invalid bytes count as complete (they are passed through, not held back), so at most
/// three trailing bytes are ever held back.
pub fn complete_prefix_len(bytes: &[u8]) -> usize {
    let len = bytes.len();
    // Look back at most 3 bytes for the lead byte of a trailing sequence.
    for back in 1..=len.min(4) {
        let b = bytes[len - back];
        if b & 0b1100_0000 == 0b1000_0000 {
            continue; // continuation byte: keep looking for the lead
        }
        let need = match b {
            0x00..=0x7F => 1,
            0xC2..=0xDF => 2,
            0xE0..=0xEF => 3,
            0xF0..=0xF4 => 4,
            _ => 1, // invalid lead byte: nothing to wait for
        };
        return if back < need { len - back } else { len };
    }
    len
}

#[cfg(test)]
mod tests {
    use super::complete_prefix_len;

    #[test]
    fn holds_back_only_incomplete_tails() {
        let s = "aé€😀".as_bytes(); // 1 + 2 + 3 + 4 bytes
        assert_eq!(complete_prefix_len(s), s.len());
        for cut in 0..=s.len() {
            let n = complete_prefix_len(&s[..cut]);
            assert!(std::str::from_utf8(&s[..n]).is_ok(), "cut {cut} -> {n}");
            assert!(cut - n < 4);
        }
        assert_eq!(complete_prefix_len(&s[..2]), 1);
        assert_eq!(complete_prefix_len(&s[..9]), 6);
        assert_eq!(complete_prefix_len(b"\xff\xfe"), 2);
    }
}
