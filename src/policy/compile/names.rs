//! Categories and entity type names: every name a rule uses resolves to a set of catalog types.

use toml::Spanned;

use super::{did_you_mean, is_identifier, CategoryState, Compiler};
use crate::detect::catalog;
use crate::policy::file::Names;
use crate::policy::model::Category;
use crate::policy::typeset::{TypeIndex, TypeSet};

impl<'r> Compiler<'_, 'r> {
    pub(super) fn categories(&mut self) -> Vec<Category> {
        let names: Vec<&'r str> = self.raw_categories.keys().copied().collect();
        let mut out = Vec::new();
        for name in names {
            let span = self.raw_categories[name].0.clone();
            if !is_identifier(name) {
                self.diags.error(
                    &span,
                    format!("category name `{name}` must be lowercase letters, digits and `_`, starting with a letter (UPPER_CASE names are entity types)"),
                );
                self.categories.insert(name, CategoryState::Invalid);
                continue;
            }
            if let Some(types) = self.category(name) {
                out.push(Category {
                    name: name.to_string(),
                    types,
                });
            }
        }
        out
    }

    /// Resolves category `name` (and the categories it names) to a type set.
    pub(super) fn category(&mut self, name: &'r str) -> Option<TypeSet> {
        match self.categories.get(name) {
            Some(CategoryState::Resolved(t)) => return Some(*t),
            Some(CategoryState::Invalid) => return None,
            Some(CategoryState::Resolving) => {
                let span = self.raw_categories[name].0.clone();
                let start = self.resolving.iter().position(|c| *c == name).unwrap_or(0);
                let mut path = self.resolving[start..].to_vec();
                path.push(name);
                self.diags.error(
                    &span,
                    format!("category `{name}` includes itself: {}", path.join(" -> ")),
                );
                self.categories.insert(name, CategoryState::Invalid);
                return None;
            }
            None => {}
        }
        self.categories.insert(name, CategoryState::Resolving);
        self.resolving.push(name);
        let (span, members) = self.raw_categories[name].clone();
        let resolved = if members.get_ref().is_empty() {
            self.diags
                .error(&span, format!("category `{name}` is empty"));
            None
        } else {
            self.names(members)
        };
        self.resolving.pop();
        let state = match resolved {
            Some(t) => CategoryState::Resolved(t),
            None => CategoryState::Invalid,
        };
        // A cycle found deeper down has already marked this category invalid.
        if !matches!(self.categories.get(name), Some(CategoryState::Invalid)) {
            self.categories.insert(name, state);
        }
        match self.categories.get(name) {
            Some(CategoryState::Resolved(t)) => Some(*t),
            _ => None,
        }
    }

    /// The union of the entity types and categories listed in `names`.
    pub(super) fn names(&mut self, names: &'r Names) -> Option<TypeSet> {
        let mut set = TypeSet::EMPTY;
        let mut ok = true;
        for n in names.get_ref() {
            match self.name(n) {
                Some(t) => set = set.union(t),
                None => ok = false,
            }
        }
        ok.then_some(set)
    }

    pub(super) fn name(&mut self, n: &'r Spanned<String>) -> Option<TypeSet> {
        let name = n.get_ref().as_str();
        if let Some(t) = TypeIndex::of(name) {
            return Some(TypeSet::single(t));
        }
        if self.raw_categories.contains_key(name) {
            self.used_categories.insert(name);
            return self.category(name);
        }
        let candidates = catalog::ENTITY_TYPES
            .iter()
            .map(|(t, _)| *t)
            .chain(self.raw_categories.keys().copied());
        let hint = did_you_mean(catalog::nearest(name, candidates));
        let what = if name.chars().any(|c| c.is_ascii_uppercase()) {
            "entity type"
        } else {
            "entity type or category"
        };
        self.diags
            .error(&n.span(), format!("unknown {what} `{name}`{hint}"));
        None
    }
}
