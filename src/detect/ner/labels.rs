//! The model's BIO label set, read from its `config.json`, and how its labels map to sluice types.
//!
//! The label order is data of the model file, not of this code: reading `id2label` keeps the two in
//! step when the pinned model changes, and refusing labels this code does not know keeps a new
//! model from silently dropping an entity type.

use std::path::Path;

use serde::Deserialize;

use crate::detect::DetectError;

/// One of the model's 17 entity labels (a part of an entity, for names and street addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    GivenName,
    Surname,
    Email,
    Phone,
    Url,
    TaxId,
    BankAccount,
    RoutingNumber,
    GovernmentId,
    Passport,
    DriversLicense,
    BuildingNumber,
    StreetName,
    SecondaryAddress,
    City,
    State,
    ZipCode,
}

const PARTS: [(Part, &str); 17] = [
    (Part::GivenName, "GIVEN_NAME"),
    (Part::Surname, "SURNAME"),
    (Part::Email, "EMAIL"),
    (Part::Phone, "PHONE"),
    (Part::Url, "URL"),
    (Part::TaxId, "TAX_ID"),
    (Part::BankAccount, "BANK_ACCOUNT"),
    (Part::RoutingNumber, "ROUTING_NUMBER"),
    (Part::GovernmentId, "GOVERNMENT_ID"),
    (Part::Passport, "PASSPORT"),
    (Part::DriversLicense, "DRIVERS_LICENSE"),
    (Part::BuildingNumber, "BUILDING_NUMBER"),
    (Part::StreetName, "STREET_NAME"),
    (Part::SecondaryAddress, "SECONDARY_ADDRESS"),
    (Part::City, "CITY"),
    (Part::State, "STATE"),
    (Part::ZipCode, "ZIP_CODE"),
];

/// How parts combine into reported entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Given names and surnames next to each other form one PERSON.
    Person,
    /// Building number, street name and secondary address next to each other form one
    /// STREET_ADDRESS.
    StreetAddress,
    /// Reported on its own as this entity type.
    Single(&'static str),
}

impl Kind {
    pub fn entity_type(self) -> &'static str {
        match self {
            Kind::Person => "PERSON",
            Kind::StreetAddress => "STREET_ADDRESS",
            Kind::Single(t) => t,
        }
    }

    /// True if `gap`, the text between two parts of this kind, still lets them form one entity.
    /// A line break always separates: a list of names, one per line, is many people.
    pub fn joins_across(self, gap: &str) -> bool {
        let same_line = |c: char| c.is_whitespace() && c != '\n' && c != '\r';
        match self {
            Kind::Person => gap.chars().all(same_line),
            // "123 Main St, Apt 4" is one address.
            Kind::StreetAddress => gap.chars().all(|c| same_line(c) || c == ','),
            Kind::Single(_) => false,
        }
    }
}

impl Part {
    pub fn label(self) -> &'static str {
        PARTS
            .iter()
            .find(|(p, _)| *p == self)
            .map_or("", |(_, l)| l)
    }

    fn from_label(label: &str) -> Option<Part> {
        PARTS.iter().find(|(_, l)| *l == label).map(|(p, _)| *p)
    }

    pub fn kind(self) -> Kind {
        match self {
            Part::GivenName | Part::Surname => Kind::Person,
            Part::BuildingNumber | Part::StreetName | Part::SecondaryAddress => Kind::StreetAddress,
            Part::Email => Kind::Single("EMAIL_ADDRESS"),
            Part::Phone => Kind::Single("PHONE_NUMBER"),
            Part::Url => Kind::Single("URL"),
            Part::TaxId => Kind::Single("TAX_ID"),
            Part::BankAccount => Kind::Single("US_BANK_NUMBER"),
            Part::RoutingNumber => Kind::Single("ABA_ROUTING_NUMBER"),
            Part::GovernmentId => Kind::Single("GOVERNMENT_ID"),
            Part::Passport => Kind::Single("US_PASSPORT"),
            Part::DriversLicense => Kind::Single("US_DRIVER_LICENSE"),
            Part::City | Part::State => Kind::Single("LOCATION"),
            Part::ZipCode => Kind::Single("ZIP_CODE"),
        }
    }
}

/// A BIO tag: outside any entity, beginning one, or inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Outside,
    Begin(Part),
    Inside(Part),
}

impl Tag {
    fn parse(label: &str) -> Option<Tag> {
        if label == "O" {
            return Some(Tag::Outside);
        }
        let (prefix, name) = label.split_once('-')?;
        let part = Part::from_label(name)?;
        match prefix {
            "B" => Some(Tag::Begin(part)),
            "I" => Some(Tag::Inside(part)),
            _ => None,
        }
    }
}

/// The tag of each output class of the model, by class index.
#[derive(Debug, Clone)]
pub struct LabelMap {
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
struct ModelConfig {
    id2label: std::collections::BTreeMap<String, String>,
}

impl LabelMap {
    /// Reads `id2label` from the model's `config.json`.
    pub fn load(path: &Path) -> Result<LabelMap, DetectError> {
        let text = std::fs::read_to_string(path).map_err(|source| DetectError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |why: String| {
            DetectError::Model(format!(
                "{}: {why}; run `make models` to restore the pinned model files",
                path.display()
            ))
        };
        let config: ModelConfig =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a model config ({e})")))?;
        let mut tags = vec![None; config.id2label.len()];
        for (id, label) in &config.id2label {
            let index = id
                .parse::<usize>()
                .ok()
                .filter(|i| *i < tags.len())
                .ok_or_else(|| bad(format!("id2label has a bad class index {id:?}")))?;
            let tag = Tag::parse(label).ok_or_else(|| bad(format!("unknown label {label:?}")))?;
            tags[index] = Some(tag);
        }
        let tags: Vec<Tag> = tags
            .into_iter()
            .collect::<Option<_>>()
            .ok_or_else(|| bad("id2label skips a class index".to_string()))?;
        if tags.is_empty() {
            return Err(bad("id2label is empty".to_string()));
        }
        Ok(LabelMap { tags })
    }

    /// Number of output classes (the last dimension of the logits).
    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn tag(&self, class: usize) -> Tag {
        self.tags.get(class).copied().unwrap_or(Tag::Outside)
    }

    /// The sluice entity types this model's labels can produce, each once.
    pub fn entity_types(&self) -> Vec<&'static str> {
        let mut types: Vec<&'static str> = self
            .tags
            .iter()
            .filter_map(|t| match t {
                Tag::Begin(p) | Tag::Inside(p) => Some(p.kind().entity_type()),
                Tag::Outside => None,
            })
            .collect();
        types.sort_unstable();
        types.dedup();
        types
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, json: &str) -> std::path::PathBuf {
        let path = dir.path().join("config.json");
        std::fs::write(&path, json).unwrap();
        path
    }

    #[test]
    fn reads_the_shipped_label_map() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/rampart/config.json");
        let map = LabelMap::load(&path).unwrap();
        assert_eq!(map.len(), 35);
        assert_eq!(map.tag(0), Tag::Outside);
        assert_eq!(map.tag(1), Tag::Begin(Part::GivenName));
        assert_eq!(map.tag(4), Tag::Inside(Part::Surname));
        assert_eq!(map.tag(34), Tag::Inside(Part::ZipCode));
    }

    #[test]
    fn every_part_has_a_label_and_a_known_entity_type() {
        for (part, label) in PARTS {
            assert_eq!(part.label(), label);
            assert!(crate::detect::catalog::is_entity_type(
                part.kind().entity_type()
            ));
        }
    }

    #[test]
    fn unknown_labels_and_holes_are_errors_naming_make_models() {
        let dir = tempfile::tempdir().unwrap();
        let unknown = write(
            &dir,
            r#"{"id2label": {"0": "O", "1": "B-FAVOURITE_COLOUR"}}"#,
        );
        let msg = LabelMap::load(&unknown).unwrap_err().to_string();
        assert!(
            msg.contains("FAVOURITE_COLOUR") && msg.contains("make models"),
            "{msg}"
        );
        let hole = write(&dir, r#"{"id2label": {"0": "O", "2": "B-CITY"}}"#);
        assert!(LabelMap::load(&hole).is_err());
        let garbage = write(&dir, "not json");
        assert!(LabelMap::load(&garbage).is_err());
    }

    #[test]
    fn names_join_across_spaces_only_and_addresses_across_commas() {
        assert!(Kind::Person.joins_across(" "));
        assert!(!Kind::Person.joins_across("\n"));
        assert!(!Kind::StreetAddress.joins_across(",\r\n"));
        assert!(!Kind::Person.joins_across(", "));
        assert!(Kind::StreetAddress.joins_across(", "));
        assert!(!Kind::StreetAddress.joins_across(" and "));
        assert!(!Kind::Single("LOCATION").joins_across(" "));
    }
}
