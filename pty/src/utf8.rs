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

/// Hands a byte stream on in pieces that never end inside a UTF-8 character, holding an
/// incomplete tail (at most three bytes) until the next call completes it.
///
/// For feeding [`vte`]: its parser (0.15) keeps a character split across two `advance` calls
/// and, when an invalid byte follows within the next three, resumes past one byte too many, so
/// the byte right after the character is dropped (a BEL, a newline, a letter). Handed whole
/// characters it never splits one, and what it does no longer depends on where reads ended.
#[derive(Debug, Default)]
pub struct Utf8Carry {
    held: Vec<u8>,
}

impl Utf8Carry {
    /// True when no incomplete character is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Calls `f` with the held bytes and `bytes`, in order, in at most two non-empty pieces,
    /// none ending inside a character; holds the incomplete tail for the next call. Copies only
    /// up to the first ASCII byte after a held tail (an ASCII byte always ends a character).
    pub fn feed(&mut self, bytes: &[u8], mut f: impl FnMut(&[u8])) {
        let mut rest = bytes;
        if !self.held.is_empty() {
            let upto = rest
                .iter()
                .position(u8::is_ascii)
                .map_or(rest.len(), |at| at + 1);
            self.held.extend_from_slice(&rest[..upto]);
            rest = &rest[upto..];
            let n = complete_prefix_len(&self.held);
            if n > 0 {
                f(&self.held[..n]);
            }
            self.held.drain(..n);
            if !self.held.is_empty() {
                return; // `rest` is empty: the held tail is still incomplete
            }
        }
        let n = complete_prefix_len(rest);
        if n > 0 {
            f(&rest[..n]);
        }
        self.held.extend_from_slice(&rest[n..]);
    }
}

#[cfg(test)]
mod tests {
    use super::{Utf8Carry, complete_prefix_len};

    /// Every way of cutting a mixed stream into three chunks: the pieces put together are the
    /// stream, and none ends inside a character.
    #[test]
    fn carry_hands_on_whole_characters_in_order() {
        let s = b"a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xff\xe2\x82!\xc3";
        for i in 0..=s.len() {
            for j in i..=s.len() {
                let mut carry = Utf8Carry::default();
                let mut pieces: Vec<Vec<u8>> = Vec::new();
                for chunk in [&s[..i], &s[i..j], &s[j..]] {
                    carry.feed(chunk, |p| pieces.push(p.to_vec()));
                }
                let joined: Vec<u8> = pieces.concat();
                assert_eq!(joined, s[..s.len() - 1], "cuts {i} {j}");
                assert!(!carry.is_empty(), "the trailing lead byte is held");
                for p in &pieces {
                    assert!(!p.is_empty());
                    assert_eq!(complete_prefix_len(p), p.len(), "cuts {i} {j}: {p:x?}");
                }
            }
        }
    }

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
