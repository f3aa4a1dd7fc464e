//! Text of any length as a sequence of overlapping model windows.
//!
//! The model sees at most 512 tokens, [CLS] and [SEP] included. Longer text is cut into windows
//! that share [`OVERLAP`] tokens with their neighbours, and each token's prediction is taken from
//! exactly one window (the one in which it sits furthest from an edge), so an entity near a cut
//! still has context on both sides and is reported once.
//!
//! Text is tokenized a segment at a time and windows are produced lazily, so memory stays bounded
//! by a segment and a window however long the text is.

use std::collections::VecDeque;
use std::ops::Range;

use tokenizers::Tokenizer;

use crate::detect::DetectError;

/// The model's input limit, [CLS] and [SEP] included.
pub const MAX_WINDOW_TOKENS: usize = 512;
/// Text tokens per window.
const CONTENT_TOKENS: usize = MAX_WINDOW_TOKENS - 2;
/// Tokens shared by two consecutive windows; each window owns half of each overlap.
const OVERLAP: usize = 128;
/// Bytes of text tokenized at a time.
const SEGMENT_BYTES: usize = 8 * 1024;

/// One text token: its vocabulary id and where it came from, in bytes of the scanned text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub id: u32,
    pub start: usize,
    pub end: usize,
    /// A word-piece continuation ("##son"): part of the same word as the token before it.
    pub continuation: bool,
}

/// The special ids the window builder needs, and which ids are word-piece continuations.
#[derive(Debug, Clone)]
pub struct Vocab {
    pub cls: u32,
    pub sep: u32,
    pub pad: u32,
    unk: u32,
    specials: Vec<u32>,
    continuation: Vec<bool>,
}

impl Vocab {
    pub fn of(tokenizer: &Tokenizer) -> Result<Vocab, String> {
        let id = |token: &str| {
            tokenizer
                .token_to_id(token)
                .ok_or_else(|| format!("the tokenizer has no {token} token"))
        };
        let (cls, sep, pad, unk, mask) = (
            id("[CLS]")?,
            id("[SEP]")?,
            id("[PAD]")?,
            id("[UNK]")?,
            id("[MASK]")?,
        );
        let vocab = tokenizer.get_vocab(true);
        let size = vocab.values().max().map_or(0, |m| *m as usize + 1);
        let mut continuation = vec![false; size];
        for (token, id) in vocab {
            continuation[id as usize] = token.starts_with("##");
        }
        Ok(Vocab {
            cls,
            sep,
            pad,
            unk,
            specials: vec![cls, sep, pad, mask],
            continuation,
        })
    }

    /// The id to feed the model for a token of the text: control tokens written in the text
    /// ("[SEP]") become [UNK], so text cannot forge the window structure the model relies on.
    fn content_id(&self, id: u32) -> u32 {
        if self.specials.contains(&id) {
            self.unk
        } else {
            id
        }
    }

    fn is_continuation(&self, id: u32) -> bool {
        self.continuation.get(id as usize).copied().unwrap_or(false)
    }
}

/// A model window: text tokens (without [CLS]/[SEP]) and the ones whose predictions it owns.
#[derive(Debug, Clone)]
pub struct Window {
    pub tokens: Vec<Token>,
    pub owned: Range<usize>,
}

impl Window {
    pub fn owned_tokens(&self) -> &[Token] {
        &self.tokens[self.owned.clone()]
    }
}

/// The windows of a text, in order.
pub struct Windows<'a> {
    tokenizer: &'a Tokenizer,
    vocab: &'a Vocab,
    text: &'a str,
    /// Bytes of `text` already tokenized.
    tokenized: usize,
    pending: VecDeque<Token>,
    started: bool,
    finished: bool,
}

impl<'a> Windows<'a> {
    pub fn new(tokenizer: &'a Tokenizer, vocab: &'a Vocab, text: &'a str) -> Windows<'a> {
        Windows {
            tokenizer,
            vocab,
            text,
            tokenized: 0,
            pending: VecDeque::new(),
            started: false,
            finished: false,
        }
    }

    /// The next segment to tokenize: up to [`SEGMENT_BYTES`], cut after an ASCII whitespace so no
    /// word is split (a segment without one is cut on a char boundary).
    fn next_segment(&self) -> Range<usize> {
        let rest = &self.text[self.tokenized..];
        if rest.len() <= SEGMENT_BYTES {
            return self.tokenized..self.text.len();
        }
        let mut limit = SEGMENT_BYTES;
        while !rest.is_char_boundary(limit) {
            limit -= 1;
        }
        let cut = rest[..limit]
            .rfind([' ', '\n', '\t', '\r'])
            .map_or(limit, |i| i + 1);
        self.tokenized..self.tokenized + cut
    }

    fn tokenize_segment(&mut self) -> Result<(), DetectError> {
        let segment = self.next_segment();
        let piece = &self.text[segment.clone()];
        // The tokenizer's error could quote the text, so it is not passed on.
        let encoding = self
            .tokenizer
            .encode(piece, false)
            .map_err(|_| DetectError::Model("the tokenizer failed on the input text".into()))?;
        for (&id, &(start, end)) in encoding.get_ids().iter().zip(encoding.get_offsets()) {
            let start = floor_char_boundary(piece, start);
            let end = ceil_char_boundary(piece, end.max(start));
            self.pending.push_back(Token {
                id: self.vocab.content_id(id),
                start: segment.start + start,
                end: segment.start + end,
                continuation: self.vocab.is_continuation(id),
            });
        }
        self.tokenized = segment.end;
        Ok(())
    }
}

impl Iterator for Windows<'_> {
    type Item = Result<Window, DetectError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        // One token more than a window holds tells whether this window is the last.
        while self.pending.len() <= CONTENT_TOKENS && self.tokenized < self.text.len() {
            if let Err(e) = self.tokenize_segment() {
                self.finished = true;
                return Some(Err(e));
            }
        }
        if self.pending.is_empty() {
            self.finished = true;
            return None;
        }
        let last = self.pending.len() <= CONTENT_TOKENS;
        let len = self.pending.len().min(CONTENT_TOKENS);
        let tokens: Vec<Token> = self.pending.iter().take(len).copied().collect();
        let owned_start = if self.started { OVERLAP / 2 } else { 0 };
        let owned_end = if last { len } else { len - OVERLAP / 2 };
        if last {
            self.finished = true;
            self.pending.clear();
        } else {
            self.pending.drain(..len - OVERLAP);
        }
        self.started = true;
        Some(Ok(Window {
            tokens,
            owned: owned_start..owned_end,
        }))
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer() -> Tokenizer {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/rampart/tokenizer.json");
        Tokenizer::from_file(path).unwrap()
    }

    fn windows(tokenizer: &Tokenizer, text: &str) -> Vec<Window> {
        let vocab = Vocab::of(tokenizer).unwrap();
        Windows::new(tokenizer, &vocab, text)
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Every token of the text, in order, as the windows own them.
    fn owned(windows: &[Window]) -> Vec<Token> {
        windows
            .iter()
            .flat_map(|w| w.owned_tokens().to_vec())
            .collect()
    }

    #[test]
    fn short_text_is_one_window_owning_every_token() {
        let t = tokenizer();
        let w = windows(&t, "My name is John Smith.");
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].owned, 0..w[0].tokens.len());
        assert!(w[0].tokens.len() >= 6);
    }

    #[test]
    fn empty_and_blank_text_have_no_windows() {
        let t = tokenizer();
        assert!(windows(&t, "").is_empty());
        assert!(windows(&t, " \n\t  \r\n").is_empty());
    }

    #[test]
    fn long_text_windows_fit_the_model_overlap_and_own_each_token_once() {
        let t = tokenizer();
        // About 20,000 tokens over several segments.
        let text = "The quarterly report was filed on time, reviewed, and archived. ".repeat(1500);
        let w = windows(&t, &text);
        assert!(w.len() > 30);
        for pair in w.windows(2) {
            assert_eq!(pair[0].tokens.len(), CONTENT_TOKENS);
            let shared = &pair[0].tokens[CONTENT_TOKENS - OVERLAP..];
            assert_eq!(shared, &pair[1].tokens[..OVERLAP]);
        }
        let all = t.encode(text.as_str(), false).unwrap();
        let owned = owned(&w);
        assert_eq!(owned.len(), all.get_ids().len());
        for (tok, (&id, &(s, e))) in owned
            .iter()
            .zip(all.get_ids().iter().zip(all.get_offsets()))
        {
            assert_eq!((tok.id, tok.start, tok.end), (id, s, e));
        }
    }

    #[test]
    fn a_window_boundary_exactly_at_the_end_still_owns_everything() {
        let t = tokenizer();
        for words in [509, 510, 511, 512, 892, 893, 894] {
            let text = "word ".repeat(words);
            let w = windows(&t, &text);
            assert_eq!(owned(&w).len(), words, "{words} words");
            assert!(w
                .iter()
                .all(|w| w.tokens.len() + 2 <= MAX_WINDOW_TOKENS && !w.owned.is_empty()));
        }
    }

    #[test]
    fn a_line_without_whitespace_is_cut_on_char_boundaries() {
        let t = tokenizer();
        let text = "é".repeat(3 * SEGMENT_BYTES) + &"a".repeat(100_000);
        for tok in owned(&windows(&t, &text)) {
            assert!(text.is_char_boundary(tok.start) && text.is_char_boundary(tok.end));
            assert!(tok.start <= tok.end && tok.end <= text.len());
        }
    }

    #[test]
    fn control_tokens_written_in_the_text_become_unknown() {
        let t = tokenizer();
        let vocab = Vocab::of(&t).unwrap();
        let w = windows(&t, "John [SEP] [CLS] Smith");
        let ids: Vec<u32> = w[0].tokens.iter().map(|t| t.id).collect();
        assert!(
            !ids.contains(&vocab.sep) && !ids.contains(&vocab.cls),
            "{ids:?}"
        );
        assert!(ids.contains(&vocab.unk));
    }

    #[test]
    fn continuation_pieces_are_marked() {
        let t = tokenizer();
        let w = windows(&t, "Zbigniewski");
        let tokens = &w[0].tokens;
        assert!(tokens.len() > 1, "{tokens:?}");
        assert!(!tokens[0].continuation);
        assert!(tokens[1..].iter().all(|t| t.continuation));
    }
}
