//! Restoring one text that arrives in pieces (the content of a streamed answer, or the arguments
//! of one streamed tool call).
//!
//! A placeholder may be cut anywhere by the upstream's chunking (`<PER` + `SON_1>`). Each piece is
//! restored and passed on at once, except for a trailing fragment that could still become an
//! issued placeholder: that fragment, never longer than the longest placeholder minus one byte, is
//! held until the next piece decides it, or until [`TextStream::flush`] at the end. Buffering the
//! whole answer would be simpler and would turn time to first token into total time.

use super::restore::{RestoreBudget, RestoreError, Restorer, TextContext};

/// The restoring state of one streamed text.
#[derive(Debug, Clone)]
pub struct TextStream {
    context: TextContext,
    held: String,
}

impl TextStream {
    pub fn new(context: TextContext) -> Self {
        TextStream {
            context,
            held: String::new(),
        }
    }

    /// Takes the next piece; returns what may be passed on now.
    pub fn feed(
        &mut self,
        restorer: &Restorer,
        budget: &mut RestoreBudget,
        piece: &str,
    ) -> Result<String, RestoreError> {
        if self.held.is_empty() && restorer.is_empty() {
            return Ok(piece.to_owned());
        }
        let mut text = std::mem::take(&mut self.held);
        text.push_str(piece);
        let mut out = String::with_capacity(text.len());
        let consumed = restorer.restore_settled(&text, self.context, &mut out, budget)?;
        self.held = text[consumed..].to_owned();
        Ok(out)
    }

    /// Ends the text: what was held back is not a placeholder after all and is passed on as is.
    pub fn flush(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// Bytes currently held back.
    pub fn held_len(&self) -> usize {
        self.held.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::redact::format::PlaceholderFormat;
    use crate::redact::vault::Pseudonyms;

    fn restorer(values: &[(&str, &str)]) -> Restorer {
        let mut p = Pseudonyms::new(PlaceholderFormat::default());
        for (ty, v) in values {
            p.intern(ty, v);
        }
        Restorer::new(&p)
    }

    fn whole(r: &Restorer, text: &str, context: TextContext) -> String {
        let mut out = String::new();
        r.restore_into(text, context, &mut out, &mut RestoreBudget::default())
            .unwrap();
        out
    }

    /// Streams `pieces` and checks the holding bound after every piece.
    fn streamed(r: &Restorer, pieces: &[&str], context: TextContext) -> String {
        let mut s = TextStream::new(context);
        let mut budget = RestoreBudget::default();
        let mut out = String::new();
        for p in pieces {
            out.push_str(&s.feed(r, &mut budget, p).unwrap());
            assert!(
                s.held_len() < r.longest_placeholder().max(1),
                "held {} bytes after {pieces:?}",
                s.held_len()
            );
        }
        out.push_str(&s.flush());
        out
    }

    const VALUES: &[(&str, &str)] = &[
        ("PERSON", "José Ñúñez"),
        ("EMAIL_ADDRESS", "jose@example.com"),
        ("PERSON", "李雷"),
        ("US_SSN", "512-48-7391"),
        ("PERSON", "O\"Brien \\ Sons"),
    ];

    const TEXTS: &[&str] = &[
        "Dear <PERSON_1>, write to <EMAIL_ADDRESS_1>.",
        "<PERSON_2><PERSON_1><US_SSN_1>",
        "< <PER <PERSON_9> <PERSON_1 <PERSON_1> <<PERSON_3>> <US_SSN_1",
        "{\"name\": \"<PERSON_3>\", \"ssn\": \"<US_SSN_1>\"}",
        "plain text with no placeholder at all, but a < sign",
        "José Ñúñez wrote it himself: 李雷 <EMAIL_ADDRESS_>",
    ];

    #[test]
    fn every_split_into_two_pieces_restores_like_the_whole() {
        let r = restorer(VALUES);
        for context in [TextContext::Plain, TextContext::JsonArguments] {
            for text in TEXTS {
                let expected = whole(&r, text, context);
                for cut in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
                    let got = streamed(&r, &[&text[..cut], &text[cut..]], context);
                    assert_eq!(got, expected, "{text:?} cut at {cut}");
                }
            }
        }
    }

    #[test]
    fn every_split_into_three_pieces_restores_like_the_whole() {
        let r = restorer(VALUES);
        for text in TEXTS {
            let expected = whole(&r, text, TextContext::Plain);
            let bounds: Vec<usize> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .collect();
            for (n, &a) in bounds.iter().enumerate() {
                for &b in &bounds[n..] {
                    let got = streamed(
                        &r,
                        &[&text[..a], &text[a..b], &text[b..]],
                        TextContext::Plain,
                    );
                    assert_eq!(got, expected, "{text:?} cut at {a} and {b}");
                }
            }
        }
    }

    #[test]
    fn one_character_at_a_time() {
        let r = restorer(VALUES);
        for text in TEXTS {
            let pieces: Vec<String> = text.chars().map(String::from).collect();
            let pieces: Vec<&str> = pieces.iter().map(String::as_str).collect();
            assert_eq!(
                streamed(&r, &pieces, TextContext::Plain),
                whole(&r, text, TextContext::Plain)
            );
        }
    }

    #[test]
    fn text_passes_at_once_when_it_cannot_start_a_placeholder() {
        let r = restorer(VALUES);
        let mut s = TextStream::new(TextContext::Plain);
        let mut b = RestoreBudget::default();
        assert_eq!(s.feed(&r, &mut b, "Hello there").unwrap(), "Hello there");
        assert_eq!(s.feed(&r, &mut b, ", <PERS").unwrap(), ", ");
        assert_eq!(s.held_len(), 5);
        assert_eq!(s.feed(&r, &mut b, "ON_1> hi").unwrap(), "José Ñúñez hi");
        assert_eq!(s.feed(&r, &mut b, " <PERSONA").unwrap(), " <PERSONA");
        assert_eq!(s.feed(&r, &mut b, " <US_SSN_1").unwrap(), " ");
        assert_eq!(
            s.flush(),
            "<US_SSN_1",
            "a cut-off placeholder is left as written"
        );
    }

    #[test]
    fn json_arguments_stay_valid_json_when_split() {
        let r = restorer(VALUES);
        let args = "{\"who\":\"<PERSON_3>\"}";
        for cut in 0..=args.len() {
            let got = streamed(
                &r,
                &[&args[..cut], &args[cut..]],
                TextContext::JsonArguments,
            );
            let v: serde_json::Value = serde_json::from_str(&got).unwrap();
            assert_eq!(v["who"], "O\"Brien \\ Sons");
        }
    }

    #[test]
    fn nothing_issued_means_nothing_held() {
        let r = restorer(&[]);
        let mut s = TextStream::new(TextContext::Plain);
        let mut b = RestoreBudget::default();
        assert_eq!(s.feed(&r, &mut b, "<PER").unwrap(), "<PER");
        assert_eq!(s.held_len(), 0);
    }
}
