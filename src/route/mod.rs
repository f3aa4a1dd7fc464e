//! Task-based routing of cleared traffic: rules in sluice.toml that pick a backend from what a
//! request looks like (the model asked for, its estimated prompt size, tools, the response format,
//! the client's `x-sluice-task` hint, keyword classes), e.g. short extraction and classification
//! prompts to the local tier, long or tool-using prompts to the cloud.
//!
//! Privacy comes first: rules are consulted only for `allow` and `redact` decisions; a `local`
//! decision goes on premise and a `block` nowhere, whatever a rule says (the router enforces it).
//! The first rule whose conditions all hold wins; with none, the model's and the default routes
//! apply. This module only matches; it knows no backends (the router maps a rule's `to`).

pub mod escalate;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::Deserialize;

use crate::openai::ChatCompletionRequest;

/// The request header that carries a client's task hint.
pub const TASK_HEADER: &str = "x-sluice-task";

/// `[[routing.rules]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRuleConfig {
    /// Recorded in the decision as `route_rule`.
    pub name: String,
    #[serde(default)]
    pub when: When,
    /// The backend that serves a request this rule matches.
    pub to: String,
    /// Local first: `to` (on premise) answers, and an answer the check finds unsure goes on to
    /// `escalate.to` ([`escalate`]).
    #[serde(default)]
    pub escalate: Option<escalate::EscalateConfig>,
}

/// A rule's conditions; all given ones must hold (a list holds when any of its values does).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Requested model names.
    #[serde(default)]
    pub model: Vec<String>,
    /// Values of the `x-sluice-task` header (compared case-insensitively).
    #[serde(default)]
    pub task: Vec<String>,
    #[serde(default)]
    pub min_prompt_tokens: Option<u64>,
    #[serde(default)]
    pub max_prompt_tokens: Option<u64>,
    /// Whether the request offers tools.
    #[serde(default)]
    pub tools: Option<bool>,
    /// `response_format.type` values (`text`, `json_object`, `json_schema`).
    #[serde(default)]
    pub response_format: Vec<String>,
    /// Keyword classes (`[routing.keywords]`): one of their words appears in the prompt.
    #[serde(default)]
    pub keywords: Vec<String>,
}

/// `[routing.keywords]`: a class is a list of words, or a file of them (one per line, `#`
/// comments; relative to the configuration file).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum KeywordClass {
    Words(Vec<String>),
    File(PathBuf),
}

/// What the rules look at, borrowed from the request as decided (nothing is copied: a 10 MB
/// prompt is read in place).
#[derive(Debug, Clone)]
pub struct Features<'a> {
    pub model: &'a str,
    pub task: Option<String>,
    /// Characters of message text / 4: the usual rule of thumb for English with BPE tokenizers.
    pub prompt_tokens: u64,
    pub tools: bool,
    pub response_format: Option<&'a str>,
    /// The messages' text parts, for keyword classes.
    texts: Vec<&'a str>,
}

impl<'a> Features<'a> {
    pub fn of(request: &'a ChatCompletionRequest, task: Option<&str>) -> Features<'a> {
        let texts: Vec<&str> = request
            .messages
            .iter()
            .filter_map(|m| m.content.as_ref())
            .flat_map(|c| c.text_parts())
            .collect();
        let chars = texts.iter().map(|t| t.chars().count()).sum();
        Features {
            model: &request.model,
            task: task.map(|t| t.trim().to_ascii_lowercase()),
            prompt_tokens: estimate_tokens(chars),
            tools: request.tools.as_ref().is_some_and(|t| !t.is_empty()),
            response_format: request.response_format_type(),
            texts,
        }
    }
}

/// Estimated tokens for `chars` characters of prompt text.
pub fn estimate_tokens(chars: usize) -> u64 {
    (chars as u64).div_ceil(4)
}

struct Rule {
    config: RouteRuleConfig,
    escalation: Option<Arc<escalate::Escalation>>,
    /// Index into [`RouteRules::classes`] of each keyword class named.
    classes: Vec<usize>,
}

/// The compiled rules, in order.
#[derive(Default)]
pub struct RouteRules {
    rules: Vec<Rule>,
    classes: Vec<AhoCorasick>,
}

impl std::fmt::Debug for RouteRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.rules.iter().map(|r| &r.config.name))
            .finish()
    }
}

/// A rule that matched.
#[derive(Debug, Clone)]
pub struct Chosen<'a> {
    pub rule: &'a str,
    pub to: &'a str,
    pub escalation: Option<&'a Arc<escalate::Escalation>>,
}

impl PartialEq for Chosen<'_> {
    fn eq(&self, other: &Self) -> bool {
        let same_escalation = match (self.escalation, other.escalation) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        self.rule == other.rule && self.to == other.to && same_escalation
    }
}

impl RouteRules {
    /// Checks and compiles `[[routing.rules]]` with the keyword classes they use.
    pub fn compile(
        rules: &[RouteRuleConfig],
        keywords: &BTreeMap<String, KeywordClass>,
    ) -> Result<RouteRules, String> {
        let mut compiled = RouteRules::default();
        let mut class_index: BTreeMap<&str, usize> = BTreeMap::new();
        for (name, class) in keywords {
            let words = match class {
                KeywordClass::Words(words) => words.clone(),
                KeywordClass::File(path) => std::fs::read_to_string(path)
                    .map_err(|e| format!("[routing.keywords] {name}: {}: {e}", path.display()))?
                    .lines()
                    .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
                    .filter(|l| !l.is_empty())
                    .collect(),
            };
            if words.is_empty() || words.iter().any(|w| w.trim().is_empty()) {
                return Err(format!(
                    "[routing.keywords] {name}: give at least one word, and no empty ones"
                ));
            }
            let matcher = AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&words)
                .map_err(|e| format!("[routing.keywords] {name}: {e}"))?;
            class_index.insert(name, compiled.classes.len());
            compiled.classes.push(matcher);
        }
        let mut names = std::collections::BTreeSet::new();
        for rule in rules {
            if !names.insert(rule.name.as_str()) {
                return Err(format!(
                    "[[routing.rules]] name = {:?} is used twice",
                    rule.name
                ));
            }
            let w = &rule.when;
            if let (Some(min), Some(max)) = (w.min_prompt_tokens, w.max_prompt_tokens) {
                if min > max {
                    return Err(format!(
                        "[[routing.rules]] {:?}: min_prompt_tokens {min} is above max_prompt_tokens {max}",
                        rule.name
                    ));
                }
            }
            let classes = w
                .keywords
                .iter()
                .map(|k| {
                    class_index.get(k.as_str()).copied().ok_or_else(|| {
                        format!(
                            "[[routing.rules]] {:?}: no keyword class {k:?} in [routing.keywords]",
                            rule.name
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            let escalation = rule
                .escalate
                .as_ref()
                .map(|config| escalate::Escalation::compile(&rule.name, config).map(Arc::new))
                .transpose()?;
            compiled.rules.push(Rule {
                config: rule.clone(),
                escalation,
                classes,
            });
        }
        Ok(compiled)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Every rule's name and target, in order.
    pub fn targets(&self) -> impl Iterator<Item = (&str, &str)> {
        self.rules
            .iter()
            .map(|r| (r.config.name.as_str(), r.config.to.as_str()))
    }

    /// The first rule whose conditions all hold.
    pub fn choose(&self, f: &Features) -> Option<Chosen<'_>> {
        self.rules
            .iter()
            .find(|r| self.holds(r, f))
            .map(|r| Chosen {
                rule: &r.config.name,
                to: &r.config.to,
                escalation: r.escalation.as_ref(),
            })
    }

    fn holds(&self, rule: &Rule, f: &Features) -> bool {
        let w = &rule.config.when;
        (w.model.is_empty() || w.model.iter().any(|m| m == f.model))
            && (w.task.is_empty()
                || f.task
                    .as_deref()
                    .is_some_and(|t| w.task.iter().any(|x| x.eq_ignore_ascii_case(t))))
            && w.min_prompt_tokens.is_none_or(|min| f.prompt_tokens >= min)
            && w.max_prompt_tokens.is_none_or(|max| f.prompt_tokens <= max)
            && w.tools.is_none_or(|tools| tools == f.tools)
            && (w.response_format.is_empty()
                || f.response_format
                    .is_some_and(|r| w.response_format.iter().any(|x| x == r)))
            && (rule.classes.is_empty()
                || rule
                    .classes
                    .iter()
                    .any(|&c| f.texts.iter().any(|t| has_word(&self.classes[c], t))))
    }
}

/// Whether one of the matcher's words occurs as a whole word (not inside a longer one).
fn has_word(matcher: &AhoCorasick, text: &str) -> bool {
    let word_char = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    matcher.find_iter(text).any(|m| {
        !word_char(text[..m.start()].chars().next_back())
            && !word_char(text[m.end()..].chars().next())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::{ChatMessage, Role};

    fn rules(toml_text: &str) -> Result<RouteRules, String> {
        #[derive(Deserialize)]
        struct R {
            #[serde(default)]
            rules: Vec<RouteRuleConfig>,
            #[serde(default)]
            keywords: BTreeMap<String, KeywordClass>,
        }
        let r: R = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        RouteRules::compile(&r.rules, &r.keywords)
    }

    fn request(text: &str) -> ChatCompletionRequest {
        let mut r: ChatCompletionRequest =
            serde_json::from_value(serde_json::json!({"model": "gpt-4o-mini", "messages": []}))
                .unwrap();
        r.messages.push(ChatMessage::text(Role::User, text));
        r
    }

    const RULES: &str = r#"
        [keywords]
        extraction = ["extract", "classify", "which language"]

        [[rules]]
        name = "reflex-local"
        when = { max_prompt_tokens = 200, tools = false, keywords = ["extraction"] }
        to = "local"

        [[rules]]
        name = "hinted-local"
        when = { task = ["Language-Detection"] }
        to = "local"

        [[rules]]
        name = "long-or-json-cloud"
        when = { min_prompt_tokens = 1000 }
        to = "cloud"
    "#;

    #[test]
    fn the_first_rule_that_holds_wins() {
        let r = rules(RULES).unwrap();
        let rule_of = |text: &str, task: Option<&str>| {
            let req = request(text);
            r.choose(&Features::of(&req, task))
                .map(|c| c.rule.to_owned())
        };
        assert_eq!(
            rule_of("Please extract the invoice number.", None).as_deref(),
            Some("reflex-local")
        );
        // A keyword inside a longer word does not count.
        assert_eq!(rule_of("The extraction went fine.", None), None);
        assert_eq!(
            rule_of("Bonjour", Some(" language-detection ")).as_deref(),
            Some("hinted-local")
        );
        let long_request = request(&"word ".repeat(1000));
        let long = Features::of(&long_request, None);
        assert_eq!(long.prompt_tokens, 1250);
        assert_eq!(
            r.choose(&long),
            Some(Chosen {
                rule: "long-or-json-cloud",
                to: "cloud",
                escalation: None,
            })
        );
        let mut with_tools = request("extract the date");
        with_tools.tools = Some(vec![serde_json::from_value(serde_json::json!(
            {"type": "function", "function": {"name": "f"}}
        ))
        .unwrap()]);
        assert_eq!(r.choose(&Features::of(&with_tools, None)), None);
    }

    #[test]
    fn mistakes_in_rules_are_named() {
        let unknown_class =
            rules("[[rules]]\nname = \"a\"\nwhen = { keywords = [\"nope\"] }\nto = \"local\"");
        assert!(unknown_class
            .unwrap_err()
            .contains("no keyword class \"nope\""));
        let twice =
            rules("[[rules]]\nname = \"a\"\nto = \"x\"\n[[rules]]\nname = \"a\"\nto = \"y\"");
        assert!(twice.unwrap_err().contains("used twice"));
        let inverted = rules(
            "[[rules]]\nname = \"a\"\nwhen = { min_prompt_tokens = 9, max_prompt_tokens = 1 }\nto = \"x\"",
        );
        assert!(inverted.unwrap_err().contains("above max_prompt_tokens"));
        let unknown_condition = rules("[[rules]]\nname = \"a\"\nwhen = { colour = 1 }\nto = \"x\"");
        assert!(unknown_condition.unwrap_err().contains("colour"));
    }
}
