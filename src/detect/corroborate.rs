//! The NER model's guesses at numbers count only with evidence.
//!
//! The model reads any short number in prose as some identifier or address part: "parses 396 GB
//! log files" gets a building number, "divided by 61293" a ZIP code, "commit 8a0d8009" a driver's
//! licence. On our corpus these guesses were half of the cleared prompts' false alarms, and in
//! the soak test of issue 13 they sent most ordinary prompts to the one local slot. Where the
//! number really is personal, something else in the text says so. So a NER finding of a kind
//! listed in [`Candidate`] is kept only with one of:
//! - **format**: a rule pack or dictionary found something overlapping it (a validated or
//!   context-confirmed identifier, a phone number, a date);
//! - **context**: a word that names what it is among the few words before it ("tax number",
//!   "Acc#", "Kundennummer", "Suite", "ZIP");
//! - **neighbours**: a finding about a person right before it ("Next of kin Heidi Graves
//!   6315800918"), or, for address parts, an address finding right next to it ("Covelano 74024").
//!
//! A street name on its own (or with a "house number" that has a decimal point: "Kotlin 3.1")
//! may also show it is a street by a street word ("Strada", "-gasse", "Road").
//!
//! Names and places from the model are not candidates: the model is good at them and nothing
//! else finds them. Keeping is monotone in the findings (more findings, more evidence), which the
//! settled-decision logic relies on (`policy::settled`).

use super::{catalog, DetectorKind, Finding};

/// What a NER finding needs evidence for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Candidate {
    /// GOVERNMENT_ID, TAX_ID, US_DRIVER_LICENSE, US_PASSPORT, US_BANK_NUMBER, ABA_ROUTING_NUMBER.
    Identifier,
    /// A ZIP_CODE.
    PostalCode,
    /// A STREET_ADDRESS that is a building number and nothing else ("Suite 943", "Apt. 435").
    BuildingNumber,
    /// A STREET_ADDRESS that is a street name and nothing else: a street if it says so
    /// ("Strada Gemito", "Jesselgasse"), not "ThinkPad X1" or "PLAT".
    StreetName,
}

impl Candidate {
    fn of(text: &str, f: &Finding) -> Option<Candidate> {
        if f.detector != DetectorKind::Ner {
            return None;
        }
        match f.entity_type.as_str() {
            "GOVERNMENT_ID" | "TAX_ID" | "US_DRIVER_LICENSE" | "US_PASSPORT" | "US_BANK_NUMBER"
            | "ABA_ROUTING_NUMBER" => Some(Candidate::Identifier),
            "ZIP_CODE" => Some(Candidate::PostalCode),
            "STREET_ADDRESS" if f.rule_id == "rampart:BUILDING_NUMBER" => {
                Some(Candidate::BuildingNumber)
            }
            "STREET_ADDRESS" if f.rule_id == "rampart:STREET_NAME" => Some(Candidate::StreetName),
            // "Kotlin 3.1", "line 1,143": a decimal or a thousands separator is no house number,
            // so the rest must name a street.
            "STREET_ADDRESS" if has_decimal_number(&text[f.start..f.end]) => {
                Some(Candidate::StreetName)
            }
            _ => None,
        }
    }

    /// Words (lower case) that, among the last few words before a value, say it is one of these.
    fn context_words(self) -> &'static [&'static str] {
        match self {
            Candidate::Identifier => IDENTIFIER_WORDS,
            Candidate::PostalCode => POSTAL_WORDS,
            Candidate::BuildingNumber => BUILDING_WORDS,
            Candidate::StreetName => ADDRESS_WORDS,
        }
    }

    /// Whether a neighbouring finding of `entity_type` is evidence for this candidate.
    fn is_supported_by_neighbour(self, entity_type: &str) -> bool {
        let address = matches!(entity_type, "STREET_ADDRESS" | "LOCATION" | "ZIP_CODE");
        match self {
            Candidate::Identifier => catalog::is_about_a_person(entity_type) && !address,
            Candidate::PostalCode | Candidate::BuildingNumber | Candidate::StreetName => {
                address || entity_type == "PERSON"
            }
        }
    }
}

/// How many words before a value are searched for a context word.
const WORDS_BEFORE: usize = 4;
/// ... and how many bytes at most, so one very long word cannot widen the search.
const BYTES_BEFORE: usize = 48;
/// How close a neighbouring finding must be, in bytes of gap ("Heidi Graves 6315800918",
/// "Covelano 74024", "76606 Matthew Locks, Suite 943").
const NEIGHBOUR_GAP: usize = 3;

const IDENTIFIER_WORDS: &[&str] = &[
    "id",
    "ids",
    "identifier",
    "identification",
    "number",
    "no",
    "nr",
    "nº",
    "num",
    "#",
    "license",
    "licence",
    "lic",
    "dl",
    "dln",
    "passport",
    "tax",
    "tin",
    "ein",
    "ssn",
    "itin",
    "sin",
    "national",
    "registration",
    "reg",
    "account",
    "acct",
    "acc",
    "a/c",
    "customer",
    "client",
    "member",
    "policy",
    "card",
    "iban",
    "bank",
    "routing",
    "aba",
    "rtn",
    "chart",
    "mrn",
    "record",
    "serial",
    "reference",
    "ref",
    "permit",
    "insurance",
    "nhs",
    "bsn",
    "dni",
    "nie",
    "nif",
    "cpf",
    "pps",
    "insee",
    "personnummer",
    "steuernummer",
    "steuer-id",
    "steueridentifikationsnummer",
    "kundennummer",
    "konto",
    "kontonummer",
    "ausweis",
    "ausweisnummer",
    "führerschein",
    "reisepass",
    "nummer",
    "codice",
    "fiscale",
    "cliente",
    "conto",
    "patente",
    "passaporto",
    "numéro",
    "número",
    "numero",
    "permis",
    "passeport",
    "pasaporte",
    "cuenta",
    "identité",
    "identidad",
    "rijbewijs",
    "paspoort",
    "klantnummer",
    "rekening",
    "rekeningnummer",
    "burgerservicenummer",
];

const POSTAL_WORDS: &[&str] = &[
    "zip",
    "zipcode",
    "postal",
    "postcode",
    "post",
    "plz",
    "postleitzahl",
    "cap",
    "cp",
    "code",
    "código",
    "postale",
];

// Not "#", "room", "box" or "floor": "(#57)", "room for 120 guests" and "floor 3" are no one's
// address (a PO or military box is the rule packs' to find).
const BUILDING_WORDS: &[&str] = &[
    "apt",
    "apartment",
    "suite",
    "ste",
    "unit",
    "no",
    "nr",
    "nº",
    "flat",
    "bldg",
    "building",
    "house",
    "haus",
    "hausnummer",
    "piso",
    "puerta",
    "psc",
    "wohnung",
    "appartement",
    "bâtiment",
    "interno",
    "scala",
];

const ADDRESS_WORDS: &[&str] = &[
    "address",
    "addr",
    "at",
    "live",
    "lives",
    "living",
    "lived",
    "resides",
    "moved",
    "ship",
    "deliver",
    "send",
    "mail",
    "visit",
    "adres",
    "adresse",
    "anschrift",
    "wohnhaft",
    "wohne",
    "in",
    "der",
    "au",
    "rue",
    "indirizzo",
    "via",
    "dirección",
    "calle",
    "woon",
    "woont",
];

/// Words of a street's name that say it is one (lower case), and endings of compound names.
const STREET_WORDS: &[&str] = &[
    "street",
    "st",
    "road",
    "rd",
    "avenue",
    "ave",
    "boulevard",
    "blvd",
    "lane",
    "ln",
    "drive",
    "dr",
    "court",
    "ct",
    "way",
    "place",
    "pl",
    "terrace",
    "circle",
    "parkway",
    "highway",
    "square",
    "trail",
    "plaza",
    "alley",
    "crescent",
    "close",
    "grove",
    "gardens",
    "mews",
    "row",
    "walk",
    "rue",
    "chemin",
    "allée",
    "impasse",
    "boulevard",
    "quai",
    "via",
    "viale",
    "strada",
    "contrada",
    "piazza",
    "vicolo",
    "largo",
    "corso",
    "calle",
    "avenida",
    "camino",
    "paseo",
    "plaza",
    "carrer",
    "rua",
    "straße",
    "strasse",
    "str",
    "weg",
    "gasse",
    "allee",
    "platz",
    "ring",
    "damm",
    "ufer",
    "laan",
    "straat",
    "plein",
    "gracht",
    "dreef",
    "kade",
    "singel",
];
const STREET_ENDINGS: &[&str] = &[
    "straße", "strasse", "str.", "weg", "gasse", "allee", "platz", "ring", "damm", "laan",
    "straat", "plein", "gracht", "dreef", "kade", "singel", "steeg",
];

/// Whether `value` has digits on both sides of a '.' or ','.
fn has_decimal_number(value: &str) -> bool {
    value
        .as_bytes()
        .windows(3)
        .any(|w| w[0].is_ascii_digit() && matches!(w[1], b'.' | b',') && w[2].is_ascii_digit())
}

/// Whether `name` (a street-name finding's text) has a word that makes it a street.
fn names_a_street(name: &str) -> bool {
    name.split(|c: char| !(c.is_alphanumeric() || c == '.'))
        .filter(|w| !w.is_empty())
        .any(|w| {
            let w = w.to_lowercase();
            STREET_WORDS.contains(&w.trim_end_matches('.'))
                || STREET_ENDINGS
                    .iter()
                    .any(|e| w.len() > e.len() && w.ends_with(e))
        })
}

/// Drops the NER guesses that have no evidence (module doc). `findings` are byte spans of `text`.
pub(super) fn drop_uncorroborated(text: &str, findings: &mut Vec<Finding>) {
    if !findings.iter().any(|f| Candidate::of(text, f).is_some()) {
        return;
    }
    // The findings that can be evidence, by start: everything but the candidates themselves, so
    // two guesses cannot vouch for each other.
    let mut evidence: Vec<&Finding> = findings
        .iter()
        .filter(|f| Candidate::of(text, f).is_none())
        .collect();
    evidence.sort_by_key(|f| f.start);
    let longest = evidence.iter().map(|f| f.end - f.start).max().unwrap_or(0);
    let keep: Vec<bool> = findings
        .iter()
        .map(|f| match Candidate::of(text, f) {
            None => true,
            Some(c) => {
                (c == Candidate::StreetName && names_a_street(&text[f.start..f.end]))
                    || has_context_word(text, f.start, c.context_words())
                    || has_evidence_finding(&evidence, longest, f, c)
            }
        })
        .collect();
    let mut keep = keep.into_iter();
    findings.retain(|_| keep.next().unwrap_or(true));
}

/// Whether a finding in `evidence` (sorted by start; none longer than `longest`) overlaps `f`
/// (format), or is a neighbour that supports it.
fn has_evidence_finding(
    evidence: &[&Finding],
    longest: usize,
    f: &Finding,
    candidate: Candidate,
) -> bool {
    let from = f.start.saturating_sub(longest + NEIGHBOUR_GAP);
    let first = evidence.partition_point(|e| e.start < from);
    evidence[first..]
        .iter()
        .take_while(|e| e.start <= f.end + NEIGHBOUR_GAP)
        .any(|e| {
            let overlaps = e.start < f.end && f.start < e.end;
            let before = e.end <= f.start && f.start - e.end <= NEIGHBOUR_GAP;
            let after = e.start >= f.end && e.start - f.end <= NEIGHBOUR_GAP;
            (overlaps && e.detector != DetectorKind::Ner)
                || ((before || (after && candidate != Candidate::Identifier))
                    && candidate.is_supported_by_neighbour(&e.entity_type))
        })
}

/// Whether one of `words` is among the last [`WORDS_BEFORE`] words before byte `start`.
fn has_context_word(text: &str, start: usize, words: &[&str]) -> bool {
    let window = &text[text.ceil_char_boundary(start.saturating_sub(BYTES_BEFORE))..start];
    // "#" is a word here ("Acc#", "Box #12"); other punctuation separates words.
    window
        .split(|c: char| !(c.is_alphanumeric() || c == '#' || c == '/' || c == '-' || c == 'º'))
        .flat_map(|w| w.split_inclusive('#'))
        .map(|w| w.trim_matches(|c: char| c == '-' || c == '/'))
        .filter(|w| !w.is_empty())
        .rev()
        .take(WORDS_BEFORE)
        .any(|w| {
            let w = w.to_lowercase();
            let bare = w.trim_end_matches('#');
            words.contains(&w.as_str())
                || words.contains(&bare)
                || (w.ends_with('#') && words.contains(&"#"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(text: &str, value: &str, entity_type: &str, detector: DetectorKind) -> Finding {
        let start = text.find(value).unwrap();
        Finding {
            entity_type: entity_type.into(),
            start,
            end: start + value.len(),
            score: 0.8,
            detector,
            rule_id: match (detector, entity_type) {
                (DetectorKind::Ner, "STREET_ADDRESS") => "rampart:BUILDING_NUMBER".into(),
                (DetectorKind::Ner, _) => "rampart:X".into(),
                _ => "rule".into(),
            },
            validated: false,
            context: Vec::new(),
            decoded: None,
        }
    }

    fn kept(text: &str, mut findings: Vec<Finding>) -> Vec<String> {
        drop_uncorroborated(text, &mut findings);
        findings
            .iter()
            .map(|f| text[f.start..f.end].to_string())
            .collect()
    }

    #[test]
    fn numbers_in_ordinary_prose_are_dropped() {
        let t = "Compare Java and Swift for a CLI tool that parses 396 GB log files.";
        let f = finding(t, "396", "STREET_ADDRESS", DetectorKind::Ner);
        assert!(kept(t, vec![f]).is_empty());
        let t = "What is 2980910447 divided by 61293, rounded to two decimals?";
        let a = finding(t, "2980910447", "TAX_ID", DetectorKind::Ner);
        let b = finding(t, "61293", "ZIP_CODE", DetectorKind::Ner);
        assert!(kept(t, vec![a, b]).is_empty());
        let t = "Explain what commit 8a0d8009 might have broken.";
        let f = finding(t, "8a0d8009", "US_DRIVER_LICENSE", DetectorKind::Ner);
        assert!(kept(t, vec![f]).is_empty());
    }

    #[test]
    fn context_words_keep_identifiers_and_address_parts() {
        for (t, v, ty) in [
            (
                "My accountant asked for my tax number 12827965Z today",
                "12827965Z",
                "TAX_ID",
            ),
            (
                "DOB Nov 18, 1989  Acc# 646-87-83",
                "646-87-83",
                "US_BANK_NUMBER",
            ),
            ("ab. Kundennummer 2394 2314 61.", "2394 2314", "TAX_ID"),
            (
                "Is my driver's license 568248391 still valid",
                "568248391",
                "US_DRIVER_LICENSE",
            ),
            (
                "610 Alicia Retreat, Apt. 435, Geelong",
                "435",
                "STREET_ADDRESS",
            ),
            ("ZIP: 94110", "94110", "ZIP_CODE"),
        ] {
            let f = finding(t, v, ty, DetectorKind::Ner);
            assert_eq!(kept(t, vec![f]), [v], "{t}");
        }
    }

    #[test]
    fn neighbours_and_overlapping_rules_are_evidence() {
        let t = "Next of kin Heidi Graves 6315800918.";
        let name = finding(t, "Heidi Graves", "PERSON", DetectorKind::Ner);
        let id = finding(t, "6315800918", "TAX_ID", DetectorKind::Ner);
        assert_eq!(kept(t, vec![name, id]).len(), 2);

        let t = "Strada Druso, 9, 74024 Covelano.";
        let city = finding(t, "Covelano", "LOCATION", DetectorKind::Ner);
        let zip = finding(t, "74024", "ZIP_CODE", DetectorKind::Ner);
        assert_eq!(kept(t, vec![zip, city]).len(), 2);

        let t = "call 415 555 0123 soon";
        let phone = finding(t, "415 555 0123", "PHONE_NUMBER", DetectorKind::Regex);
        let id = finding(t, "555 0123", "TAX_ID", DetectorKind::Ner);
        assert_eq!(kept(t, vec![phone, id]).len(), 2);

        // A date is not a person: a number after it stays unproven.
        let t = "shipped on 2024-01-18 4410 units";
        let date = finding(t, "2024-01-18", "DATE_TIME", DetectorKind::Regex);
        let id = finding(t, "4410", "TAX_ID", DetectorKind::Ner);
        assert_eq!(kept(t, vec![date, id]), ["2024-01-18"]);
    }

    #[test]
    fn street_names_need_a_street_word_or_an_address_around_them() {
        let street = |t: &str, v: &str| Finding {
            rule_id: "rampart:STREET_NAME".into(),
            ..finding(t, v, "STREET_ADDRESS", DetectorKind::Ner)
        };
        let t = "migrated to ThinkPad X1 Carbon.";
        assert!(kept(t, vec![street(t, "ThinkPad X1")]).is_empty());
        let t = "Upgrading Ktor on Kotlin 3.1 breaks the tests";
        let f = Finding {
            rule_id: "rampart:STREET_NAME+BUILDING_NUMBER".into(),
            ..street(t, "Kotlin 3.1")
        };
        assert!(kept(t, vec![f]).is_empty());
        let t = "Close the duplicate (#2685) and room for 3676 guests";
        let a = finding(t, "2685", "STREET_ADDRESS", DetectorKind::Ner);
        let b = finding(t, "3676", "STREET_ADDRESS", DetectorKind::Ner);
        assert!(kept(t, vec![a, b]).is_empty());
        let t = "the build for PLAT-7309 fails";
        assert!(kept(t, vec![street(t, "PLAT")]).is_empty());
        for (t, v) in [
            ("Antonia Toscani, Strada Gemito, 26", "Strada Gemito"),
            ("wohnhaft Jesselgasse 8/6", "Jesselgasse"),
            ("she lives at Maple Crescent", "Maple Crescent"),
        ] {
            assert_eq!(kept(t, vec![street(t, v)]), [v], "{t}");
        }
    }

    #[test]
    fn guesses_do_not_vouch_for_each_other() {
        let t = "headcount 493 701 churn";
        let a = finding(t, "493", "STREET_ADDRESS", DetectorKind::Ner);
        let b = finding(t, "701", "ZIP_CODE", DetectorKind::Ner);
        assert!(kept(t, vec![a, b]).is_empty());
    }

    #[test]
    fn names_and_places_from_the_model_are_not_candidates() {
        let t = "Ask Harold about Denver.";
        let a = finding(t, "Harold", "PERSON", DetectorKind::Ner);
        let b = finding(t, "Denver", "LOCATION", DetectorKind::Ner);
        assert_eq!(kept(t, vec![a, b]).len(), 2);
    }
}
