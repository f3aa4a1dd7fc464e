//! Measuring detection on a labelled corpus (`sluice eval`, issue 12).
//!
//! Every change to detection is judged by numbers: how much of the labelled PII is found
//! (character and entity recall, per type), how much of what is found is PII (precision), and what
//! the findings do to decisions: cleared prompts that no longer reach the cloud (false alarms)
//! and labelled prompts decided less strictly than their true entities deserve. The corpus is
//! read by [`corpus`], scored by [`score`] in one pass of [`run`], printed by [`table`] and
//! gated against recorded figures by [`baseline`].

pub mod baseline;
pub mod corpus;
pub mod run;
pub mod score;
pub mod table;
