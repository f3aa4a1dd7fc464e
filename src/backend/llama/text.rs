//! From token bytes to the text a client may see.
//!
//! Tokens are byte sequences: a multi-byte character can start in one token and end in the next,
//! so [`Utf8Assembler`] holds back an incomplete tail. Stop sequences can span tokens too, so
//! [`StopFilter`] holds back the longest tail that could still become a stop sequence and never
//! emits the stop text itself.

/// Turns a stream of byte pieces into valid UTF-8 text.
#[derive(Debug, Default)]
pub struct Utf8Assembler {
    pending: Vec<u8>,
}

impl Utf8Assembler {
    /// Adds bytes; returns the text completed so far. Invalid bytes become U+FFFD.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut text = String::new();
        let mut start = 0;
        loop {
            match std::str::from_utf8(&self.pending[start..]) {
                Ok(valid) => {
                    text.push_str(valid);
                    start = self.pending.len();
                    break;
                }
                Err(error) => {
                    let valid_end = start + error.valid_up_to();
                    text.push_str(
                        std::str::from_utf8(&self.pending[start..valid_end])
                            .expect("checked by from_utf8"),
                    );
                    match error.error_len() {
                        Some(invalid) => {
                            text.push(char::REPLACEMENT_CHARACTER);
                            start = valid_end + invalid;
                        }
                        None => {
                            start = valid_end;
                            break;
                        }
                    }
                }
            }
        }
        self.pending.drain(..start);
        text
    }

    /// Ends the stream: an incomplete character left over becomes U+FFFD.
    pub fn finish(&mut self) -> String {
        let rest = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        rest
    }
}

/// Cuts generated text at the first stop sequence.
#[derive(Debug, Default)]
pub struct StopFilter {
    stops: Vec<String>,
    held: String,
}

/// What [`StopFilter::push`] lets through.
#[derive(Debug, PartialEq, Eq)]
pub struct Filtered {
    pub text: String,
    /// A stop sequence was found: generation must end, `text` is the last text.
    pub stopped: bool,
}

impl StopFilter {
    pub fn new(stops: impl IntoIterator<Item = String>) -> Self {
        StopFilter {
            stops: stops.into_iter().filter(|s| !s.is_empty()).collect(),
            held: String::new(),
        }
    }

    pub fn push(&mut self, text: &str) -> Filtered {
        self.held.push_str(text);
        let first_stop = self
            .stops
            .iter()
            .filter_map(|stop| self.held.find(stop.as_str()))
            .min();
        if let Some(at) = first_stop {
            self.held.truncate(at);
            return Filtered {
                text: std::mem::take(&mut self.held),
                stopped: true,
            };
        }
        let keep = self
            .stops
            .iter()
            .map(|stop| longest_prefix_suffix(&self.held, stop))
            .max()
            .unwrap_or(0);
        let emit_to = self.held.len() - keep;
        let rest = self.held.split_off(emit_to);
        Filtered {
            text: std::mem::replace(&mut self.held, rest),
            stopped: false,
        }
    }

    /// Ends the stream: releases what was held back.
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }
}

/// The length of the longest proper prefix of `stop` that `text` ends with.
fn longest_prefix_suffix(text: &str, stop: &str) -> usize {
    (1..stop.len())
        .rev()
        .filter(|&len| stop.is_char_boundary(len))
        .find(|&len| text.ends_with(&stop[..len]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multibyte_characters_split_across_pieces_come_out_whole() {
        let text = "é日本🦀x";
        let bytes = text.as_bytes();
        for split in 0..=bytes.len() {
            let mut assembler = Utf8Assembler::default();
            let mut out = assembler.push(&bytes[..split]);
            out.push_str(&assembler.push(&bytes[split..]));
            out.push_str(&assembler.finish());
            assert_eq!(out, text, "split at {split}");
        }
        let mut assembler = Utf8Assembler::default();
        let out: String = bytes.iter().map(|b| assembler.push(&[*b])).collect();
        assert_eq!(out, text);
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut assembler = Utf8Assembler::default();
        assert_eq!(assembler.push(b"a\xffb"), "a\u{fffd}b");
        assert_eq!(assembler.push(b"\xe6\x97"), "");
        assert_eq!(assembler.finish(), "\u{fffd}");
    }

    fn run(stops: &[&str], pieces: &[&str]) -> (String, bool) {
        let mut filter = StopFilter::new(stops.iter().map(|s| s.to_string()));
        let mut out = String::new();
        for piece in pieces {
            let filtered = filter.push(piece);
            out.push_str(&filtered.text);
            if filtered.stopped {
                return (out, true);
            }
        }
        out.push_str(&filter.finish());
        (out, false)
    }

    #[test]
    fn stop_inside_one_piece() {
        assert_eq!(run(&["END"], &["abcENDdef"]), ("abc".into(), true));
    }

    #[test]
    fn stop_split_across_pieces_at_every_offset() {
        let text = "hello world STOP more";
        for split in 0..=text.len() {
            let (a, b) = text.split_at(split);
            assert_eq!(
                run(&["STOP"], &[a, b]),
                ("hello world ".into(), true),
                "split at {split}"
            );
        }
    }

    #[test]
    fn held_prefix_is_released_when_it_does_not_complete() {
        let mut filter = StopFilter::new(["STOP".to_string()]);
        assert_eq!(filter.push("abST").text, "ab");
        assert_eq!(filter.push("x").text, "STx");
        assert_eq!(filter.push("ST").text, "");
        assert_eq!(filter.finish(), "ST");
    }

    #[test]
    fn earliest_of_several_stops_wins() {
        assert_eq!(run(&["bb", "a"], &["xxbbya"]), ("xx".into(), true));
        assert_eq!(
            run(&["\n\n", "Q:"], &["one\n", "\ntwo"]),
            ("one".into(), true)
        );
    }

    #[test]
    fn multibyte_stop_sequences() {
        assert_eq!(run(&["日本"], &["a日", "本b"]), ("a".into(), true));
        assert_eq!(run(&["日本"], &["a日", "x"]), ("a日x".into(), false));
    }

    #[test]
    fn no_stops_passes_everything_through_immediately() {
        let mut filter = StopFilter::new(Vec::new());
        assert_eq!(filter.push("abc").text, "abc");
    }
}
