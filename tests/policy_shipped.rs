//! Decision tests for every rule of the shipped policies (hipaa, soc2, pci, gdpr), precedence
//! across policies, and the detector-error path, all with hand-built entity lists.

use std::path::PathBuf;

use sluice::detect::catalog::ENTITY_TYPES;
use sluice::detect::{DetectError, DetectorKind, Entity};
use sluice::policy::{decide, load_file, Action, Decision, Policy, PolicyStore};

fn policy(name: &str) -> Policy {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("policies/{name}.toml"));
    load_file(&path).unwrap_or_else(|e| panic!("{name} does not load:\n{e}"))
}

fn entity(ty: &str, score: f32, validated: bool) -> Entity {
    Entity {
        decoded: None,
        entity_type: ty.to_string(),
        start: 0,
        end: 1,
        score,
        detector: DetectorKind::Regex,
        rule_id: "test".into(),
        validated,
        context: Vec::new(),
    }
}

fn ents(types: &[&str]) -> Vec<Entity> {
    types.iter().map(|t| entity(t, 0.9, false)).collect()
}

fn judge(p: &Policy, types: &[&str]) -> Decision {
    decide([p], Ok::<_, DetectError>(&ents(types)[..]))
}

fn fired(d: &Decision) -> Vec<&str> {
    d.fired.iter().map(|f| &*f.rule).collect()
}

#[test]
fn shipped_policies_load_without_warnings() {
    for name in ["hipaa", "soc2", "pci", "gdpr"] {
        let p = policy(name);
        assert!(p.warnings.is_empty(), "{name}: {:?}", p.warnings);
        assert_eq!(p.version.len(), 64);
    }
}

// ---- hipaa -------------------------------------------------------------------------------------

/// One entity type for each of the 18 Safe Harbor identifiers, 45 CFR 164.514(b)(2)(i)(A)-(R).
const SAFE_HARBOR: [(&str, &[&str]); 18] = [
    ("names", &["PERSON"]),
    (
        "geographic subdivisions",
        &["STREET_ADDRESS", "LOCATION", "ZIP_CODE"],
    ),
    ("dates and ages over 89", &["DATE_TIME", "AGE_OVER_89"]),
    ("telephone numbers", &["PHONE_NUMBER"]),
    ("fax numbers", &["FAX_NUMBER"]),
    ("email addresses", &["EMAIL_ADDRESS"]),
    ("social security numbers", &["US_SSN"]),
    ("medical record numbers", &["MEDICAL_RECORD_NUMBER"]),
    ("health plan beneficiary numbers", &["HEALTH_PLAN_ID"]),
    (
        "account numbers",
        &[
            "ACCOUNT_NUMBER",
            "US_BANK_NUMBER",
            "IBAN_CODE",
            "CREDIT_CARD",
        ],
    ),
    (
        "certificate/licence numbers",
        &["US_DRIVER_LICENSE", "MEDICAL_LICENSE"],
    ),
    ("vehicle identifiers", &["VIN", "LICENSE_PLATE"]),
    ("device identifiers", &["DEVICE_ID", "MAC_ADDRESS"]),
    ("web URLs", &["URL"]),
    ("IP addresses", &["IP_ADDRESS"]),
    ("biometric identifiers", &["BIOMETRIC_ID"]),
    ("full-face photographs", &["IMAGE"]),
    (
        "any other unique identifier",
        &[
            "US_PASSPORT",
            "GOVERNMENT_ID",
            "TAX_ID",
            "US_ITIN",
            "CUSTOM",
        ],
    ),
];

#[test]
fn hipaa_every_safe_harbor_identifier_with_health_context_is_local() {
    let p = policy("hipaa");
    for (item, types) in SAFE_HARBOR {
        for ty in types {
            for health in ["MEDICAL_CONDITION", "MEDICATION", "PROCEDURE"] {
                let d = judge(&p, &[ty, health]);
                assert_eq!(d.action, Action::Local, "{item}: {ty} + {health}");
                assert!(
                    d.fired("hipaa", "phi"),
                    "{item}: {ty} + {health}: {:?}",
                    fired(&d)
                );
                let f = d.fired.iter().find(|f| &*f.rule == "phi").unwrap();
                let trig: Vec<_> = f
                    .triggers
                    .iter()
                    .map(|t| (t.entity_type, t.count))
                    .collect();
                assert_eq!(trig, vec![(*ty, 1), (health, 1)], "{item}");
            }
        }
    }
}

#[test]
fn hipaa_health_context_alone_is_allowed() {
    let p = policy("hipaa");
    let d = judge(
        &p,
        &["MEDICAL_CONDITION", "MEDICATION", "PROCEDURE", "MEDICATION"],
    );
    assert_eq!(d.action, Action::Allow);
    assert_eq!(fired(&d), vec!["de-identified-health"]);
    assert_eq!(d.fired[0].triggers.iter().map(|t| t.count).sum::<u32>(), 4);
}

#[test]
fn hipaa_identifier_alone_defaults_to_local() {
    let p = policy("hipaa");
    let param = p
        .params
        .iter()
        .find(|x| x.name == "identifier_alone")
        .unwrap();
    assert_eq!(param.value, "\"local\"");
    for ty in ["PERSON", "PHONE_NUMBER", "IP_ADDRESS", "DATE_TIME"] {
        let d = judge(&p, &[ty]);
        assert_eq!(d.action, Action::Local, "{ty}");
        assert_eq!(fired(&d), vec!["identifier-alone"], "{ty}");
    }
}

#[test]
fn hipaa_identifier_alone_is_tunable() {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/hipaa.toml"))
        .unwrap();
    let tuned = src.replace(
        "identifier_alone = \"local\"",
        "identifier_alone = \"redact\"",
    );
    assert_ne!(src, tuned);
    let p = sluice::policy::load(std::path::Path::new("hipaa.toml"), tuned.as_bytes())
        .expect("the tuned policy loads: its test follows the parameter");
    let d = judge(&p, &["PERSON", "EMAIL_ADDRESS"]);
    assert_eq!(d.action, Action::Redact);
    assert_eq!(d.redact_types, vec!["PERSON", "EMAIL_ADDRESS"]);
    // The parameter only loosens the identifier-alone case: PHI stays local.
    assert_eq!(judge(&p, &["PERSON", "MEDICATION"]).action, Action::Local);
    assert_eq!(judge(&p, &["MEDICAL_RECORD_NUMBER"]).action, Action::Local);
}

#[test]
fn hipaa_health_care_identifiers_are_local_alone() {
    let p = policy("hipaa");
    for ty in ["MEDICAL_RECORD_NUMBER", "HEALTH_PLAN_ID"] {
        let d = judge(&p, &[ty]);
        assert_eq!(d.action, Action::Local);
        assert!(d.fired("hipaa", "health-care-identifier"), "{ty}");
    }
}

#[test]
fn hipaa_ignores_secrets_and_nothing() {
    let p = policy("hipaa");
    assert_eq!(judge(&p, &[]).action, Action::Allow);
    assert!(judge(&p, &[]).policies[0].by_default);
    assert_eq!(judge(&p, &["API_KEY", "JWT"]).action, Action::Allow);
}

// ---- soc2 --------------------------------------------------------------------------------------

#[test]
fn soc2_every_secret_type_blocks() {
    let p = policy("soc2");
    for ty in [
        "API_KEY",
        "AWS_ACCESS_KEY",
        "AWS_SECRET_KEY",
        "PRIVATE_KEY",
        "JWT",
        "PASSWORD",
        "SECRET",
    ] {
        let d = judge(&p, &[ty]);
        assert_eq!(d.action, Action::Block, "{ty}");
        assert_eq!(fired(&d), vec!["credentials"]);
    }
}

#[test]
fn soc2_government_ids_and_accounts_are_local() {
    let p = policy("soc2");
    for ty in [
        "US_SSN",
        "US_ITIN",
        "US_PASSPORT",
        "US_DRIVER_LICENSE",
        "GOVERNMENT_ID",
        "TAX_ID",
    ] {
        let d = judge(&p, &[ty]);
        assert_eq!(
            (d.action, fired(&d)),
            (Action::Local, vec!["government-id"]),
            "{ty}"
        );
    }
    for ty in [
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_BANK_NUMBER",
        "ACCOUNT_NUMBER",
    ] {
        let d = judge(&p, &[ty]);
        assert_eq!(
            (d.action, fired(&d)),
            (Action::Local, vec!["financial-account"]),
            "{ty}"
        );
    }
}

#[test]
fn soc2_names_with_contact_details_are_local_and_contact_alone_is_redacted() {
    let p = policy("soc2");
    for contact in [
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "FAX_NUMBER",
        "STREET_ADDRESS",
    ] {
        let d = judge(&p, &["PERSON", contact]);
        assert_eq!(
            (d.action, fired(&d)),
            (Action::Local, vec!["name-with-contact"]),
            "{contact}"
        );
        let d = judge(&p, &[contact]);
        assert_eq!(
            (d.action, fired(&d)),
            (Action::Redact, vec!["contact-details"]),
            "{contact}"
        );
        assert_eq!(d.redact_types, vec![contact]);
    }
    assert_eq!(judge(&p, &["PERSON"]).action, Action::Allow);
}

#[test]
fn soc2_bulk_customer_data_is_local_from_ten_entities() {
    let p = policy("soc2");
    let nine = vec!["PHONE_NUMBER"; 9];
    assert_eq!(judge(&p, &nine).action, Action::Redact);
    let ten = vec!["PHONE_NUMBER"; 10];
    let d = judge(&p, &ten);
    assert_eq!(d.action, Action::Local);
    assert!(d.fired("soc2", "bulk-customer-data"));
}

// ---- pci ---------------------------------------------------------------------------------------

#[test]
fn pci_card_numbers() {
    let p = policy("pci");
    let one = [entity("CREDIT_CARD", 0.9, true)];
    let d = decide([&p], Ok::<_, DetectError>(&one[..]));
    assert_eq!((d.action, fired(&d)), (Action::Redact, vec!["pan"]));
    assert_eq!(d.redact_types, vec!["CREDIT_CARD"]);

    let weak = [entity("CREDIT_CARD", 0.3, false)];
    assert_eq!(
        decide([&p], Ok::<_, DetectError>(&weak[..])).action,
        Action::Allow
    );

    let with_holder = [
        entity("CREDIT_CARD", 0.9, false),
        entity("PERSON", 0.8, false),
    ];
    let d = decide([&p], Ok::<_, DetectError>(&with_holder[..]));
    assert_eq!(d.action, Action::Block);
    assert!(d.fired("pci", "pan-with-cardholder"));

    let two_valid = [
        entity("CREDIT_CARD", 0.9, true),
        entity("CREDIT_CARD", 0.9, true),
    ];
    let d = decide([&p], Ok::<_, DetectError>(&two_valid[..]));
    assert_eq!(d.action, Action::Block);
    assert!(d.fired("pci", "card-dump"));

    let two_unvalidated = [
        entity("CREDIT_CARD", 0.9, false),
        entity("CREDIT_CARD", 0.9, true),
    ];
    let d = decide([&p], Ok::<_, DetectError>(&two_unvalidated[..]));
    assert_eq!(
        d.action,
        Action::Redact,
        "only one of them is checksum-valid"
    );
}

#[test]
fn pci_blocks_on_detector_error() {
    let p = policy("pci");
    let d = decide([&p], Err::<&[Entity], _>("timeout"));
    assert_eq!(d.action, Action::Block);
}

// ---- gdpr --------------------------------------------------------------------------------------

#[test]
fn gdpr_rules() {
    let p = policy("gdpr");
    for ty in [
        "PERSON",
        "EMAIL_ADDRESS",
        "IP_ADDRESS",
        "DATE_TIME",
        "LICENSE_PLATE",
    ] {
        let d = judge(&p, &[ty]);
        assert_eq!(
            (d.action, fired(&d)),
            (Action::Redact, vec!["personal-data"]),
            "{ty}"
        );
    }
    let d = judge(&p, &["PERSON", "MEDICAL_CONDITION"]);
    assert_eq!(d.action, Action::Local);
    assert!(d.fired("gdpr", "special-category"));
    let d = judge(&p, &["BIOMETRIC_ID"]);
    assert_eq!((d.action, fired(&d)), (Action::Local, vec!["biometric"]));
    for ty in ["US_SSN", "IBAN_CODE", "CREDIT_CARD"] {
        let d = judge(&p, &[ty]);
        assert_eq!(d.action, Action::Local, "{ty}");
        assert!(d.fired("gdpr", "national-id"), "{ty}");
    }
    assert_eq!(judge(&p, &["MEDICATION"]).action, Action::Allow);
}

// ---- precedence and failure --------------------------------------------------------------------

#[test]
fn strictest_action_across_policies_wins() {
    let (hipaa, soc2, pci) = (policy("hipaa"), policy("soc2"), policy("pci"));
    let cases: [(&[&str], Action, Action, Action); 5] = [
        // entities, hipaa alone, soc2 alone, hipaa + soc2
        (&[], Action::Allow, Action::Allow, Action::Allow),
        (&["MEDICATION"], Action::Allow, Action::Allow, Action::Allow),
        (
            &["EMAIL_ADDRESS"],
            Action::Local,
            Action::Redact,
            Action::Local,
        ),
        (
            &["PERSON", "MEDICAL_CONDITION", "API_KEY"],
            Action::Local,
            Action::Block,
            Action::Block,
        ),
        (&["US_SSN"], Action::Local, Action::Local, Action::Local),
    ];
    for (types, h, s, both) in cases {
        assert_eq!(judge(&hipaa, types).action, h, "{types:?}");
        assert_eq!(judge(&soc2, types).action, s, "{types:?}");
        let e = ents(types);
        let d = decide([&hipaa, &soc2], Ok::<_, DetectError>(&e[..]));
        assert_eq!(d.action, both, "{types:?}");
        assert_eq!(d.policies.len(), 2);
        assert_eq!((&*d.policies[0].name, d.policies[0].action), ("hipaa", h));
        assert_eq!((&*d.policies[1].name, d.policies[1].action), ("soc2", s));
        assert_eq!(d.policies[0].version, hipaa.version);
    }
    // soc2 would redact a lone email; pci allows it; together: redact, masking only the email.
    let e = ents(&["EMAIL_ADDRESS"]);
    let d = decide([&pci, &soc2], Ok::<_, DetectError>(&e[..]));
    assert_eq!(d.action, Action::Redact);
    assert_eq!(d.redact_types, vec!["EMAIL_ADDRESS"]);
    // Redaction needs are merged across policies.
    let e = [
        entity("CREDIT_CARD", 0.9, true),
        entity("FAX_NUMBER", 0.9, false),
    ];
    let d = decide([&pci, &soc2], Ok::<_, DetectError>(&e[..]));
    assert_eq!(d.action, Action::Local, "soc2 keeps card numbers local");
    assert!(
        d.redact_types.is_empty(),
        "nothing to redact when the text stays local"
    );
}

#[test]
fn detector_error_never_allows_under_any_shipped_policy_set() {
    let all = [
        policy("hipaa"),
        policy("soc2"),
        policy("pci"),
        policy("gdpr"),
    ];
    for mask in 1u32..16 {
        let set: Vec<&Policy> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, p)| p)
            .collect();
        let d = decide(
            set.iter().copied(),
            Err::<&[Entity], _>(DetectError::Model("session failed".into())),
        );
        assert!(d.action >= Action::Local, "{mask:b}: {:?}", d.action);
        assert!(d.detection_failed);
        assert_eq!(d.policies.len(), set.len());
        for f in &d.fired {
            assert_eq!(&*f.rule, "detector_error");
            assert!(f.reason.starts_with("detector error"));
        }
    }
}

#[test]
fn detector_error_never_allows_through_the_store() {
    let store = PolicyStore::open(concat!(env!("CARGO_MANIFEST_DIR"), "/policies")).unwrap();
    let snap = store.snapshot();
    let d = snap.decide(&["hipaa", "soc2"], Err::<&[Entity], _>(()));
    assert_eq!(d.action, Action::Local);
    let d = snap.decide(&["soc2", "pci"], Err::<&[Entity], _>(()));
    assert_eq!(d.action, Action::Block);
}

#[test]
fn no_entity_type_alone_or_with_health_context_makes_hipaa_and_soc2_looser_than_hipaa_alone() {
    let (hipaa, soc2) = (policy("hipaa"), policy("soc2"));
    for (ty, _) in ENTITY_TYPES {
        for extra in [None, Some("MEDICATION")] {
            let types: Vec<&str> = std::iter::once(*ty).chain(extra).collect();
            let alone = judge(&hipaa, &types).action;
            let e = ents(&types);
            let both = decide([&hipaa, &soc2], Ok::<_, DetectError>(&e[..])).action;
            assert!(both >= alone, "{types:?}");
        }
    }
}

#[test]
fn unknown_entity_types_from_a_detector_are_sensitive() {
    let hipaa = policy("hipaa");
    let e = [entity("NOT_IN_CATALOG", 0.9, false)];
    let d = decide([&hipaa], Ok::<_, DetectError>(&e[..]));
    assert_eq!(d.action, Action::Local);
    assert!(d.fired("sluice", "unknown_entity_type"));
}

#[test]
fn nan_scores_can_only_tighten() {
    let hipaa = policy("hipaa");
    // A NaN-scored health entity still counts as co-occurring health context...
    let e = [
        entity("PERSON", 0.9, false),
        entity("MEDICATION", f32::NAN, false),
    ];
    let d = decide([&hipaa], Ok::<_, DetectError>(&e[..]));
    assert!(d.fired("hipaa", "phi"));
    // ...but cannot stop the identifier-alone rule through `unless`.
    assert!(d.fired("hipaa", "identifier-alone"));
    assert_eq!(d.action, Action::Local);
}

#[test]
fn decisions_serialize_for_the_audit_log_without_values() {
    let hipaa = policy("hipaa");
    let d = judge(&hipaa, &["PERSON", "MEDICAL_CONDITION"]);
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["action"], "local");
    assert_eq!(json["policies"][0]["name"], "hipaa");
    assert_eq!(json["policies"][0]["version"], hipaa.version.to_string());
    assert_eq!(json["fired"][0]["rule"], "phi");
    assert_eq!(json["fired"][0]["triggers"][0]["entity_type"], "PERSON");
    assert_eq!(json["fired"][0]["triggers"][0]["count"], 1);
}
