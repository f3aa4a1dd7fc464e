//! Values that may be written literally or as a `"$param"` reference: actions, scores, counts.

use std::ops::Range;

use toml::Spanned;

use super::{describe, did_you_mean, Compiler};
use crate::detect::catalog;
use crate::policy::Action;

impl<'r> Compiler<'_, 'r> {
    /// The parameter a `"$name"` reference names, marked used; an error at the reference if unknown.
    pub(super) fn param(
        &mut self,
        name: &str,
        at: &Range<usize>,
    ) -> Option<&'r Spanned<toml::Value>> {
        match self.params.get_mut(name) {
            Some(slot) => {
                slot.used = true;
                Some(slot.value)
            }
            None => {
                let hint = did_you_mean(catalog::nearest(name, self.params.keys().copied()));
                self.diags.error(
                    at,
                    format!("unknown parameter `${name}`{hint}: define it under [params]"),
                );
                None
            }
        }
    }

    /// An action written literally or as a `"$param"` reference.
    pub(super) fn action(&mut self, v: &Spanned<String>, field: &str) -> Option<Action> {
        let (text, at, from) = match v.get_ref().strip_prefix('$') {
            Some(name) => {
                let p = self.param(name, &v.span())?;
                match p.get_ref() {
                    toml::Value::String(s) => (s.as_str(), p.span(), Some(name)),
                    other => {
                        self.diags.error(
                            &p.span(),
                            format!("parameter `{name}` is used as an action (`{field}`) but is {}: use allow, redact, local or block", describe(other)),
                        );
                        return None;
                    }
                }
            }
            None => (v.get_ref().as_str(), v.span(), None),
        };
        let action = Action::parse(text);
        if action.is_none() {
            let hint = did_you_mean(catalog::nearest(
                text,
                Action::ALL.iter().map(|a| a.as_str()),
            ));
            let subject = match from {
                Some(name) => format!("parameter `{name}` (used as `{field}`)"),
                None => format!("`{field}`"),
            };
            self.diags.error(
                &at,
                format!("{subject}: unknown action `{text}`{hint}; the actions are allow, redact, local and block"),
            );
        }
        action
    }

    /// A number written literally or as a `"$param"` reference, with where to report its range.
    pub(super) fn number(
        &mut self,
        v: &'r Spanned<toml::Value>,
        field: &str,
    ) -> Option<(f64, Range<usize>)> {
        let (value, at) = match v.get_ref() {
            toml::Value::String(s) if s.starts_with('$') => {
                let p = self.param(&s[1..], &v.span())?;
                (p.get_ref(), p.span())
            }
            other => (other, v.span()),
        };
        match value {
            toml::Value::Integer(i) => Some((*i as f64, at)),
            toml::Value::Float(f) => Some((*f, at)),
            other => {
                self.diags.error(
                    &at,
                    format!("`{field}` must be a number, not {}", describe(other)),
                );
                None
            }
        }
    }

    pub(super) fn min_score(&mut self, v: &'r Spanned<toml::Value>) -> Option<f32> {
        let (score, at) = self.number(v, "min_score")?;
        if score.is_nan() || score < 0.0 {
            self.diags.error(&at, "`min_score` must be between 0 and 1");
            None
        } else if score > 1.0 {
            self.diags.error(
                &at,
                format!(
                    "`min_score = {score}` can never match: detector scores are between 0 and 1"
                ),
            );
            None
        } else {
            Some(score as f32)
        }
    }

    pub(super) fn min_count(&mut self, v: &'r Spanned<toml::Value>) -> Option<u32> {
        let (count, at) = self.number(v, "min_count")?;
        if count.fract() != 0.0 || count < 0.0 || count > u32::MAX as f64 {
            self.diags
                .error(&at, "`min_count` must be a whole number, at least 1");
            None
        } else if count == 0.0 {
            self.diags.error(
                &at,
                "`min_count = 0` would fire on every request, even one with no entities: use `default` for that, or at least 1",
            );
            None
        } else {
            Some(count as u32)
        }
    }
}
