//! The closed vocabulary of entity types.
//!
//! Rule packs, dictionaries, the NER label map and policy files may only name types listed here, so
//! that a typo in any of them is an error at load time (with the nearest valid name suggested)
//! instead of a rule that silently never matches. Names follow Presidio where it has one.

/// Every entity type sluice can report, with a one-line description for `--explain` and docs.
pub const ENTITY_TYPES: &[(&str, &str)] = &[
    // People and contact
    ("PERSON", "a person's name"),
    ("EMAIL_ADDRESS", "an email address"),
    ("PHONE_NUMBER", "a telephone number"),
    ("FAX_NUMBER", "a fax number"),
    ("URL", "a web address"),
    ("IP_ADDRESS", "an IPv4 or IPv6 address"),
    ("MAC_ADDRESS", "a network hardware address"),
    // Places
    ("LOCATION", "a city, county or state"),
    ("STREET_ADDRESS", "a street address"),
    ("ZIP_CODE", "a US ZIP code"),
    // Dates and ages
    ("DATE_TIME", "a date tied to a person"),
    ("AGE_OVER_89", "an age over 89 (HIPAA Safe Harbor)"),
    // Government and financial identifiers
    ("US_SSN", "a US Social Security number"),
    ("US_ITIN", "a US individual taxpayer identification number"),
    ("US_PASSPORT", "a US passport number"),
    ("US_DRIVER_LICENSE", "a US driver's licence number"),
    ("GOVERNMENT_ID", "another government-issued identifier"),
    ("TAX_ID", "a tax identifier"),
    ("CREDIT_CARD", "a payment card number"),
    ("IBAN_CODE", "an international bank account number"),
    ("US_BANK_NUMBER", "a US bank account number"),
    ("ABA_ROUTING_NUMBER", "an ABA routing transit number"),
    ("ACCOUNT_NUMBER", "an account number"),
    // Health identifiers
    ("MEDICAL_RECORD_NUMBER", "a medical record number"),
    (
        "HEALTH_PLAN_ID",
        "a health plan beneficiary or member number",
    ),
    ("MEDICAL_LICENSE", "a medical licence number"),
    ("US_NPI", "a US National Provider Identifier"),
    ("DEA_NUMBER", "a DEA registration number"),
    // Vehicles and devices
    ("VIN", "a vehicle identification number"),
    ("LICENSE_PLATE", "a vehicle licence plate"),
    ("DEVICE_ID", "a device identifier or serial number"),
    // Biometrics and images (HIPAA Safe Harbor items P and Q)
    (
        "BIOMETRIC_ID",
        "a biometric identifier (fingerprint, voiceprint, retina or face template)",
    ),
    (
        "IMAGE",
        "an image attached to a request (it may be a full-face photograph)",
    ),
    // Health context (not identifiers by themselves)
    ("MEDICAL_CONDITION", "a medical condition or diagnosis"),
    ("MEDICATION", "a medication"),
    ("PROCEDURE", "a medical procedure"),
    // Secrets
    ("API_KEY", "an API key or access token"),
    ("AWS_ACCESS_KEY", "an AWS access key id"),
    ("AWS_SECRET_KEY", "an AWS secret access key"),
    ("PRIVATE_KEY", "a PEM private key block"),
    ("JWT", "a JSON web token"),
    ("PASSWORD", "a password or connection-string credential"),
    ("SECRET", "a high-entropy secret next to key/secret/token"),
    // Dictionary deny lists
    ("CUSTOM", "a term on a deny list"),
];

/// Health context: it says what a text is about, not who.
pub const HEALTH_CONTEXT: &[&str] = &["MEDICAL_CONDITION", "MEDICATION", "PROCEDURE"];

/// Credentials: they are sensitive, but name no person.
pub const SECRETS: &[&str] = &[
    "API_KEY",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "PRIVATE_KEY",
    "JWT",
    "PASSWORD",
    "SECRET",
];

/// Whether an entity of this type says something about a person by itself: not a date or a
/// place (which need someone to be about), health context or a secret. Deny-list terms
/// (`CUSTOM`) count as about someone: an organisation lists them because they are sensitive.
pub fn is_about_a_person(entity_type: &str) -> bool {
    !matches!(entity_type, "DATE_TIME" | "LOCATION")
        && !HEALTH_CONTEXT.contains(&entity_type)
        && !SECRETS.contains(&entity_type)
}

/// True if `name` is a known entity type.
pub fn is_entity_type(name: &str) -> bool {
    ENTITY_TYPES.iter().any(|(n, _)| *n == name)
}

/// The known name closest to `name`, for "did you mean" messages.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let upper = name.to_ascii_uppercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&upper, &c.to_ascii_uppercase()), c))
        .filter(|(s, _)| *s > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The nearest entity type to an unknown name.
pub fn nearest_entity_type(name: &str) -> Option<&'static str> {
    nearest(name, ENTITY_TYPES.iter().map(|(n, _)| *n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names() {
        assert_eq!(nearest_entity_type("US_SNN"), Some("US_SSN"));
        assert_eq!(nearest_entity_type("email_adress"), Some("EMAIL_ADDRESS"));
        assert!(is_entity_type("PERSON"));
        assert!(!is_entity_type("person"));
    }
}
