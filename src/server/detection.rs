//! Scanning a request's text units: the detection pipeline off the async runtime, under a deadline,
//! with per-unit results cached by content hash.
//!
//! A scan runs in two passes so that the gateway can decide between them: the rule packs and
//! dictionaries first ([`DetectionService::first_pass`]), the NER model only if the decision
//! needs it ([`DetectionService::second_pass`]). One deadline covers both.
//!
//! The cache holds only a hash of each text and what was found in it (types, offsets, scores, rule
//! ids), never the text: a full scan, or a first pass that a later request may finish. It has two
//! generations: when the young one fills, it becomes the old one and the previous old one is
//! dropped, which bounds memory without per-entry bookkeeping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::detect::{merge, DetectError, Entity, FirstPass, Pipeline, Reading, Scanned};

/// Why a request could not be scanned; either way it is treated as sensitive.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("detector error: {0}")]
    Detector(String),
    #[error("detector error: detection did not finish within {0:?}")]
    Timeout(Duration),
}

type Key = [u8; 32];

/// One text after the first pass, as the cache holds it and a request uses it: its full scan, or
/// the first pass of one with that pass's entities (shared, so a cache hit copies nothing).
#[derive(Clone)]
enum Unit {
    Complete(Arc<Vec<Entity>>),
    Partial {
        first: Arc<FirstPass>,
        entities: Arc<Vec<Entity>>,
    },
}

struct Generations {
    young: HashMap<Key, Unit>,
    old: HashMap<Key, Unit>,
}

pub struct ScanCache {
    inner: Mutex<Generations>,
    per_generation: usize,
}

impl ScanCache {
    pub fn new(capacity: usize) -> Self {
        ScanCache {
            inner: Mutex::new(Generations {
                young: HashMap::new(),
                old: HashMap::new(),
            }),
            per_generation: (capacity / 2).max(1),
        }
    }

    fn get(&self, key: &Key) -> Option<Unit> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = g.young.get(key) {
            return Some(v.clone());
        }
        let v = g.old.remove(key)?;
        self.insert_locked(&mut g, *key, v.clone());
        Some(v)
    }

    fn insert(&self, key: Key, value: Unit) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        self.insert_locked(&mut g, key, value);
    }

    fn insert_locked(&self, g: &mut Generations, key: Key, value: Unit) {
        if g.young.len() >= self.per_generation {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, value);
    }
}

/// A request's texts after the first pass: the cheap detectors everywhere, the prose detectors
/// (NER) only where an earlier request's full scan of the same text was cached.
pub struct FirstScan {
    units: Vec<Unit>,
    keys: Vec<Key>,
    deadline: Instant,
}

impl FirstScan {
    /// Entities of each text found so far.
    pub fn entities(&self) -> Vec<Arc<Vec<Entity>>> {
        self.units
            .iter()
            .map(|u| match u {
                Unit::Complete(e) | Unit::Partial { entities: e, .. } => e.clone(),
            })
            .collect()
    }

    /// True when some text still waits for the prose detectors.
    pub fn is_partial(&self) -> bool {
        self.units.iter().any(|u| matches!(u, Unit::Partial { .. }))
    }

    /// The entities certain to be in the full scan as they are: all of a complete text's, and a
    /// partial text's that outrank every NER finding and are of a type the prose detectors never
    /// report (`prose_types`; `None`: any type), so that none can join them.
    ///
    /// `per_unit` are the lists the decision was taken on, one per text in order (they may hold
    /// more than the first pass found, such as values split across texts).
    pub fn firm(&self, per_unit: &[Arc<Vec<Entity>>], prose_types: Option<&[&str]>) -> Vec<Entity> {
        let mut firm = Vec::new();
        for (unit, entities) in self.units.iter().zip(per_unit) {
            match unit {
                Unit::Complete(_) => firm.extend(entities.iter().cloned()),
                Unit::Partial { .. } => {
                    let Some(prose) = prose_types else { continue };
                    firm.extend(
                        entities
                            .iter()
                            .filter(|e| {
                                merge::outranks_every_ner_finding(e)
                                    && !prose.contains(&e.entity_type.as_str())
                            })
                            .cloned(),
                    );
                }
            }
        }
        firm
    }

    /// The types the full scan may hold that are not firm: what the prose detectors report, and
    /// every finding of a partial text so far (one the merge dropped may come back).
    pub fn addable<'a>(&'a self, prose_types: &'a [&'a str]) -> Vec<&'a str> {
        let mut types: Vec<&str> = prose_types.to_vec();
        for unit in &self.units {
            if let Unit::Partial { first, .. } = unit {
                types.extend(first.finding_types());
            }
        }
        types.sort_unstable();
        types.dedup();
        types
    }
}

pub struct DetectionService {
    pipeline: Arc<Pipeline>,
    prose_types: Option<Vec<&'static str>>,
    cache: ScanCache,
    timeout: Duration,
}

impl DetectionService {
    pub fn new(pipeline: Arc<Pipeline>, cache_entries: usize, timeout: Duration) -> Self {
        DetectionService {
            prose_types: pipeline.prose_types(),
            pipeline,
            cache: ScanCache::new(cache_entries),
            timeout,
        }
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// The entity types the pipeline's prose detectors can report (`None`: any type).
    pub fn prose_types(&self) -> Option<&[&'static str]> {
        self.prose_types.as_deref()
    }

    /// The first pass over each text (cached full scans where there are any); the detection
    /// deadline starts here and covers the second pass too. Any failure or the deadline fails
    /// the whole request.
    pub async fn first_pass(
        &self,
        texts: &[(Arc<String>, Reading)],
    ) -> Result<FirstScan, ScanError> {
        let deadline = Instant::now() + self.timeout;
        let keys: Vec<Key> = texts
            .iter()
            .map(|(text, reading)| {
                let mut hash = Sha256::new();
                hash.update([u8::from(*reading == Reading::Verbatim)]);
                hash.update(text.as_bytes());
                hash.finalize().into()
            })
            .collect();
        let mut units: Vec<Option<Unit>> = keys.iter().map(|k| self.cache.get(k)).collect();
        let missing: Vec<(usize, Arc<String>, Reading)> = units
            .iter()
            .enumerate()
            .filter(|(_, u)| u.is_none())
            .map(|(i, _)| (i, texts[i].0.clone(), texts[i].1))
            .collect();
        if !missing.is_empty() {
            let pipeline = self.pipeline.clone();
            let scanned = self
                .run(deadline, move || {
                    missing
                        .into_iter()
                        .map(|(i, text, reading)| {
                            pipeline
                                .first_pass_until(&text, reading, deadline)
                                .map(|s| (i, s))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .await?;
            for (i, scanned) in scanned {
                let unit = match scanned {
                    Scanned::Complete(e) => Unit::Complete(Arc::new(e)),
                    Scanned::Partial(first) => Unit::Partial {
                        entities: Arc::new(first.entities().to_vec()),
                        first: Arc::new(first),
                    },
                };
                self.cache.insert(keys[i], unit.clone());
                units[i] = Some(unit);
            }
        }
        Ok(FirstScan {
            units: units
                .into_iter()
                .map(|u| u.expect("every text scanned or cached"))
                .collect(),
            keys,
            deadline,
        })
    }

    /// Finishes `first` with the prose detectors: entities of each text, in order.
    pub async fn second_pass(
        &self,
        texts: &[(Arc<String>, Reading)],
        first: FirstScan,
    ) -> Result<Vec<Arc<Vec<Entity>>>, ScanError> {
        let FirstScan {
            units,
            keys,
            deadline,
        } = first;
        let mut done: Vec<Option<Arc<Vec<Entity>>>> = Vec::with_capacity(units.len());
        let mut partial = Vec::new();
        for (i, unit) in units.into_iter().enumerate() {
            match unit {
                Unit::Complete(e) => done.push(Some(e)),
                Unit::Partial { first, .. } => {
                    partial.push((i, texts[i].0.clone(), first));
                    done.push(None);
                }
            }
        }
        if !partial.is_empty() {
            let pipeline = self.pipeline.clone();
            let scanned = self
                .run(deadline, move || {
                    partial
                        .into_iter()
                        .map(|(i, text, first)| {
                            pipeline
                                .second_pass_until(&text, &first, deadline)
                                .map(|e| (i, e))
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .await?;
            for (i, entities) in scanned {
                let entities = Arc::new(entities);
                self.cache.insert(keys[i], Unit::Complete(entities.clone()));
                done[i] = Some(entities);
            }
        }
        Ok(done
            .into_iter()
            .map(|d| d.expect("every text finished"))
            .collect())
    }

    /// Runs `job` off the async runtime until `deadline`. A blocking task cannot be cancelled
    /// from outside: the job itself stops at the deadline, so a 10 MB prompt that times out
    /// does not keep a NER session and a core busy for minutes after its request was answered.
    async fn run<T: Send + 'static>(
        &self,
        deadline: Instant,
        job: impl FnOnce() -> Result<T, DetectError> + Send + 'static,
    ) -> Result<T, ScanError> {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, tokio::task::spawn_blocking(job)).await {
            Err(_) | Ok(Ok(Err(DetectError::Deadline))) => Err(ScanError::Timeout(self.timeout)),
            Ok(Err(join)) => Err(ScanError::Detector(format!("detector task failed: {join}"))),
            Ok(Ok(Err(e))) => Err(ScanError::Detector(e.to_string())),
            Ok(Ok(Ok(v))) => Ok(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keeps_two_generations() {
        let c = ScanCache::new(4);
        let v = Unit::Complete(Arc::new(Vec::new()));
        for i in 0..3u8 {
            c.insert([i; 32], v.clone());
        }
        // Two generations of two: after five inserts, key 0 has aged out of both.
        c.insert([9; 32], v.clone());
        c.insert([10; 32], v.clone());
        assert!(c.get(&[0; 32]).is_none());
        assert!(c.get(&[10; 32]).is_some());
    }
}
