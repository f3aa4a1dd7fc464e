//! The texts both NER graphs read: sentences generated from templates with planted values of every
//! type the model knows (names, contact details, addresses, identifiers), the policies' inline test
//! texts, and paragraphs of the benches' mixed prose. Deterministic, so two runs compare.

use std::ops::Range;
use std::path::Path;

#[path = "../corpus.rs"]
mod corpus;

/// One text and the byte spans of the values planted in it (empty where nothing was planted).
pub struct Sample {
    pub source: &'static str,
    pub text: String,
    pub planted: Vec<Range<usize>>,
}

const GIVEN: [&str; 16] = [
    "John", "Maria", "Wei", "Aisha", "Carlos", "Emily", "Dmitri", "Priya", "Kwame", "Sofia",
    "Liam", "Hannah", "Mateo", "Yuki", "Olivia", "Ahmed",
];
const SURNAMES: [&str; 16] = [
    "Smith", "Garcia", "Chen", "Okafor", "Novak", "Patel", "Johnson", "Kowalski", "Nguyen",
    "Brown", "Haddad", "Schmidt", "Rossi", "Tanaka", "Williams", "Murphy",
];
const STREETS: [&str; 8] = [
    "Maple Avenue",
    "Oak Street",
    "Sunset Boulevard",
    "Elm Drive",
    "Harbor Road",
    "Pine Lane",
    "Cedar Court",
    "Main Street",
];
/// City, state, ZIP code.
const PLACES: [(&str, &str, &str); 8] = [
    ("Springfield", "IL", "62704"),
    ("Austin", "Texas", "78701"),
    ("Portland", "OR", "97205"),
    ("Denver", "Colorado", "80202"),
    ("Boston", "MA", "02108"),
    ("Seattle", "WA", "98101"),
    ("Phoenix", "Arizona", "85004"),
    ("Atlanta", "GA", "30303"),
];

/// Sentence templates; `{slot}`s are filled with generated values, which are the planted spans.
const TEMPLATES: [&str; 16] = [
    "My name is {given} {surname} and my email is {email}.",
    "Please call {given} at {phone} tomorrow morning about the invoice.",
    "Ship the replacement to {building} {street}, {city}, {state} {zip} before Friday.",
    "{given} {surname} moved to {building} {street}, Apt {apt}, {city} last spring.",
    "Her passport number is {passport} and the photo page is attached.",
    "Wire the refund to account {account} with routing number {routing}.",
    "The vendor's tax ID is {ein}; send the signed contract to {email}.",
    "Our new portal is at {url}, ask {given} if the login fails.",
    "Dr. {surname} will see {given} {surname2} at the {city} clinic on Monday.",
    "Forwarding the thread from {given} ({email}), who now works from {city}, {state}.",
    "Driver's license {license} was issued to {given} {surname} in {state}.",
    "Hi team, {given} here. Reach me on {phone} or {email} while I travel.",
    "The lease for {building} {street}, Suite {apt}, {city} {zip} starts in March.",
    "Employee {given} {surname}, government ID {govid}, completed onboarding.",
    "Can you check why {given}'s order to {city} was delayed? Tracking shows {zip}.",
    "Send the forms to {surname}, {given} at {email} and copy {given2} {surname2}.",
];

/// A small deterministic generator (xorshift64*), so the texts need no dependency and never change.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b'0' + (self.next() % 10) as u8))
            .collect()
    }
}

/// The value for one slot of a template.
fn value(
    slot: &str,
    rng: &mut Rng,
    given: &str,
    surname: &str,
    place: (&str, &str, &str),
) -> String {
    match slot {
        "given" => given.to_string(),
        "surname" => surname.to_string(),
        "given2" => rng.pick(&GIVEN).to_string(),
        "surname2" => rng.pick(&SURNAMES).to_string(),
        "email" => match rng.next() % 3 {
            0 => format!(
                "{}.{}@example.com",
                given.to_lowercase(),
                surname.to_lowercase()
            ),
            1 => format!(
                "{}{}@mail.example.org",
                &given[..1].to_lowercase(),
                surname.to_lowercase()
            ),
            _ => format!("{}{}@corp.example.net", given.to_lowercase(), rng.digits(2)),
        },
        "phone" => match rng.next() % 3 {
            0 => format!("({}) 555-{}", rng.digits(3), rng.digits(4)),
            1 => format!("{}-555-{}", rng.digits(3), rng.digits(4)),
            _ => format!("+1 {} 555 {}", rng.digits(3), rng.digits(4)),
        },
        "building" => (1 + rng.next() % 9899).to_string(),
        "street" => rng.pick(&STREETS).to_string(),
        "apt" => (1 + rng.next() % 40).to_string(),
        "city" => place.0.to_string(),
        "state" => place.1.to_string(),
        "zip" => place.2.to_string(),
        "passport" => format!(
            "{}{}",
            char::from(b'A' + (rng.next() % 26) as u8),
            rng.digits(8)
        ),
        "account" => rng.digits(12),
        "routing" => format!("0{}", rng.digits(8)),
        "ein" => format!("{}-{}", rng.digits(2), rng.digits(7)),
        "url" => format!("https://portal{}.example.com/login", rng.digits(2)),
        "license" => format!(
            "{}{}",
            char::from(b'A' + (rng.next() % 26) as u8),
            rng.digits(7)
        ),
        "govid" => format!("{}-{}-{}", rng.digits(3), rng.digits(3), rng.digits(3)),
        other => panic!("unknown template slot {other}"),
    }
}

/// `count` sentences, cycling through the templates with fresh values.
fn generated(count: usize) -> Vec<Sample> {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    (0..count)
        .map(|i| {
            let template = TEMPLATES[i % TEMPLATES.len()];
            let (given, surname) = (rng.pick(&GIVEN), rng.pick(&SURNAMES));
            let place = PLACES[(rng.next() % PLACES.len() as u64) as usize];
            let mut text = String::new();
            let mut planted = Vec::new();
            let mut rest = template;
            while let Some(open) = rest.find('{') {
                let close = open + rest[open..].find('}').expect("closed slot");
                text.push_str(&rest[..open]);
                let v = value(&rest[open + 1..close], &mut rng, given, surname, place);
                planted.push(text.len()..text.len() + v.len());
                text.push_str(&v);
                rest = &rest[close + 1..];
            }
            text.push_str(rest);
            Sample {
                source: "generated",
                text,
                planted,
            }
        })
        .collect()
}

/// The `text = "..."` of every inline test case of the shipped policies.
fn policy_cases(repo: &Path) -> Vec<Sample> {
    let mut files: Vec<_> = std::fs::read_dir(repo.join("policies"))
        .expect("policies/")
        .map(|e| e.expect("policies/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let policy: toml::Table = std::fs::read_to_string(&file)
            .expect("read a policy")
            .parse()
            .expect("policy TOML");
        let cases = policy.get("test").and_then(|t| t.as_array());
        for case in cases.into_iter().flatten() {
            if let Some(text) = case.get("text").and_then(|t| t.as_str()) {
                out.push(Sample {
                    source: "policy cases",
                    text: text.to_string(),
                    planted: vec![],
                });
            }
        }
    }
    out
}

/// The benches' mixed prose, one paragraph per text.
fn prose(bytes: usize) -> Vec<Sample> {
    corpus::mixed_prose(bytes)
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| Sample {
            source: "mixed prose",
            text: p.to_string(),
            planted: vec![],
        })
        .collect()
}

pub fn all(repo: &Path, generated_count: usize) -> Vec<Sample> {
    let mut out = generated(generated_count);
    out.extend(policy_cases(repo));
    out.extend(prose(64 * 1024));
    out
}
