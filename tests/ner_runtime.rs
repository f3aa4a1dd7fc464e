//! Binding ONNX Runtime: a bad library path fails cleanly and leaves the process able to load the
//! right one. Its own test binary, because the first successful load binds the process for good.

use std::path::{Path, PathBuf};

use sluice::detect::ner::{NerConfig, NerDetector, DEFAULT_MODEL_FILE};
use sluice::detect::{DetectError, Detector};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn config(onnxruntime: PathBuf) -> NerConfig {
    NerConfig {
        model_dir: repo("models/rampart"),
        model_file: repo("models/rampart").join(DEFAULT_MODEL_FILE),
        onnxruntime,
        threads: 1,
        sessions: 1,
    }
}

#[test]
fn bad_runtime_paths_fail_cleanly_then_the_real_one_loads_once() {
    let dir = tempfile::tempdir().unwrap();

    let not_a_library = dir.path().join("libonnxruntime.so.1.31.1");
    std::fs::write(&not_a_library, b"not a shared library").unwrap();
    let err = NerDetector::load(&config(not_a_library))
        .err()
        .expect("a text file is no runtime");
    assert!(matches!(err, DetectError::Model(_)), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("libonnxruntime.so.1.31.1") && msg.contains("make models"),
        "{msg}"
    );

    let wrong_library = repo("models/rampart/tokenizer.json");
    assert!(NerDetector::load(&config(wrong_library)).is_err());

    let real = repo("models/onnxruntime/libonnxruntime.so.1.31.1");
    let detector =
        NerDetector::load(&config(real.clone())).expect("the real runtime loads after failures");
    assert!(!detector
        .detect("My name is John Smith.")
        .unwrap()
        .is_empty());
    NerDetector::load(&config(real)).expect("a second load from the same path");

    let elsewhere = dir.path().join("other-libonnxruntime.so");
    std::fs::copy(
        repo("models/onnxruntime/libonnxruntime.so.1.31.1"),
        &elsewhere,
    )
    .unwrap();
    let err = NerDetector::load(&config(elsewhere))
        .err()
        .expect("a second runtime is refused");
    assert!(matches!(err, DetectError::Config(_)), "{err:?}");
}
