//! Checksum and structure validators for regex matches.
//!
//! A pattern only says what an identifier looks like; a validator says whether this particular value
//! can be one. Rule packs name validators (`validator = "luhn"`); a value the validator finds
//! invalid is dropped, a valid one is reported with `validated = true`, which wins ties when
//! overlapping findings are merged. A value that is well-formed but known not to identify anyone
//! (the SSN printed on a 1938 wallet-card sample) is "doubtful": still reported, at the pattern's
//! score, but not validated. A privacy gateway errs towards reporting: such numbers are exactly
//! what people paste when they test it. Validators see only the matched value, work without
//! allocating where they can, and never panic on any input.

use std::net::{Ipv4Addr, Ipv6Addr};

use base64::Engine;

/// What a validator says about a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Passes the check: reported with `validated = true`.
    Valid,
    /// Well-formed but known not to identify anyone: reported, not validated.
    Doubtful,
    /// Cannot be what the rule looks for: dropped.
    Invalid,
}

impl From<bool> for Verdict {
    fn from(valid: bool) -> Verdict {
        if valid {
            Verdict::Valid
        } else {
            Verdict::Invalid
        }
    }
}

/// A named check applied to a matched value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// Luhn mod-10 over the digits (payment cards, IMEI); spaces and dashes are ignored.
    Luhn,
    /// A payment card number: Luhn over 12 to 19 digits.
    PaymentCard,
    /// US National Provider Identifier: 10 digits starting with 1 or 2, Luhn over "80840" + NPI.
    Npi,
    /// US Social Security number structure rules and known invalid numbers.
    UsSsn,
    /// US individual taxpayer identification number: area 9xx and an ITIN group.
    UsItin,
    /// IBAN: known country, that country's length, mod-97 == 1.
    Iban,
    /// ABA routing transit number: valid Federal Reserve prefix and the 3-7-1 checksum.
    AbaRouting,
    /// DEA registration number: registrant type letter, letter or 9, 7 digits with checksum.
    Dea,
    /// Vehicle identification number: 17 characters, no I/O/Q, check digit in position 9.
    Vin,
    /// A dotted-quad IPv4 address (each octet 0-255, no leading zeros).
    Ipv4,
    /// An IPv6 address (with at least two groups and one decimal digit, so `a::b` in code is not).
    Ipv6,
    /// A phone number: 7 to 15 digits (E.164 allows at most 15).
    Phone,
    /// A secret-looking string: at least 16 characters, letters and digits, high Shannon entropy.
    HighEntropy,
    /// A JSON web token whose header decodes to a JSON object naming an `alg`.
    Jwt,
    /// At least one ASCII letter and one digit (licence plates).
    LettersAndDigits,
    /// A serial number: 5 to 40 alphanumerics (separators aside) including at least one digit.
    Serial,
}

/// Every validator a rule pack may name, by its name in the pack.
pub const VALIDATORS: &[(&str, Validator)] = &[
    ("luhn", Validator::Luhn),
    ("payment_card", Validator::PaymentCard),
    ("npi", Validator::Npi),
    ("us_ssn", Validator::UsSsn),
    ("us_itin", Validator::UsItin),
    ("iban", Validator::Iban),
    ("aba_routing", Validator::AbaRouting),
    ("dea", Validator::Dea),
    ("vin", Validator::Vin),
    ("ipv4", Validator::Ipv4),
    ("ipv6", Validator::Ipv6),
    ("phone", Validator::Phone),
    ("high_entropy", Validator::HighEntropy),
    ("jwt", Validator::Jwt),
    ("letters_and_digits", Validator::LettersAndDigits),
    ("serial", Validator::Serial),
];

impl Validator {
    /// The validator a pack calls `name`.
    pub fn from_name(name: &str) -> Option<Validator> {
        VALIDATORS.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    pub fn name(self) -> &'static str {
        VALIDATORS
            .iter()
            .find(|(_, v)| *v == self)
            .map(|(n, _)| *n)
            .expect("every validator is listed in VALIDATORS")
    }

    /// This validator's verdict on `value`.
    pub fn check(self, value: &str) -> Verdict {
        let valid = match self {
            Validator::Luhn => luhn(value),
            Validator::PaymentCard => payment_card(value),
            Validator::Npi => npi(value),
            Validator::UsSsn => return us_ssn(value),
            Validator::UsItin => us_itin(value),
            Validator::Iban => iban(value),
            Validator::AbaRouting => aba_routing(value),
            Validator::Dea => dea(value),
            Validator::Vin => vin(value),
            Validator::Ipv4 => without_prefix_length(value).parse::<Ipv4Addr>().is_ok(),
            Validator::Ipv6 => ipv6(value),
            Validator::Phone => {
                (7..=15).contains(&value.bytes().filter(u8::is_ascii_digit).count())
            }
            Validator::HighEntropy => high_entropy(value),
            Validator::Jwt => jwt(value),
            Validator::LettersAndDigits => {
                value.bytes().any(|b| b.is_ascii_alphabetic())
                    && value.bytes().any(|b| b.is_ascii_digit())
            }
            Validator::Serial => serial(value),
        };
        Verdict::from(valid)
    }
}

/// Reads exactly `N` ASCII digits from `value`, skipping the separators in `skip`; `None` if any
/// other character appears or the count differs.
fn fixed_digits<const N: usize>(value: &str, skip: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    let mut n = 0;
    for b in value.bytes() {
        if b.is_ascii_digit() {
            *out.get_mut(n)? = b - b'0';
            n += 1;
        } else if !skip.contains(&b) {
            return None;
        }
    }
    (n == N).then_some(out)
}

/// Luhn sum of `digits` given most significant first; valid when the sum is a multiple of 10.
fn luhn_valid(digits: impl DoubleEndedIterator<Item = u8>) -> bool {
    let sum: u32 = digits
        .rev()
        .enumerate()
        .map(|(i, d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

fn luhn(value: &str) -> bool {
    let mut count = 0;
    let mut first = None;
    let mut all_same = true;
    for b in value.bytes() {
        match b {
            b'0'..=b'9' => {
                count += 1;
                match first {
                    None => first = Some(b),
                    Some(f) => all_same &= f == b,
                }
            }
            b' ' | b'-' => {}
            _ => return false,
        }
    }
    // A run of one repeated digit (0000 0000 0000 0000) passes the sum but is never issued.
    if count < 2 || all_same {
        return false;
    }
    luhn_valid(value.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0'))
}

/// A card number: Luhn, and the 12 to 19 digits of ISO/IEC 7812 (issuer groupings vary).
fn payment_card(value: &str) -> bool {
    let digits = value.bytes().filter(u8::is_ascii_digit).count();
    (12..=19).contains(&digits) && luhn(value)
}

fn npi(value: &str) -> bool {
    let Some(d) = fixed_digits::<10>(value, b" -") else {
        return false;
    };
    // The NPI check digit is a Luhn digit computed as if the number carried the ISO prefix 80840.
    matches!(d[0], 1 | 2) && luhn_valid([8, 0, 8, 4, 0].into_iter().chain(d))
}

/// Numbers that are SSN-shaped but never identify a person: the Woolworth wallet card sample
/// (078-05-1120), the SSA's own advertising number (219-09-9999), and 123-45-6789, the example on
/// every form and in every tutorial. They are doubtful, not invalid: see the module comment.
const EXAMPLE_SSNS: &[[u8; 9]] = &[
    [0, 7, 8, 0, 5, 1, 1, 2, 0],
    [2, 1, 9, 0, 9, 9, 9, 9, 9],
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
];

fn us_ssn(value: &str) -> Verdict {
    let Some(d) = fixed_digits::<9>(value, b" -.") else {
        return Verdict::Invalid;
    };
    let area = u16::from(d[0]) * 100 + u16::from(d[1]) * 10 + u16::from(d[2]);
    let group = d[3] * 10 + d[4];
    let serial = d[5..].iter().fold(0u16, |acc, &x| acc * 10 + u16::from(x));
    if area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0 {
        // The SSA never issues these.
        return Verdict::Invalid;
    }
    if d.iter().all(|&x| x == d[0]) || EXAMPLE_SSNS.contains(&d) {
        return Verdict::Doubtful;
    }
    Verdict::Valid
}

fn us_itin(value: &str) -> bool {
    let Some(d) = fixed_digits::<9>(value, b" -.") else {
        return false;
    };
    let group = d[3] * 10 + d[4];
    d[0] == 9 && matches!(group, 50..=65 | 70..=88 | 90..=92 | 94..=99)
}

/// IBAN lengths by country (SWIFT IBAN registry).
#[rustfmt::skip]
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24), (b"AE", 23), (b"AL", 28), (b"AT", 20), (b"AZ", 28), (b"BA", 20), (b"BE", 16),
    (b"BG", 22), (b"BH", 22), (b"BI", 27), (b"BR", 29), (b"BY", 28), (b"CH", 21), (b"CR", 22),
    (b"CY", 28), (b"CZ", 24), (b"DE", 22), (b"DJ", 27), (b"DK", 18), (b"DO", 28), (b"EE", 20),
    (b"EG", 29), (b"ES", 24), (b"FI", 18), (b"FK", 18), (b"FO", 18), (b"FR", 27), (b"GB", 22),
    (b"GE", 22), (b"GI", 23), (b"GL", 18), (b"GR", 27), (b"GT", 28), (b"HN", 28), (b"HR", 21),
    (b"HU", 28), (b"IE", 22), (b"IL", 23), (b"IQ", 23), (b"IS", 26), (b"IT", 27), (b"JO", 30),
    (b"KW", 30), (b"KZ", 20), (b"LB", 28), (b"LC", 32), (b"LI", 21), (b"LT", 20), (b"LU", 20),
    (b"LV", 21), (b"LY", 25), (b"MC", 27), (b"MD", 24), (b"ME", 22), (b"MK", 19), (b"MN", 20),
    (b"MR", 27), (b"MT", 31), (b"MU", 30), (b"NI", 28), (b"NL", 18), (b"NO", 15), (b"OM", 23),
    (b"PK", 24), (b"PL", 28), (b"PS", 29), (b"PT", 25), (b"QA", 29), (b"RO", 24), (b"RS", 22),
    (b"RU", 33), (b"SA", 24), (b"SC", 31), (b"SD", 18), (b"SE", 24), (b"SI", 19), (b"SK", 24),
    (b"SM", 27), (b"SO", 23), (b"ST", 25), (b"SV", 28), (b"TL", 23), (b"TN", 24), (b"TR", 26),
    (b"UA", 29), (b"VA", 22), (b"VG", 24), (b"XK", 20), (b"YE", 30),
];

fn iban(value: &str) -> bool {
    let mut chars = [0u8; 34];
    let mut n = 0;
    for b in value.bytes() {
        if b == b' ' {
            continue;
        }
        if !b.is_ascii_alphanumeric() || n == chars.len() {
            return false;
        }
        chars[n] = b.to_ascii_uppercase();
        n += 1;
    }
    let chars = &chars[..n];
    if n < 5
        || !chars[..2].iter().all(u8::is_ascii_uppercase)
        || !chars[2..4].iter().all(u8::is_ascii_digit)
    {
        return false;
    }
    let Some((_, len)) = IBAN_LENGTHS.iter().find(|(cc, _)| cc[..] == chars[..2]) else {
        return false;
    };
    if n != *len {
        return false;
    }
    // Move the country code and check digits to the end, read letters as 10..35, reduce mod 97.
    let rearranged = chars[4..].iter().chain(&chars[..4]);
    let remainder = rearranged.fold(0u32, |acc, &c| {
        if c.is_ascii_digit() {
            (acc * 10 + u32::from(c - b'0')) % 97
        } else {
            (acc * 100 + u32::from(c - b'A' + 10)) % 97
        }
    });
    remainder == 1
}

fn aba_routing(value: &str) -> bool {
    let Some(d) = fixed_digits::<9>(value, b" -") else {
        return false;
    };
    // 01-12 Federal Reserve banks, 21-32 thrifts, 61-72 electronic, 80 traveller's cheques. The 00
    // (US government) prefix is left out: it would accept 000000000, which passes the checksum.
    let prefix = d[0] * 10 + d[1];
    if !matches!(prefix, 1..=12 | 21..=32 | 61..=72 | 80) {
        return false;
    }
    let w = |i: usize| u32::from(d[i]);
    let sum = 3 * (w(0) + w(3) + w(6)) + 7 * (w(1) + w(4) + w(7)) + (w(2) + w(5) + w(8));
    sum.is_multiple_of(10)
}

fn dea(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 9 {
        return false;
    }
    let registrant = b[0].to_ascii_uppercase();
    let second = b[1].to_ascii_uppercase();
    if !b"ABCDEFGHJKLMPRSTUX".contains(&registrant)
        || !(second.is_ascii_uppercase() || second == b'9')
    {
        return false;
    }
    let Some(d) = fixed_digits::<7>(&value[2..], b"") else {
        return false;
    };
    let sum = u32::from(d[0] + d[2] + d[4]) + 2 * u32::from(d[1] + d[3] + d[5]);
    sum % 10 == u32::from(d[6])
}

fn vin_value(c: u8) -> Option<u32> {
    Some(match c {
        b'0'..=b'9' => u32::from(c - b'0'),
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => return None,
    })
}

fn vin(value: &str) -> bool {
    const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
    let b = value.as_bytes();
    if b.len() != 17 || !b.iter().any(u8::is_ascii_uppercase) || !b.iter().any(u8::is_ascii_digit) {
        return false;
    }
    let mut sum = 0;
    for (i, &c) in b.iter().enumerate() {
        let Some(v) = vin_value(c) else {
            return false;
        };
        sum += v * WEIGHTS[i];
    }
    let check = match sum % 11 {
        10 => b'X',
        r => b'0' + r as u8,
    };
    b[8] == check
}

fn ipv6(value: &str) -> bool {
    // The zone ("%eth0") names an interface of the host, not a different address.
    let value = without_prefix_length(value);
    let value = value.split_once('%').map_or(value, |(address, _)| address);
    let groups = value.split(':').filter(|g| !g.is_empty()).count();
    let mapped_ipv4 = value.contains('.');
    (groups >= 2 || mapped_ipv4)
        && value.bytes().any(|b| b.is_ascii_digit())
        && value.parse::<Ipv6Addr>().is_ok()
}

/// An address without its CIDR prefix length ("10.0.0.0/8" -> "10.0.0.0"); the prefix length
/// must be a number of at most 3 digits for the value to stay an address.
fn without_prefix_length(value: &str) -> &str {
    match value.rsplit_once('/') {
        Some((address, bits))
            if (1..=3).contains(&bits.len()) && bits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            address
        }
        _ => value,
    }
}

/// Shannon entropy of `value`'s bytes in bits per byte.
fn entropy(value: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in value {
        counts[usize::from(b)] += 1;
    }
    let n = value.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

fn high_entropy(value: &str) -> bool {
    let b = value.as_bytes();
    // Random tokens of 16+ characters from a 36-64 symbol alphabet measure 3.5 bits or more;
    // words, identifiers and repeated patterns measure less, and lack digits.
    b.len() >= 16
        && b.iter().any(u8::is_ascii_alphabetic)
        && b.iter().any(u8::is_ascii_digit)
        && entropy(b) >= 3.3
}

fn jwt(value: &str) -> bool {
    let mut parts = value.split('.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let decode = |part: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .ok()
    };
    let (Some(header), Some(payload)) = (decode(header), decode(payload)) else {
        return false;
    };
    let is_object = |json: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(json).is_ok_and(|v| v.is_object())
    };
    is_object(&payload)
        && serde_json::from_slice::<serde_json::Value>(&header)
            .is_ok_and(|v| v.get("alg").is_some_and(serde_json::Value::is_string))
}

fn serial(value: &str) -> bool {
    let mut alnum = 0;
    let mut digit = false;
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() {
            alnum += 1;
            digit |= b.is_ascii_digit();
        } else if !matches!(b, b'-' | b'.' | b'/' | b' ') {
            return false;
        }
    }
    digit && (5..=40).contains(&alnum)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(v: Validator, valid: &[&str], invalid: &[&str]) {
        for s in valid {
            assert_eq!(v.check(s), Verdict::Valid, "{} on {s:?}", v.name());
        }
        for s in invalid {
            assert_eq!(v.check(s), Verdict::Invalid, "{} on {s:?}", v.name());
        }
    }

    #[test]
    fn names_round_trip() {
        for (name, v) in VALIDATORS {
            assert_eq!(Validator::from_name(name), Some(*v));
            assert_eq!(v.name(), *name);
        }
        assert_eq!(Validator::from_name("LUHN"), None);
    }

    #[test]
    fn luhn_cards() {
        check(
            Validator::Luhn,
            &[
                "4111111111111111",
                "4111 1111 1111 1111",
                "5500-0000-0000-0004",
                "378282246310005",
                "6011000990139424",
            ],
            &[
                "4111111111111112",
                "0000000000000000",
                "4111x111111111111",
                "7",
                "",
                "1234 5678 9012 3456",
            ],
        );
    }

    #[test]
    fn npi_with_prefix() {
        // 1234567893 is CMS's published example NPI.
        check(
            Validator::Npi,
            &["1234567893", "1245319599"],
            &["1234567890", "3234567893", "123456789", "12345678931"],
        );
    }

    #[test]
    fn ssn_rules() {
        check(
            Validator::UsSsn,
            &[
                "536-22-1234",
                "536221234",
                "001-01-0001",
                "899 99 9998",
                "665-12-3456",
            ],
            &[
                "000-12-3456",
                "666-12-3456",
                "900-12-3456",
                "987-65-4321",
                "536-00-1234",
                "536-22-0000",
                "536-22-123",
                "536-22-12345",
                "53a-22-1234",
            ],
        );
        for example in [
            "078-05-1120",
            "219-09-9999",
            "123-45-6789",
            "111-11-1111",
            "888888888",
        ] {
            assert_eq!(
                Validator::UsSsn.check(example),
                Verdict::Doubtful,
                "{example}"
            );
        }
    }

    #[test]
    fn itin_groups() {
        check(
            Validator::UsItin,
            &[
                "912-70-1234",
                "900-50-0000",
                "999-99-9999",
                "912 94 1234",
                "912651234",
            ],
            &[
                "912-93-1234",
                "912-49-1234",
                "912-89-1234",
                "812-70-1234",
                "912-66-1234",
            ],
        );
    }

    #[test]
    fn iban_mod97_and_length() {
        check(
            Validator::Iban,
            &[
                "DE89370400440532013000",
                "DE89 3704 0044 0532 0130 00",
                "GB82WEST12345698765432",
                "gb82 west 1234 5698 7654 32",
                "NO9386011117947",
                "FR1420041010050500013M02606",
            ],
            &[
                "DE89370400440532013001",
                "DE8937040044053201300",
                "XX89370400440532013000",
                "GB82WEST1234569876543",
                "DE89-3704",
                "12DE",
            ],
        );
    }

    #[test]
    fn aba_checksum() {
        check(
            Validator::AbaRouting,
            &["011000015", "121000358", "026009593", "322271627"],
            &[
                "011000016",
                "000000000",
                "991000015",
                "12100035",
                "12100035x",
            ],
        );
    }

    #[test]
    fn dea_checksum() {
        check(
            Validator::Dea,
            &["AB1234563", "BJ6125341", "F91234563"],
            &[
                "AB1234564",
                "IB1234563",
                "A11234563",
                "AB123456",
                "AB12345634",
            ],
        );
    }

    #[test]
    fn vin_check_digit() {
        check(
            Validator::Vin,
            &[
                "1M8GDM9AXKP042788",
                "1HGCM82633A004352",
                "JH4KA7561PC008269",
            ],
            &[
                "1M8GDM9AYKP042788",
                "1M8GDM9A1KP042788",
                "11111111111111111",
                "1M8GDM9AXKP04278",
                "1M8GDM9AXKP04278O",
            ],
        );
    }

    #[test]
    fn ip_addresses() {
        check(
            Validator::Ipv4,
            &["192.168.1.10", "8.8.8.8", "255.255.255.255"],
            &["256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4.5"],
        );
        check(
            Validator::Ipv6,
            &[
                "2001:db8::8a2e:370:7334",
                "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
                "fe80::1",
                "::ffff:192.0.2.1",
            ],
            &[
                "a::b",
                "12:30:45",
                "::",
                "2001:db8:::1",
                "00:1A:2B:3C:4D:5E",
                "dead::beef",
            ],
        );
    }

    #[test]
    fn payment_cards_of_every_issuer_length() {
        check(
            Validator::PaymentCard,
            &[
                "501800000009",
                "123456789012347",
                "4033-4689-4015-4577-588",
                "4111 1111 1111 1111",
            ],
            // Luhn-valid but 11 or 20 digits; one digit off.
            &["79927398713", "40334689401545775880", "501800000008"],
        );
    }

    #[test]
    fn addresses_keep_their_prefix_length_and_zone() {
        check(
            Validator::Ipv6,
            &[
                "::ffff:10.0.0.1",
                "fe80::1ff:fe23:4567:890a%eth0",
                "2001:db8:85a3::8a2e:370:7334/64",
            ],
            &["::ffff:10.0.0.1/1280", "a::b", "::1%"],
        );
        check(
            Validator::Ipv4,
            &["10.102.64.241/32"],
            &["10.102.64.241/", "10.1.2.3/x"],
        );
    }

    #[test]
    fn phone_digit_count() {
        check(
            Validator::Phone,
            &["+1 (555) 234-5678", "+44 20 7946 0958", "030 1234567"],
            &["+1 23", "+12 3456 7890 1234 5678"],
        );
    }

    #[test]
    fn entropy_of_secrets() {
        check(
            Validator::HighEntropy,
            &[
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzQ3kP9a1Lm",
                "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
                "Zx81kQpL0vN3mT7r",
            ],
            &[
                "aaaaaaaaaaaaaaaaaaaa1",
                "passwordpassword1",
                "ThisIsMyVeryLongVariableName",
                "short1A",
                "1111111111111111111a",
            ],
        );
    }

    #[test]
    fn jwt_structure() {
        let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
        check(
            Validator::Jwt,
            &[token],
            &[
                "eyJhbGciOi.eyJzdWIi.abc",
                "eyJmb28iOiJiYXIifQ.eyJzdWIiOiIxIn0.sig",
                "a.b",
                "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig",
            ],
        );
    }

    #[test]
    fn plates_and_serials() {
        check(
            Validator::LettersAndDigits,
            &["7ABC123", "ABC 1234"],
            &["ABCDEFG", "1234567"],
        );
        check(
            Validator::Serial,
            &["SN-4A7B-99X2", "12345", "C02XK1ABJG5H"],
            &["ABCDEFGH", "1234", "12#45"],
        );
    }
}
