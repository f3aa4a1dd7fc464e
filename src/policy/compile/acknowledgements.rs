//! `acknowledge_loosening`: the names a policy file gives to what its reload may drop or loosen.
//!
//! Only the form of each name is checked here; whether it names something the reload really drops
//! or loosens depends on the loaded version, which [`crate::policy::loosening`] compares at reload.

use super::rules::is_rule_id;
use super::Compiler;
use crate::policy::file::Names;
use crate::policy::model::Acknowledgement;

/// The names that stand for the policy's own settings rather than a rule or a test case.
pub const SETTINGS: [&str; 2] = ["default", "on_detector_error"];
/// Prefix of a name that stands for a test case: `test:<test name>`.
pub const TEST_PREFIX: &str = "test:";

impl<'r> Compiler<'_, 'r> {
    pub(super) fn acknowledgements(&mut self, names: Option<&'r Names>) -> Vec<Acknowledgement> {
        let mut out: Vec<Acknowledgement> = Vec::new();
        for entry in names.map(|n| n.get_ref().as_slice()).unwrap_or_default() {
            let name = entry.get_ref();
            let well_formed = SETTINGS.contains(&name.as_str())
                || name
                    .strip_prefix(TEST_PREFIX)
                    .is_some_and(|t| !t.trim().is_empty())
                || is_rule_id(name);
            if !well_formed {
                self.diags.error(
                    &entry.span(),
                    format!("`acknowledge_loosening` entry `{name}` is not a rule id, `default`, `on_detector_error` or `test:<test name>`"),
                );
                continue;
            }
            let position = self.diags.position(&entry.span());
            if let Some(first) = out.iter().find(|a| a.name == *name) {
                self.diags.warning(
                    &entry.span(),
                    format!(
                        "`{name}` is already acknowledged on line {}",
                        first.position.line
                    ),
                );
                continue;
            }
            out.push(Acknowledgement {
                name: name.clone(),
                position,
            });
        }
        out
    }
}
