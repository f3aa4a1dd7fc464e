//! JSON string escaping for values that live inside tool-call arguments.
//!
//! Tool-call arguments are JSON text carried in a JSON string: a name found in them appears in its
//! escaped form (`O\"Brien`), and a name restored into them must be escaped again, or the client
//! receives arguments that no longer parse. Values are kept unescaped (the form plain text uses),
//! so `O"Brien` in a message and `O\"Brien` in arguments share one placeholder.

/// `value` as it must appear between the quotes of a JSON string.
pub fn escape(value: &str) -> String {
    let quoted = serde_json::to_string(value).expect("a string always serializes");
    quoted[1..quoted.len() - 1].to_owned()
}

/// The text a fragment of a JSON string stands for; `None` if it is not a complete, valid
/// fragment (a lone quote, a broken escape).
pub fn unescape(fragment: &str) -> Option<String> {
    if !fragment.contains(['\\', '"']) && !fragment.chars().any(char::is_control) {
        return Some(fragment.to_owned());
    }
    serde_json::from_str::<String>(&format!("\"{fragment}\"")).ok()
}

/// Byte ranges of the escape sequences in JSON text (`\n`, `\"`, `\u00e9`, and a surrogate pair
/// `\ud83d\ude00` as one), so that a masked span never cuts one in half.
pub fn escape_sequences(json: &str) -> Vec<(usize, usize)> {
    let bytes = json.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            i += 1;
            continue;
        }
        let len = match bytes.get(i + 1) {
            None => 1,
            Some(b'u') if is_hex4(bytes, i + 2) => {
                if is_high_surrogate(bytes, i + 2)
                    && bytes.get(i + 6) == Some(&b'\\')
                    && bytes.get(i + 7) == Some(&b'u')
                    && is_hex4(bytes, i + 8)
                {
                    12
                } else {
                    6
                }
            }
            Some(_) => 2,
        };
        // The byte after a backslash may start a multi-byte character; keep whole characters.
        let mut end = (i + len).min(bytes.len());
        while !json.is_char_boundary(end) {
            end += 1;
        }
        out.push((i, end));
        i = end;
    }
    out
}

/// Widens `[start, end)` so that it does not cut any of `sequences` (sorted, disjoint).
pub fn widen_to_sequences(
    sequences: &[(usize, usize)],
    start: usize,
    end: usize,
) -> (usize, usize) {
    let covering = |at: usize| {
        let i = sequences.partition_point(|&(_, e)| e <= at);
        sequences.get(i).filter(|&&(s, _)| s < at).copied()
    };
    let start = covering(start).map_or(start, |(s, _)| s);
    let end = covering(end).map_or(end, |(_, e)| e);
    (start, end)
}

fn is_hex4(bytes: &[u8], at: usize) -> bool {
    bytes
        .get(at..at + 4)
        .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
}

fn is_high_surrogate(bytes: &[u8], at: usize) -> bool {
    matches!(bytes[at], b'd' | b'D')
        && matches!(bytes[at + 1], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_round_trips_through_json() {
        for v in [
            "plain",
            "O\"Brien",
            "C:\\Users\\jrøe",
            "tab\there\nnl",
            "José 李雷 😀",
            "\u{1}",
        ] {
            let e = escape(v);
            let json = format!("{{\"k\":\"{e}\"}}");
            let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(parsed["k"], v);
            assert_eq!(unescape(&e).as_deref(), Some(v));
        }
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }

    #[test]
    fn unescape_refuses_broken_fragments() {
        assert_eq!(unescape("ab\\"), None);
        assert_eq!(unescape("a\"b"), None);
        assert_eq!(unescape("\\x"), None);
        assert_eq!(unescape("Jos\\u00e9").as_deref(), Some("José"));
        assert_eq!(unescape("\\ud83d\\ude00").as_deref(), Some("😀"));
    }

    #[test]
    fn sequences_and_widening() {
        let json = r#"{"n":"O\"B","e":"Jos\u00e9","s":"\ud83d\ude00x","t":"\"#;
        let seqs = escape_sequences(json);
        let texts: Vec<&str> = seqs.iter().map(|&(s, e)| &json[s..e]).collect();
        assert_eq!(texts, vec!["\\\"", "\\u00e9", "\\ud83d\\ude00", "\\"]);
        let q = json.find("\\\"").unwrap();
        assert_eq!(widen_to_sequences(&seqs, q + 1, q + 2), (q, q + 2));
        let u = json.find("\\u00e9").unwrap();
        assert_eq!(widen_to_sequences(&seqs, u - 3, u + 3), (u - 3, u + 6));
        assert_eq!(widen_to_sequences(&seqs, 0, 3), (0, 3));
        let s = json.find("\\ud83d").unwrap();
        assert_eq!(widen_to_sequences(&seqs, s + 7, s + 13), (s, s + 13));
    }

    #[test]
    fn a_backslash_before_a_multibyte_character_keeps_it_whole() {
        let json = "\\é";
        assert_eq!(escape_sequences(json), vec![(0, json.len())]);
    }
}
