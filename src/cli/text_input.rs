//! Reading large text inputs in bounded pieces.
//!
//! `sluice scan` must handle a 50 MB file in bounded memory, so input is read in blocks and cut at a
//! paragraph break (else a line break, else a char boundary) to keep entities whole: detectors see
//! each piece on its own. Invalid UTF-8 is an error naming its byte offset, unless lossy decoding
//! was asked for, in which case each bad sequence becomes U+FFFD and a warning is printed once.

use std::io::Read;

/// Pieces are at most this long (plus the tail of an unfinished UTF-8 sequence).
pub const DEFAULT_PIECE: usize = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("input is not valid UTF-8 (first bad byte at offset {offset}); pass --lossy to replace bad bytes with U+FFFD")]
    InvalidUtf8 { offset: u64 },
    #[error("reading input: {0}")]
    Io(#[from] std::io::Error),
}

/// Splits a reader into text pieces of at most `max` bytes.
pub struct Pieces<R> {
    reader: R,
    max: usize,
    lossy: bool,
    buf: Vec<u8>,
    consumed: u64,
    eof: bool,
    /// Set once lossy decoding replaced something.
    pub replaced: bool,
}

impl<R: Read> Pieces<R> {
    pub fn new(reader: R, max: usize, lossy: bool) -> Self {
        Pieces {
            reader,
            max: max.max(8),
            lossy,
            buf: Vec::new(),
            consumed: 0,
            eof: false,
            replaced: false,
        }
    }

    /// The next piece, or `None` at the end of input.
    pub fn next_piece(&mut self) -> Result<Option<String>, InputError> {
        while !self.eof && self.buf.len() < self.max {
            let mut chunk = vec![0u8; self.max - self.buf.len()];
            let n = self.reader.read(&mut chunk)?;
            if n == 0 {
                self.eof = true;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        if self.buf.is_empty() {
            return Ok(None);
        }
        let valid_to = match std::str::from_utf8(&self.buf) {
            Ok(_) => self.buf.len(),
            Err(e) if e.error_len().is_none() && !self.eof => e.valid_up_to(),
            Err(e) if !self.lossy => {
                return Err(InputError::InvalidUtf8 {
                    offset: self.consumed + e.valid_up_to() as u64,
                })
            }
            // Lossy: bad bytes become U+FFFD when the piece is decoded below.
            Err(_) => self.buf.len(),
        };
        let cut = if self.eof && valid_to == self.buf.len() {
            valid_to
        } else {
            best_cut(&self.buf[..valid_to]).unwrap_or(valid_to)
        };
        let cut = if cut == 0 { valid_to.max(1) } else { cut };
        let piece: Vec<u8> = self.buf.drain(..cut).collect();
        self.consumed += cut as u64;
        match String::from_utf8(piece) {
            Ok(s) => Ok(Some(s)),
            Err(e) => {
                self.replaced = true;
                Ok(Some(String::from_utf8_lossy(e.as_bytes()).into_owned()))
            }
        }
    }
}

/// The end of the last paragraph break, else of the last line break, in the latter half of `b`.
fn best_cut(b: &[u8]) -> Option<usize> {
    let half = b.len() / 2;
    let tail = &b[half..];
    if let Some(p) = tail.windows(2).rposition(|w| w == b"\n\n") {
        return Some(half + p + 2);
    }
    if let Some(p) = tail.iter().rposition(|&c| c == b'\n') {
        return Some(half + p + 1);
    }
    // No line break: cut on a char boundary (never inside a UTF-8 sequence).
    (half..b.len())
        .rev()
        .find(|&i| i > 0 && (b[i] & 0xC0) != 0x80)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8], max: usize, lossy: bool) -> Result<Vec<String>, InputError> {
        let mut p = Pieces::new(input, max, lossy);
        let mut out = Vec::new();
        while let Some(s) = p.next_piece()? {
            out.push(s);
        }
        Ok(out)
    }

    #[test]
    fn pieces_reassemble_and_respect_boundaries() {
        let text = "héllo wörld\n\nsecond paragraph 日本語\nthird line ".repeat(50);
        let pieces = all(text.as_bytes(), 64, false).unwrap();
        assert!(pieces.len() > 10);
        assert_eq!(pieces.concat(), text);
        assert!(pieces.iter().all(|p| p.len() <= 64));
    }

    #[test]
    fn invalid_utf8_is_located_or_replaced() {
        let mut bytes = b"abc def ".to_vec();
        bytes.push(0xFF);
        bytes.extend_from_slice(b" tail");
        match all(&bytes, 1 << 20, false) {
            Err(InputError::InvalidUtf8 { offset }) => assert_eq!(offset, 8),
            other => panic!("expected InvalidUtf8, got {other:?}"),
        }
        let lossy = all(&bytes, 1 << 20, true).unwrap().concat();
        assert_eq!(lossy, "abc def \u{FFFD} tail");
    }

    #[test]
    fn long_line_without_breaks() {
        let text = "a".repeat(100_000);
        let pieces = all(text.as_bytes(), 4096, false).unwrap();
        assert_eq!(pieces.concat(), text);
    }

    #[test]
    fn empty_input_has_no_pieces() {
        assert!(all(b"", 64, false).unwrap().is_empty());
    }
}
