//! Scanning a request's text units: the detection pipeline off the async runtime, under a deadline,
//! with per-unit results cached by content hash.
//!
//! The cache holds only a hash of each text and the entity list found in it (types, offsets, scores),
//! never the text. It has two generations: when the young one fills, it becomes the old one and the
//! previous old one is dropped, which bounds memory without per-entry bookkeeping.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::detect::{DetectError, Entity, Pipeline, Reading};

/// Why a request could not be scanned; either way it is treated as sensitive.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("detector error: {0}")]
    Detector(String),
    #[error("detector error: detection did not finish within {0:?}")]
    Timeout(Duration),
}

type Key = [u8; 32];

struct Generations {
    young: HashMap<Key, Arc<Vec<Entity>>>,
    old: HashMap<Key, Arc<Vec<Entity>>>,
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

    fn get(&self, key: &Key) -> Option<Arc<Vec<Entity>>> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = g.young.get(key) {
            return Some(v.clone());
        }
        let v = g.old.remove(key)?;
        self.insert_locked(&mut g, *key, v.clone());
        Some(v)
    }

    fn insert(&self, key: Key, value: Arc<Vec<Entity>>) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        self.insert_locked(&mut g, key, value);
    }

    fn insert_locked(&self, g: &mut Generations, key: Key, value: Arc<Vec<Entity>>) {
        if g.young.len() >= self.per_generation {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, value);
    }
}

pub struct DetectionService {
    pipeline: Arc<Pipeline>,
    cache: ScanCache,
    timeout: Duration,
}

impl DetectionService {
    pub fn new(pipeline: Arc<Pipeline>, cache_entries: usize, timeout: Duration) -> Self {
        DetectionService {
            pipeline,
            cache: ScanCache::new(cache_entries),
            timeout,
        }
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Entities of each text, in order. Any failure or the deadline fails the whole request.
    pub async fn scan(
        &self,
        texts: &[(Arc<String>, Reading)],
    ) -> Result<Vec<Arc<Vec<Entity>>>, ScanError> {
        let keys: Vec<Key> = texts
            .iter()
            .map(|(text, reading)| {
                let mut hash = Sha256::new();
                hash.update([u8::from(*reading == Reading::Verbatim)]);
                hash.update(text.as_bytes());
                hash.finalize().into()
            })
            .collect();
        let mut results: Vec<Option<Arc<Vec<Entity>>>> =
            keys.iter().map(|k| self.cache.get(k)).collect();
        let missing: Vec<(usize, Arc<String>, Reading)> = results
            .iter()
            .enumerate()
            .filter(|(_, r)| r.is_none())
            .map(|(i, _)| (i, texts[i].0.clone(), texts[i].1))
            .collect();
        if !missing.is_empty() {
            let pipeline = self.pipeline.clone();
            // A blocking task cannot be cancelled from outside: the job itself stops at the
            // deadline, so a 10 MB prompt that times out does not keep a NER session and a core
            // busy for minutes after its request has been answered.
            let deadline = Instant::now() + self.timeout;
            let job = tokio::task::spawn_blocking(move || {
                missing
                    .into_iter()
                    .map(|(i, text, reading)| {
                        pipeline
                            .scan_reading_until(&text, reading, deadline)
                            .map(|e| (i, e))
                    })
                    .collect::<Result<Vec<_>, _>>()
            });
            let scanned = match tokio::time::timeout(self.timeout, job).await {
                Err(_) | Ok(Ok(Err(DetectError::Deadline))) => {
                    return Err(ScanError::Timeout(self.timeout))
                }
                Ok(Err(join)) => {
                    return Err(ScanError::Detector(format!("detector task failed: {join}")))
                }
                Ok(Ok(Err(e))) => return Err(ScanError::Detector(e.to_string())),
                Ok(Ok(Ok(v))) => v,
            };
            for (i, entities) in scanned {
                let entities = Arc::new(entities);
                self.cache.insert(keys[i], entities.clone());
                results[i] = Some(entities);
            }
        }
        Ok(results
            .into_iter()
            .map(|r| r.expect("every text scanned or cached"))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keeps_two_generations() {
        let c = ScanCache::new(4);
        let v = Arc::new(Vec::new());
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
