//! The normalised view of a text that detectors see, and the way back to the original's bytes.
//!
//! An SSN in full-width digits, written as HTML entities or percent-escapes, cut by zero-width
//! spaces or U+2010 hyphens, spelled one digit at a time, or hidden in base64 is still an SSN to
//! the model that reads it. Detectors match ASCII patterns, so each text is folded first:
//!
//! 1. characters: HTML entities and percent-escapes decoded, Unicode compatibility forms folded
//!    (NFKC per character: full-width and mathematical letters and digits, ligatures), decimal
//!    digits of every script as ASCII digits, dashes and hyphens as `-`, exotic spaces as ` `,
//!    invisible characters (zero-width, soft hyphen, bidi controls, tags) removed;
//! 2. spaced digits: `5 1 2 - 4 8 - 7 3 9 1` joined to `512-48-7391`;
//! 3. base64: a run that decodes to text is followed, in the view, by its decoded (and folded)
//!    text, so both the run (a JWT, a key) and what it hides are scanned.
//!
//! Each stage that changes anything is a [`Layer`] that records which stretches it rewrote.
//! Findings on the view are mapped back through the layers to byte spans of the original, widened
//! to whole encoded sequences (a finding inside decoded base64 covers the whole run), so redaction
//! replaces the original bytes, and the finding names the strongest [`Decoding`] it crossed.
//! Plain ASCII text without `&`, `%`, base64-like runs or spaced digits is not copied at all.

use std::borrow::Cow;

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use serde::{Deserialize, Serialize};
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// How the text of a finding was written in the original, when not as detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decoding {
    /// Compatibility forms, other scripts' digits, Unicode dashes or spaces, invisible characters.
    Unicode,
    /// Digits written one at a time with spaces between them.
    SpacedDigits,
    /// `%XX` escapes.
    Percent,
    /// `&#NN;`, `&#xHH;` or named HTML entities.
    HtmlEntities,
    /// Inside a base64 run.
    Base64,
}

impl Decoding {
    /// The name `--explain` and the JSON output use.
    pub fn as_str(self) -> &'static str {
        match self {
            Decoding::Unicode => "unicode",
            Decoding::SpacedDigits => "spaced_digits",
            Decoding::Percent => "percent",
            Decoding::HtmlEntities => "html_entities",
            Decoding::Base64 => "base64",
        }
    }
}

/// Base64 runs shorter than this are words, not encodings (12 characters hold 9 bytes: an SSN
/// without dashes).
const MIN_BASE64_CHARS: usize = 12;
/// A base64 line at least this long, a whole number of 4-character groups, followed by a line
/// break and more base64, is wrapped (MIME wraps at 76, PEM at 64): its lines decode together.
const MIN_WRAPPED_LINE: usize = 40;
/// Decoded base64 is folded again (it may hide full-width digits or another base64 layer) this
/// many times at most.
const MAX_BASE64_DEPTH: u8 = 2;
/// Spaced digit runs with fewer digits than this are left alone (dates, versions, small counts).
const MIN_SPACED_DIGITS: usize = 7;

/// One stage: its input and the base64 nesting depth, and its output and layer when it changed
/// anything.
type Stage = fn(&str, u8) -> Option<(String, Layer)>;

/// The stages in the order they run.
const STAGES: [Stage; 3] = [fold_characters, join_spaced_digits, expand_base64];

/// One stretch a stage rewrote: `view` bytes of its output came from `original` bytes of its
/// input. Stretches between pieces are copied unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Piece {
    view: (usize, usize),
    original: (usize, usize),
    how: Decoding,
}

/// What one stage changed, in order of its output.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Layer {
    pieces: Vec<Piece>,
}

impl Layer {
    /// The last piece whose view starts at or before `at` (`strictly`: before).
    fn piece_before(&self, at: usize, strictly: bool) -> Option<&Piece> {
        let n = self
            .pieces
            .partition_point(|p| p.view.0 < at || (!strictly && p.view.0 == at));
        n.checked_sub(1).map(|i| &self.pieces[i])
    }

    /// The input offset where a span starting at output offset `at` starts.
    fn map_start(&self, at: usize) -> usize {
        match self.piece_before(at, false) {
            None => at,
            Some(p) if at < p.view.1 => p.original.0,
            Some(p) => p.original.1 + (at - p.view.1),
        }
    }

    /// The input offset where a span ending at output offset `at` (exclusive) ends.
    fn map_end(&self, at: usize) -> usize {
        match self.piece_before(at, true) {
            None => at,
            Some(p) if at <= p.view.1 => p.original.1,
            Some(p) => p.original.1 + (at - p.view.1),
        }
    }

    /// The strongest decoding among the pieces that output span `start..end` overlaps.
    fn decoding_in(&self, start: usize, end: usize) -> Option<Decoding> {
        let first = self.pieces.partition_point(|p| p.view.1 <= start);
        self.pieces[first..]
            .iter()
            .take_while(|p| p.view.0 < end)
            .map(|p| p.how)
            .max()
    }
}

/// Builds one stage's output and its layer.
struct Rewriter<'a> {
    input: &'a str,
    out: String,
    layer: Layer,
    copied_to: usize,
}

impl<'a> Rewriter<'a> {
    fn new(input: &'a str) -> Self {
        Rewriter {
            input,
            out: String::with_capacity(input.len() + input.len() / 8),
            layer: Layer::default(),
            copied_to: 0,
        }
    }

    /// Replaces input `start..end` by `with` (input before `start` is copied unchanged).
    fn replace(&mut self, start: usize, end: usize, with: &str, how: Decoding) {
        self.copy_to(start);
        let view_start = self.out.len();
        self.out.push_str(with);
        self.layer.pieces.push(Piece {
            view: (view_start, self.out.len()),
            original: (start, end),
            how,
        });
        self.copied_to = end;
    }

    /// Inserts `text` after input `at`, standing for input `original` (which ends at `at`).
    fn insert(&mut self, at: usize, original: (usize, usize), text: &str, how: Decoding) {
        self.copy_to(at);
        let view_start = self.out.len();
        self.out.push_str(text);
        self.layer.pieces.push(Piece {
            view: (view_start, self.out.len()),
            original,
            how,
        });
    }

    fn copy_to(&mut self, at: usize) {
        self.out.push_str(&self.input[self.copied_to..at]);
        self.copied_to = at;
    }

    /// The output and its layer, or `None` when nothing was rewritten.
    fn finish(mut self) -> Option<(String, Layer)> {
        if self.layer.pieces.is_empty() {
            return None;
        }
        self.copy_to(self.input.len());
        Some((self.out, self.layer))
    }
}

/// A text as detectors should see it, and how to map their spans back.
#[derive(Debug)]
pub struct NormalizedText<'a> {
    text: Cow<'a, str>,
    /// In the order the stages ran; mapping back walks them in reverse.
    layers: Vec<Layer>,
}

impl<'a> NormalizedText<'a> {
    /// The view of `original` detectors should scan.
    pub fn new(original: &'a str) -> Self {
        let mut text = Cow::Borrowed(original);
        let mut layers = Vec::new();
        for stage in STAGES {
            if let Some((out, layer)) = stage(&text, 0) {
                text = Cow::Owned(out);
                layers.push(layer);
            }
        }
        NormalizedText { text, layers }
    }

    /// The text detectors scan.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the view is the original itself (offsets need no mapping).
    pub fn is_identity(&self) -> bool {
        self.layers.is_empty()
    }

    /// The original byte span of view span `start..end`, and the strongest decoding it crossed.
    pub fn to_original(&self, start: usize, end: usize) -> (usize, usize, Option<Decoding>) {
        let (mut start, mut end) = (start, end);
        let mut decoding = None;
        for layer in self.layers.iter().rev() {
            decoding = decoding.max(layer.decoding_in(start, end));
            let mapped_start = layer.map_start(start);
            end = layer.map_end(end).max(mapped_start);
            start = mapped_start;
        }
        (start, end, decoding)
    }
}

/// Stage 1: entities, escapes and Unicode forms, one character at a time.
fn fold_characters(input: &str, _depth: u8) -> Option<(String, Layer)> {
    if input.is_ascii() && memchr::memchr2(b'&', b'%', input.as_bytes()).is_none() {
        return None;
    }
    let bytes = input.as_bytes();
    let ascii = input.is_ascii();
    let mut rw = Rewriter::new(input);
    let mut i = 0;
    let mut buf = String::new();
    while i < bytes.len() {
        // Most text is ASCII: in it, only `&` and `%` can start anything to fold.
        if ascii {
            match memchr::memchr2(b'&', b'%', &bytes[i..]) {
                Some(next) => i += next,
                None => break,
            }
        }
        let b = bytes[i];
        let decoded = match b {
            b'&' => html_entity(&input[i..]).map(|(len, c)| (len, c, Decoding::HtmlEntities)),
            b'%' => percent_escape(&input[i..]).map(|(len, c)| (len, c, Decoding::Percent)),
            0x80.. => {
                let c = input[i..].chars().next().expect("on a char boundary");
                Some((c.len_utf8(), c, Decoding::Unicode))
            }
            _ => None,
        };
        let Some((len, c, how)) = decoded else {
            i += 1;
            continue;
        };
        buf.clear();
        fold_char(c, &mut buf);
        let unchanged = how == Decoding::Unicode && buf.len() == len && buf == input[i..i + len];
        if !unchanged {
            rw.replace(i, i + len, &buf, how);
        }
        i += len;
    }
    rw.finish()
}

/// Appends what `c` is to a detector: nothing for invisible characters, ASCII for digits,
/// dashes and spaces, the NFKC form for compatibility characters.
fn fold_char(c: char, out: &mut String) {
    if c.is_ascii() {
        out.push(c);
    } else if is_invisible(c) {
    } else if is_dash(c) {
        out.push('-');
    } else if let Some(d) = decimal_digit(c) {
        out.push(char::from(b'0' + d));
    } else if c.is_whitespace() {
        out.push(if c == '\u{2028}' || c == '\u{2029}' {
            '\n'
        } else {
            ' '
        });
    } else if is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
        out.push(c);
    } else {
        for folded in std::iter::once(c).nfkc() {
            match decimal_digit(folded) {
                Some(d) => out.push(char::from(b'0' + d)),
                None if is_dash(folded) => out.push('-'),
                None => out.push(folded),
            }
        }
    }
}

/// Characters that render as nothing and only serve to break a pattern apart.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1BCA0}'..='\u{1BCA3}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

/// Hyphens, dashes and minus signs of every script.
fn is_dash(c: char) -> bool {
    matches!(
        c,
        '\u{058A}' | '\u{05BE}' | '\u{1400}' | '\u{1806}' | '\u{2010}'
            ..='\u{2015}'
                | '\u{2043}'
                | '\u{207B}'
                | '\u{208B}'
                | '\u{2212}'
                | '\u{2E17}'
                | '\u{2E1A}'
                | '\u{2E3A}'
                | '\u{2E3B}'
                | '\u{2E40}'
                | '\u{301C}'
                | '\u{3030}'
                | '\u{30A0}'
                | '\u{FE31}'
                | '\u{FE32}'
                | '\u{FE58}'
                | '\u{FE63}'
                | '\u{FF0D}'
    )
}

/// The first code point of each block of ten decimal digits (Unicode category Nd) outside ASCII.
/// NFKC keeps these as they are, so they are folded here.
const DIGIT_ZEROS: &[u32] = &[
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650,
    0x116C0, 0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16B50, 0x1D7CE,
    0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

fn decimal_digit(c: char) -> Option<u8> {
    let c = c as u32;
    if c < 0x660 {
        return None;
    }
    let i = DIGIT_ZEROS
        .partition_point(|&zero| zero <= c)
        .checked_sub(1)?;
    let offset = c - DIGIT_ZEROS[i];
    (offset < 10).then_some(offset as u8)
}

/// Named entities an evasion would use (digits, separators, `@`, `.`), and the common ones.
const NAMED_ENTITIES: &[(&str, char)] = &[
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("quot", '"'),
    ("apos", '\''),
    ("nbsp", ' '),
    ("hyphen", '-'),
    ("dash", '-'),
    ("ndash", '-'),
    ("mdash", '-'),
    ("minus", '-'),
    ("period", '.'),
    ("commat", '@'),
    ("colon", ':'),
    ("sol", '/'),
    ("num", '#'),
    ("lpar", '('),
    ("rpar", ')'),
    ("plus", '+'),
    ("comma", ','),
    ("lowbar", '_'),
    ("Tab", '\t'),
    ("NewLine", '\n'),
];

/// `&#NN;`, `&#xHH;` (the `;` may be missing, as browsers allow) or `&name;` at the start of `s`:
/// its length and character.
fn html_entity(s: &str) -> Option<(usize, char)> {
    let rest = s.as_bytes().get(1..)?;
    if rest.first() == Some(&b'#') {
        let (radix, digits_at) = match rest.get(1) {
            Some(b'x' | b'X') => (16, 2),
            _ => (10, 1),
        };
        let digits = rest[digits_at..]
            .iter()
            .take(8)
            .take_while(|b| (**b as char).is_digit(radix))
            .count();
        if digits == 0 {
            return None;
        }
        let start = 1 + digits_at;
        let code = u32::from_str_radix(&s[start..start + digits], radix).ok()?;
        let c = char::from_u32(code).filter(|&c| c != '\0')?;
        let semicolon = usize::from(s.as_bytes().get(start + digits) == Some(&b';'));
        return Some((start + digits + semicolon, c));
    }
    let name_len = rest
        .iter()
        .take(10)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if rest.get(name_len) != Some(&b';') {
        return None;
    }
    let name = &s[1..1 + name_len];
    NAMED_ENTITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|&(_, c)| (name_len + 2, c))
}

/// One character written as `%XX` escapes (one to four of them, valid UTF-8) at the start of `s`.
fn percent_escape(s: &str) -> Option<(usize, char)> {
    let byte_at = |i: usize| -> Option<u8> {
        let triplet = s.as_bytes().get(i * 3..i * 3 + 3)?;
        if triplet[0] != b'%' {
            return None;
        }
        u8::from_str_radix(std::str::from_utf8(&triplet[1..]).ok()?, 16).ok()
    };
    let first = byte_at(0)?;
    let len = match first {
        0x00..=0x7F => 1,
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let mut utf8 = [first, 0, 0, 0];
    for (i, slot) in utf8.iter_mut().enumerate().take(len).skip(1) {
        *slot = byte_at(i)?;
    }
    let c = std::str::from_utf8(&utf8[..len]).ok()?.chars().next()?;
    (c != '\0').then_some((len * 3, c))
}

/// Stage 2: runs of single digits (and dashes) separated by single spaces, joined.
fn join_spaced_digits(input: &str, _depth: u8) -> Option<(String, Layer)> {
    let bytes = input.as_bytes();
    let in_run = |b: u8| b == b' ' || b == b'-' || b.is_ascii_digit();
    // The shortest run worth joining: digits with a space between each two.
    let shortest = 2 * MIN_SPACED_DIGITS - 1;
    let mut rw: Option<Rewriter> = None;
    // Stretches of digits, dashes and spaces long enough to hold a run are found by probing
    // every `shortest` bytes; prose is passed over in strides. `i` is never inside a stretch.
    let mut i = 0;
    while i + shortest <= bytes.len() {
        let probe = i + shortest - 1;
        if !in_run(bytes[probe]) {
            i = probe + 1;
            continue;
        }
        let mut start = probe;
        while start > i && in_run(bytes[start - 1]) {
            start -= 1;
        }
        let mut end = probe + 1;
        while end < bytes.len() && in_run(bytes[end]) {
            end += 1;
        }
        if end - start >= shortest {
            join_runs_in(input, start, end, &mut rw);
        }
        i = end + 1;
    }
    rw?.finish()
}

/// Joins the spaced runs inside `start..end`, a stretch of digits, dashes and spaces.
fn join_runs_in<'a>(input: &'a str, start: usize, end: usize, rw: &mut Option<Rewriter<'a>>) {
    let bytes = input.as_bytes();
    let mut i = start;
    while let Some(found) = memchr::memchr(b' ', &bytes[i..end]) {
        let space = i + found;
        i = space + 1;
        // A run starts at a lone digit: not inside a word, followed by one space.
        if space == 0 || !bytes[space - 1].is_ascii_digit() {
            continue;
        }
        let run_start = space - 1;
        let (run_end, digits) = spaced_run(bytes, run_start);
        // Every later start inside this run ends where it does: skipping it keeps the pass linear.
        i = i.max(run_end).min(end);
        let in_word = run_start > 0 && bytes[run_start - 1].is_ascii_alphanumeric();
        if in_word || digits < MIN_SPACED_DIGITS {
            continue;
        }
        let joined: String = input[run_start..run_end].split(' ').collect();
        rw.get_or_insert_with(|| Rewriter::new(input)).replace(
            run_start,
            run_end,
            &joined,
            Decoding::SpacedDigits,
        );
    }
}

/// The end of the run of single-character tokens (digits or `-`) from `start`, and its digits.
fn spaced_run(bytes: &[u8], start: usize) -> (usize, usize) {
    let is_token = |b: u8| b.is_ascii_digit() || b == b'-';
    let is_boundary = |at: usize| at >= bytes.len() || !bytes[at].is_ascii_alphanumeric();
    let mut end = start;
    let mut digits = 0;
    let mut at = start;
    while at < bytes.len() && is_token(bytes[at]) && is_boundary(at + 1) {
        digits += usize::from(bytes[at].is_ascii_digit());
        end = at + 1;
        if bytes.get(at + 1) == Some(&b' ') && bytes.get(at + 2).is_some_and(|&b| is_token(b)) {
            at += 2;
        } else {
            break;
        }
    }
    (end, digits)
}

/// Stage 3: each base64 run that decodes to text is followed by that text (folded).
fn expand_base64(input: &str, depth: u8) -> Option<(String, Layer)> {
    if depth >= MAX_BASE64_DEPTH {
        return None;
    }
    let bytes = input.as_bytes();
    let is_base64 = |at: usize| BASE64_BYTE[usize::from(bytes[at])];
    let mut rw: Option<Rewriter> = None;
    // `i` is never inside a run: the byte before it is not a base64 byte.
    let mut i = 0;
    while i + MIN_BASE64_CHARS <= bytes.len() {
        // A long enough run starting at or after `i` covers this byte: where it is not a base64
        // byte, no run does, and the search jumps past it (prose is passed over in strides).
        let probe = i + MIN_BASE64_CHARS - 1;
        if !is_base64(probe) {
            i = probe + 1;
            continue;
        }
        let mut start = probe;
        while start > i && is_base64(start - 1) {
            start -= 1;
        }
        let run_end_at = |from: usize| {
            let mut end = from;
            while end < bytes.len() && is_base64(end) {
                end += 1;
            }
            end
        };
        // Further lines of a wrapped run, found only after a line long enough to be wrapped.
        let first = (start, run_end_at(probe + 1));
        let mut wrapped: Vec<(usize, usize)> = Vec::new();
        loop {
            let (line_start, line_end) = wrapped.last().copied().unwrap_or(first);
            let length = line_end - line_start;
            if length < MIN_WRAPPED_LINE || length % 4 != 0 {
                break;
            }
            let next = match &bytes[line_end..] {
                [b'\n', ..] => line_end + 1,
                [b'\r', b'\n', ..] => line_end + 2,
                _ => break,
            };
            if next >= bytes.len() || !is_base64(next) {
                break;
            }
            wrapped.push((next, run_end_at(next)));
        }
        let run_end = wrapped.last().unwrap_or(&first).1;
        let mut end = run_end;
        while end < bytes.len() && end - run_end < 2 && bytes[end] == b'=' {
            end += 1;
        }
        i = run_end + 1;
        if run_end - start < MIN_BASE64_CHARS {
            continue;
        }
        let is_wrapped = !wrapped.is_empty();
        let run: Cow<str> = if !is_wrapped {
            Cow::Borrowed(&input[first.0..first.1])
        } else {
            Cow::Owned(
                std::iter::once(first)
                    .chain(wrapped)
                    .map(|(s, e)| &input[s..e])
                    .collect(),
            )
        };
        // Dot-separated segments (a JSON web token: header.payload.signature) are one token:
        // their decoded text goes after the last segment, so that the token stays whole in the
        // view for the rules that match it as written.
        let mut decoded = decode_base64_text(&run);
        let mut chain_end = end;
        if !is_wrapped {
            while chain_end + 1 < bytes.len()
                && bytes[chain_end] == b'.'
                && is_base64(chain_end + 1)
            {
                let segment_end = run_end_at(chain_end + 1);
                if let Some(more) = decode_base64_text(&input[chain_end + 1..segment_end]) {
                    decoded.get_or_insert_with(String::new).push_str(&more);
                }
                chain_end = segment_end;
                while chain_end < bytes.len() && bytes[chain_end] == b'=' {
                    chain_end += 1;
                }
            }
            i = i.max(chain_end + 1);
        }
        if let Some(decoded) = decoded {
            let folded = fold_decoded(&decoded, depth + 1);
            let inserted = format!("\n{folded}\n");
            rw.get_or_insert_with(|| Rewriter::new(input)).insert(
                chain_end,
                (start, chain_end),
                &inserted,
                Decoding::Base64,
            );
        }
    }
    rw?.finish()
}

/// The standard and URL-safe base64 alphabets together (padding aside).
static BASE64_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
        b += 1;
    }
    table
};

/// Decoded text gets the same folding as the original (except that its offsets are not kept:
/// a finding anywhere in it stands for the whole run).
fn fold_decoded(decoded: &str, depth: u8) -> String {
    let mut text = Cow::Borrowed(decoded);
    for stage in STAGES {
        if let Some((out, _)) = stage(&text, depth) {
            text = Cow::Owned(out);
        }
    }
    text.into_owned()
}

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_allow_trailing_bits(true)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// The text `run` encodes, if it is base64 of printable UTF-8 (binary data and words that
/// happen to use only base64 letters decode to bytes that are not).
fn decode_base64_text(run: &str) -> Option<String> {
    // Base64 of nine bytes or more of text has upper and lower case letters; runs of digits
    // (card and account numbers) and words in one case are not worth a decode.
    let mixed_case =
        run.bytes().any(|b| b.is_ascii_uppercase()) && run.bytes().any(|b| b.is_ascii_lowercase());
    if !mixed_case {
        return None;
    }
    let url_safe = run.bytes().any(|b| b == b'-' || b == b'_');
    if url_safe && run.bytes().any(|b| b == b'+' || b == b'/') {
        return None;
    }
    let engine = if url_safe { &URL_SAFE } else { &STANDARD };
    // Unpadded input decodes unless one character is left over; a short prefix of whole groups
    // of four rules most runs out cheaply.
    let usable = run.len() - usize::from(run.len() % 4 == 1);
    let probe = &run[..usable.min(64)];
    if !is_text(&engine.decode(probe).ok()?) {
        return None;
    }
    let decoded = engine.decode(&run[..usable]).ok()?;
    if !is_text(&decoded) {
        return None;
    }
    String::from_utf8(decoded).ok()
}

/// UTF-8 without control characters other than tab and line breaks (a cut multi-byte character
/// at the very end is allowed: the probe stops anywhere).
fn is_text(bytes: &[u8]) -> bool {
    let valid = match std::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) if e.error_len().is_none() => {
            std::str::from_utf8(&bytes[..e.valid_up_to()]).expect("valid up to")
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && valid
            .chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(s: &str) -> String {
        NormalizedText::new(s).text().to_owned()
    }

    /// The original text under view span of `needle`.
    fn back<'a>(original: &'a str, needle: &str) -> (&'a str, Option<Decoding>) {
        let n = NormalizedText::new(original);
        let at = n.text().find(needle).expect("needle in view");
        let (s, e, how) = n.to_original(at, at + needle.len());
        (&original[s..e], how)
    }

    #[test]
    fn decoding_names_match_their_json() {
        for d in [
            Decoding::Unicode,
            Decoding::SpacedDigits,
            Decoding::Percent,
            Decoding::HtmlEntities,
            Decoding::Base64,
        ] {
            assert_eq!(
                serde_json::to_string(&d).unwrap(),
                format!("\"{}\"", d.as_str())
            );
        }
    }

    #[test]
    fn plain_ascii_is_not_copied() {
        let n = NormalizedText::new("Patient seen on 2024-01-02, SSN 512-48-7391.");
        assert!(n.is_identity());
        assert!(matches!(n.text, Cow::Borrowed(_)));
    }

    #[test]
    fn full_width_and_other_script_digits_fold() {
        assert_eq!(view("SSN ５１２-４８-７３９１"), "SSN 512-48-7391");
        assert_eq!(view("٥١٢-٤٨-٧٣٩١"), "512-48-7391");
        assert_eq!(view("𝟓𝟏𝟐‐𝟒𝟖‐𝟕𝟑𝟗𝟏"), "512-48-7391");
        assert_eq!(
            back("SSN ５１２-４８-７３９１ ok", "512-48-7391"),
            ("５１２-４８-７３９１", Some(Decoding::Unicode))
        );
    }

    #[test]
    fn invisible_characters_vanish_and_dashes_fold() {
        let s = "512\u{200B}-\u{200C}48\u{2060}-7391 and 512\u{2010}48\u{2011}7391";
        assert_eq!(view(s), "512-48-7391 and 512-48-7391");
        let (orig, how) = back(s, "512-48-7391");
        assert_eq!(orig, "512\u{200B}-\u{200C}48\u{2060}-7391");
        assert_eq!(how, Some(Decoding::Unicode));
    }

    #[test]
    fn html_entities_and_percent_escapes_decode() {
        let s = "ssn &#53;&#49;&#50;&#x2d;48&#45;7391&amp;more";
        assert_eq!(view(s), "ssn 512-48-7391&more");
        assert_eq!(
            back(s, "512-48-7391"),
            (
                "&#53;&#49;&#50;&#x2d;48&#45;7391",
                Some(Decoding::HtmlEntities)
            )
        );
        assert_eq!(
            view("jane%40example.com %E2%80%90 100% sure %zz"),
            "jane@example.com - 100% sure %zz"
        );
        assert_eq!(view("R&D; Q&A; &bogus; &#;"), "R&D; Q&A; &bogus; &#;");
    }

    #[test]
    fn spaced_digits_join() {
        let s = "it is 5 1 2 - 4 8 - 7 3 9 1 ok";
        assert_eq!(view(s), "it is 512-48-7391 ok");
        assert_eq!(
            back(s, "512-48-7391"),
            ("5 1 2 - 4 8 - 7 3 9 1", Some(Decoding::SpacedDigits))
        );
        // Short runs (dates, scores) and digits inside words stay.
        assert_eq!(
            view("scores 1 2 3 and v1 2 3 4 5 6 7 8"),
            "scores 1 2 3 and v1 2 3 4 5 6 7 8"
        );
    }

    #[test]
    fn a_dotted_token_stays_whole_with_its_segments_decoded_after_it() {
        let jwt = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJKYW5lIERvZSJ9.c2lnbmF0dXJl";
        let v = view(&format!("token {jwt} end"));
        assert!(v.contains(&format!("token {jwt}\n")), "{v}");
        assert!(
            v.contains(r#""alg":"HS256""#) && v.contains(r#""sub":"Jane Doe""#),
            "{v}"
        );
        let text = format!("token {jwt} end");
        let (span, how) = back(&text, "Jane Doe");
        assert_eq!((span, how), (jwt, Some(Decoding::Base64)));
    }

    #[test]
    fn base64_text_is_scanned_next_to_its_run() {
        use base64::engine::general_purpose::STANDARD as B64;
        let secret = "Jane Roe, SSN 512-48-7391, diabetes";
        let run = B64.encode(secret);
        let s = format!("blob: {run} end");
        let n = NormalizedText::new(&s);
        assert!(
            n.text().contains(&run),
            "the run itself stays for secret rules"
        );
        assert!(n.text().contains(secret));
        let at = n.text().find("512-48-7391").unwrap();
        let (start, end, how) = n.to_original(at, at + 11);
        assert_eq!(&s[start..end], run);
        assert_eq!(how, Some(Decoding::Base64));
        // Text after the run still maps to itself.
        let at = n.text().find("end").unwrap();
        let (start, end, how) = n.to_original(at, at + 3);
        assert_eq!((&s[start..end], how), ("end", None));
    }

    #[test]
    fn short_and_wrapped_base64_decode() {
        use base64::engine::general_purpose::STANDARD as B64;
        // An SSN alone: 15 characters and a pad.
        assert!(view(&format!("id {} ok", B64.encode("362-57-6552"))).contains("362-57-6552"));
        // A note wrapped at 76 characters, the SSN cut by a line break.
        let note = format!("{}SSN 362-57-6552 and more text after it", "x".repeat(50));
        let encoded = B64.encode(&note);
        let wrapped: Vec<&str> = encoded
            .as_bytes()
            .chunks(76)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        let s = format!("attachment:\r\n{}\r\nend", wrapped.join("\r\n"));
        let n = NormalizedText::new(&s);
        assert!(n.text().contains("362-57-6552"), "{}", n.text());
        let at = n.text().find("362-57-6552").unwrap();
        let (a, b, how) = n.to_original(at, at + 11);
        assert_eq!(&s[a..b], wrapped.join("\r\n"));
        assert_eq!(how, Some(Decoding::Base64));
    }

    #[test]
    fn base64_of_binary_and_long_words_is_left_alone() {
        use base64::engine::general_purpose::STANDARD as B64;
        let binary = B64.encode([
            0u8, 159, 146, 150, 1, 2, 3, 250, 251, 252, 0, 7, 8, 9, 10, 11,
        ]);
        assert!(NormalizedText::new(&format!("x {binary} y")).is_identity());
        for word in [
            "Pneumonoultramicroscopicsilicovolcanoconiosis",
            "internationalization",
            "responsibilities",
            "characteristically",
        ] {
            assert!(NormalizedText::new(word).is_identity(), "{word}");
        }
        assert!(NormalizedText::new("sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789").is_identity());
    }

    #[test]
    fn nested_encodings_fold_inside_base64() {
        use base64::engine::general_purpose::STANDARD as B64;
        let inner = B64.encode("ssn ５１２-４８-７３９１");
        let outer = B64.encode(format!("note {inner}"));
        assert!(view(&outer).contains("512-48-7391"));
    }

    #[test]
    fn layers_compose() {
        // Stage 1 removes a zero-width space, stage 2 joins the digits, stage 3 is absent.
        let s = "x\u{200B}y 5 1 2 4 8 7 3 9 1 and ５";
        let n = NormalizedText::new(s);
        assert_eq!(n.text(), "xy 512487391 and 5");
        let at = n.text().find("512487391").unwrap();
        let (a, b, _) = n.to_original(at, at + 9);
        assert_eq!(&s[a..b], "5 1 2 4 8 7 3 9 1");
        let at = n.text().len() - 1;
        let (a, b, how) = n.to_original(at, at + 1);
        assert_eq!((&s[a..b], how), ("５", Some(Decoding::Unicode)));
    }
}
