//! Sets of entity types as bitsets over the catalog.
//!
//! Categories and rule conditions are resolved to bitsets once, when a policy is loaded, so that at
//! decision time "does this rule care about this entity" is one AND and "is any health context
//! present" is one more.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use crate::detect::catalog::ENTITY_TYPES;

const _: () = assert!(
    ENTITY_TYPES.len() <= 128,
    "TypeSet holds at most 128 entity types; widen it before growing the catalog"
);

/// The position of an entity type in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeIndex(u8);

impl TypeIndex {
    /// The catalog position of `name`, or `None` for a name the catalog does not know.
    pub fn of(name: &str) -> Option<TypeIndex> {
        static INDEX: OnceLock<HashMap<&'static str, u8>> = OnceLock::new();
        INDEX
            .get_or_init(|| {
                ENTITY_TYPES
                    .iter()
                    .enumerate()
                    .map(|(i, (n, _))| (*n, i as u8))
                    .collect()
            })
            .get(name)
            .map(|&i| TypeIndex(i))
    }

    pub fn name(self) -> &'static str {
        ENTITY_TYPES[self.0 as usize].0
    }
}

/// A set of entity types.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TypeSet(u128);

impl TypeSet {
    pub const EMPTY: TypeSet = TypeSet(0);

    /// Every catalog type.
    pub fn all() -> TypeSet {
        TypeSet(u128::MAX >> (128 - ENTITY_TYPES.len()))
    }

    /// The set of `names`; a name outside the catalog stands for any type, so the result is
    /// every type (a set used as "what may appear" must not shrink on a name it cannot read).
    pub fn of_names_or_all<'a>(names: impl IntoIterator<Item = &'a str>) -> TypeSet {
        let mut set = TypeSet::EMPTY;
        for name in names {
            match TypeIndex::of(name) {
                Some(t) => set.insert(t),
                None => return TypeSet::all(),
            }
        }
        set
    }

    pub fn single(t: TypeIndex) -> TypeSet {
        TypeSet(1u128 << t.0)
    }

    pub fn insert(&mut self, t: TypeIndex) {
        self.0 |= 1u128 << t.0;
    }

    pub fn contains(self, t: TypeIndex) -> bool {
        self.0 & (1u128 << t.0) != 0
    }

    pub fn union(self, other: TypeSet) -> TypeSet {
        TypeSet(self.0 | other.0)
    }

    pub fn intersects(self, other: TypeSet) -> bool {
        self.0 & other.0 != 0
    }

    pub fn is_subset(self, other: TypeSet) -> bool {
        self.0 & !other.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The members, in catalog order.
    pub fn iter(self) -> impl Iterator<Item = TypeIndex> {
        (0..ENTITY_TYPES.len() as u8)
            .map(TypeIndex)
            .filter(move |t| self.contains(*t))
    }

    /// The members' names, in catalog order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        self.iter().map(TypeIndex::name)
    }
}

impl fmt::Debug for TypeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.names()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> TypeSet {
        let mut s = TypeSet::EMPTY;
        for n in names {
            s.insert(TypeIndex::of(n).unwrap());
        }
        s
    }

    #[test]
    fn every_catalog_type_has_an_index() {
        for (name, _) in ENTITY_TYPES {
            assert_eq!(TypeIndex::of(name).unwrap().name(), *name);
        }
        assert_eq!(TypeIndex::of("person"), None);
    }

    #[test]
    fn set_operations() {
        let ids = set(&["PERSON", "US_SSN"]);
        let health = set(&["MEDICATION"]);
        assert!(!ids.intersects(health));
        assert!(set(&["PERSON"]).is_subset(ids));
        assert!(!ids.is_subset(set(&["PERSON"])));
        assert_eq!(ids.union(health).len(), 3);
        assert_eq!(ids.names().collect::<Vec<_>>(), vec!["PERSON", "US_SSN"]);
        assert!(TypeSet::EMPTY.is_subset(health));
    }

    #[test]
    fn all_and_names_or_all() {
        assert_eq!(TypeSet::all().len(), ENTITY_TYPES.len());
        assert_eq!(
            TypeSet::of_names_or_all(["PERSON", "US_SSN"]),
            set(&["PERSON", "US_SSN"])
        );
        assert_eq!(
            TypeSet::of_names_or_all(["PERSON", "NOT_A_TYPE"]),
            TypeSet::all()
        );
    }

    #[test]
    fn last_catalog_type_fits() {
        let last = ENTITY_TYPES.last().unwrap().0;
        let s = set(&[last]);
        assert_eq!(s.names().collect::<Vec<_>>(), vec![last]);
    }
}
