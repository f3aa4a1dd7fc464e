//! From per-token BIO tags to findings.
//!
//! Two steps, both streaming (tokens arrive in text order, one window at a time):
//! 1. Tokens become *pieces*, runs of one model label. The model often tags a word-piece
//!    continuation B- instead of I-, so a B- token glued to a piece of its own label (no gap)
//!    extends it, and a continuation piece ("##son") always belongs with the word it continues:
//!    pieces cover whole words.
//! 2. Pieces become *findings*: given names and surnames next to each other (only spaces between)
//!    form one PERSON, building number, street name and secondary address one STREET_ADDRESS;
//!    every other label is a finding of its own. The rule id lists the labels that formed it.

use super::labels::{Kind, Part, Tag};
use super::windows::Token;
use crate::detect::{DetectorKind, Finding};

/// A run of tokens with one label.
struct Piece {
    part: Part,
    start: usize,
    end: usize,
    score_sum: f32,
    tokens: u32,
}

/// Adjacent pieces that form one entity.
struct Group {
    kind: Kind,
    start: usize,
    end: usize,
    score_sum: f32,
    tokens: u32,
    labels: Vec<&'static str>,
}

impl Group {
    fn add(&mut self, piece: &Piece) {
        self.end = piece.end;
        self.score_sum += piece.score_sum;
        self.tokens += piece.tokens;
        let label = piece.part.label();
        if self.labels.last() != Some(&label) {
            self.labels.push(label);
        }
    }

    fn into_finding(self) -> Finding {
        Finding {
            decoded: None,
            entity_type: self.kind.entity_type().to_string(),
            start: self.start,
            end: self.end,
            score: self.score_sum / self.tokens as f32,
            detector: DetectorKind::Ner,
            rule_id: format!("rampart:{}", self.labels.join("+")),
            validated: false,
            context: Vec::new(),
        }
    }
}

/// Turns a stream of tagged tokens of `text` into findings.
pub struct Decoder<'t> {
    text: &'t str,
    /// Where the word of the latest token starts (for a label that begins mid-word).
    word_start: usize,
    piece: Option<Piece>,
    group: Option<Group>,
    findings: Vec<Finding>,
}

impl<'t> Decoder<'t> {
    pub fn new(text: &'t str) -> Decoder<'t> {
        Decoder {
            text,
            word_start: 0,
            piece: None,
            group: None,
            findings: Vec::new(),
        }
    }

    /// The next token of the text, its tag and the tag's probability.
    pub fn push(&mut self, token: &Token, tag: Tag, score: f32) {
        if token.start >= token.end {
            return;
        }
        let glued = self.piece.as_ref().is_some_and(|p| p.end == token.start);
        if token.continuation && glued {
            self.extend_piece(token, score);
        } else {
            match tag {
                Tag::Outside => self.close_piece(),
                Tag::Begin(part) | Tag::Inside(part) => {
                    let inside = matches!(tag, Tag::Inside(_));
                    let extends = self
                        .piece
                        .as_ref()
                        .is_some_and(|p| p.part == part && (glued || inside));
                    if extends {
                        self.extend_piece(token, score);
                    } else {
                        self.close_piece();
                        let start = if token.continuation {
                            self.word_start
                        } else {
                            token.start
                        };
                        self.piece = Some(Piece {
                            part,
                            start,
                            end: token.end,
                            score_sum: score,
                            tokens: 1,
                        });
                    }
                }
            }
        }
        if !token.continuation {
            self.word_start = token.start;
        }
    }

    /// All findings, once every token has been pushed.
    pub fn finish(mut self) -> Vec<Finding> {
        self.close_piece();
        self.flush_group();
        self.findings
    }

    fn extend_piece(&mut self, token: &Token, score: f32) {
        if let Some(p) = self.piece.as_mut() {
            p.end = token.end;
            p.score_sum += score;
            p.tokens += 1;
        }
    }

    fn close_piece(&mut self) {
        let Some(piece) = self.piece.take() else {
            return;
        };
        let kind = piece.part.kind();
        if let Some(group) = self.group.as_mut() {
            let joins = group.kind == kind
                && self
                    .text
                    .get(group.end..piece.start)
                    .is_some_and(|gap| kind.joins_across(gap));
            if joins {
                group.add(&piece);
                return;
            }
        }
        self.flush_group();
        let mut group = Group {
            kind,
            start: piece.start,
            end: piece.start,
            score_sum: 0.0,
            tokens: 0,
            labels: Vec::new(),
        };
        group.add(&piece);
        self.group = Some(group);
    }

    fn flush_group(&mut self) {
        if let Some(group) = self.group.take() {
            self.findings.push(group.into_finding());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `text` on spaces into words, and words on '|' into word pieces, tagging each piece
    /// with the tag of the same position in `tags` ("O", "B-CITY", ...).
    fn decode(text_with_bars: &str, tags: &[&str]) -> (String, Vec<Finding>) {
        let text = text_with_bars.replace('|', "");
        let mut tokens = Vec::new();
        let mut pos = 0;
        for word in text_with_bars.split(' ') {
            for (i, piece) in word.split('|').enumerate() {
                if !piece.is_empty() {
                    tokens.push(Token {
                        id: 0,
                        start: pos,
                        end: pos + piece.len(),
                        continuation: i > 0,
                    });
                }
                pos += piece.len();
            }
            pos += 1;
        }
        assert_eq!(tokens.len(), tags.len(), "one tag per piece");
        let mut decoder = Decoder::new(&text);
        for (token, tag) in tokens.iter().zip(tags) {
            decoder.push(token, parse(tag), 0.9);
        }
        let findings = decoder.finish();
        (text, findings)
    }

    fn parse(tag: &str) -> Tag {
        let part = |name: &str| match name {
            "GIVEN_NAME" => Part::GivenName,
            "SURNAME" => Part::Surname,
            "EMAIL" => Part::Email,
            "BUILDING_NUMBER" => Part::BuildingNumber,
            "STREET_NAME" => Part::StreetName,
            "SECONDARY_ADDRESS" => Part::SecondaryAddress,
            "CITY" => Part::City,
            "STATE" => Part::State,
            "ZIP_CODE" => Part::ZipCode,
            other => panic!("test label {other}"),
        };
        match tag.split_once('-') {
            Some(("B", name)) => Tag::Begin(part(name)),
            Some(("I", name)) => Tag::Inside(part(name)),
            _ => Tag::Outside,
        }
    }

    fn spans(text: &str, findings: &[Finding]) -> Vec<(String, String, String)> {
        findings
            .iter()
            .map(|f| {
                (
                    f.entity_type.clone(),
                    text[f.start..f.end].to_string(),
                    f.rule_id.clone(),
                )
            })
            .collect()
    }

    fn triple(t: &str, s: &str, r: &str) -> (String, String, String) {
        (t.to_string(), s.to_string(), r.to_string())
    }

    #[test]
    fn given_name_and_surname_form_one_person() {
        let (text, f) = decode(
            "My name is John Smith .",
            &["O", "O", "O", "B-GIVEN_NAME", "B-SURNAME", "O"],
        );
        assert_eq!(
            spans(&text, &f),
            [triple("PERSON", "John Smith", "rampart:GIVEN_NAME+SURNAME")]
        );
        assert_eq!(f[0].detector, DetectorKind::Ner);
        assert!((f[0].score - 0.9).abs() < 1e-6);
    }

    #[test]
    fn a_lone_name_is_a_person_and_names_apart_are_two() {
        let (text, f) = decode(
            "Ask Mary , then Smith",
            &["O", "B-GIVEN_NAME", "O", "O", "B-SURNAME"],
        );
        assert_eq!(
            spans(&text, &f),
            [
                triple("PERSON", "Mary", "rampart:GIVEN_NAME"),
                triple("PERSON", "Smith", "rampart:SURNAME")
            ]
        );
    }

    #[test]
    fn names_on_separate_lines_stay_separate() {
        let text = "Alice\nBob";
        let tokens = [
            Token {
                id: 0,
                start: 0,
                end: 5,
                continuation: false,
            },
            Token {
                id: 0,
                start: 6,
                end: 9,
                continuation: false,
            },
        ];
        let mut d = Decoder::new(text);
        d.push(&tokens[0], Tag::Begin(Part::GivenName), 0.9);
        d.push(&tokens[1], Tag::Begin(Part::GivenName), 0.9);
        assert_eq!(d.finish().len(), 2);
    }

    #[test]
    fn a_continuation_tagged_begin_merges_with_its_word() {
        let (text, f) = decode("Zbig|niew|ski", &["B-SURNAME", "B-SURNAME", "B-SURNAME"]);
        assert_eq!(
            spans(&text, &f),
            [triple("PERSON", "Zbigniewski", "rampart:SURNAME")]
        );
    }

    #[test]
    fn an_untagged_continuation_stays_with_its_word() {
        let (text, f) = decode("Dear Smith|son ,", &["O", "B-SURNAME", "O", "O"]);
        assert_eq!(
            spans(&text, &f),
            [triple("PERSON", "Smithson", "rampart:SURNAME")]
        );
    }

    #[test]
    fn a_label_starting_mid_word_covers_the_whole_word() {
        let (text, f) = decode("Dear Smith|son ,", &["O", "O", "B-SURNAME", "O"]);
        assert_eq!(
            spans(&text, &f),
            [triple("PERSON", "Smithson", "rampart:SURNAME")]
        );
    }

    #[test]
    fn glued_pieces_of_one_label_merge_but_spaced_begins_do_not() {
        // "a@b.co" as five glued pieces, each tagged B-EMAIL.
        let text = "mail a@b.co now";
        let mut d = Decoder::new(text);
        d.push(
            &Token {
                id: 0,
                start: 0,
                end: 4,
                continuation: false,
            },
            Tag::Outside,
            0.9,
        );
        for (s, e) in [(5, 6), (6, 7), (7, 8), (8, 9), (9, 11)] {
            d.push(
                &Token {
                    id: 0,
                    start: s,
                    end: e,
                    continuation: false,
                },
                Tag::Begin(Part::Email),
                0.8,
            );
        }
        d.push(
            &Token {
                id: 0,
                start: 12,
                end: 15,
                continuation: false,
            },
            Tag::Outside,
            0.9,
        );
        let f = d.finish();
        assert_eq!(
            spans(text, &f),
            [triple("EMAIL_ADDRESS", "a@b.co", "rampart:EMAIL")]
        );

        let (text, f) = decode("New York", &["B-CITY", "B-CITY"]);
        assert_eq!(f.len(), 2, "{:?}", spans(&text, &f));
        let (text, f) = decode("New York", &["B-CITY", "I-CITY"]);
        assert_eq!(
            spans(&text, &f),
            [triple("LOCATION", "New York", "rampart:CITY")]
        );
    }

    #[test]
    fn an_address_line_becomes_street_address_location_and_zip() {
        let (text, f) = decode(
            "I live at 42 Elm Street , Apt 4 , Springfield , IL 62704 .",
            &[
                "O",
                "O",
                "O",
                "B-BUILDING_NUMBER",
                "B-STREET_NAME",
                "I-STREET_NAME",
                "O",
                "B-SECONDARY_ADDRESS",
                "I-SECONDARY_ADDRESS",
                "O",
                "B-CITY",
                "O",
                "B-STATE",
                "B-ZIP_CODE",
                "O",
            ],
        );
        assert_eq!(
            spans(&text, &f),
            [
                triple(
                    "STREET_ADDRESS",
                    "42 Elm Street , Apt 4",
                    "rampart:BUILDING_NUMBER+STREET_NAME+SECONDARY_ADDRESS"
                ),
                triple("LOCATION", "Springfield", "rampart:CITY"),
                triple("LOCATION", "IL", "rampart:STATE"),
                triple("ZIP_CODE", "62704", "rampart:ZIP_CODE"),
            ]
        );
    }

    #[test]
    fn an_inside_tag_without_a_begin_starts_an_entity() {
        let (text, f) = decode("call Smith now", &["O", "I-SURNAME", "O"]);
        assert_eq!(
            spans(&text, &f),
            [triple("PERSON", "Smith", "rampart:SURNAME")]
        );
    }

    #[test]
    fn scores_are_the_mean_over_tokens() {
        let text = "John Smith";
        let mut d = Decoder::new(text);
        d.push(
            &Token {
                id: 0,
                start: 0,
                end: 4,
                continuation: false,
            },
            Tag::Begin(Part::GivenName),
            1.0,
        );
        d.push(
            &Token {
                id: 0,
                start: 5,
                end: 10,
                continuation: false,
            },
            Tag::Begin(Part::Surname),
            0.5,
        );
        let f = d.finish();
        assert!((f[0].score - 0.75).abs() < 1e-6);
    }

    #[test]
    fn no_tokens_or_only_outside_tags_give_nothing() {
        assert!(Decoder::new("").finish().is_empty());
        let (_, f) = decode("nothing to see", &["O", "O", "O"]);
        assert!(f.is_empty());
    }
}
