//! The process-wide ONNX Runtime.
//!
//! ort with `load-dynamic` binds one `libonnxruntime` per process and allows one environment per
//! process, and any ort call made before the library is bound would make ort fall back to
//! `ORT_DYLIB_PATH` and panic if that fails. So the library is bound here, once, from an explicit
//! path that is checked first, and every session is built from the one environment kept here.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;

use crate::detect::DetectError;

struct Loaded {
    library: PathBuf,
    environment: Environment,
}

static RUNTIME: Mutex<Option<Loaded>> = Mutex::new(None);

/// The environment of the runtime at `library`, binding the library on first use. A later call
/// with the same file is free; a call naming a different file is an error, because ort cannot
/// swap the bound library.
pub fn environment(library: &Path) -> Result<Environment, DetectError> {
    if !library.is_file() {
        return Err(DetectError::ModelMissing {
            path: library.to_path_buf(),
        });
    }
    let canonical = library.canonicalize().map_err(|source| DetectError::Io {
        path: library.to_path_buf(),
        source,
    })?;
    let mut runtime = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(loaded) = runtime.as_ref() {
        if loaded.library != canonical {
            return Err(DetectError::Config(format!(
                "{}: ONNX Runtime is already loaded from {} in this process; \
                 use one onnxruntime path for every NER detector",
                library.display(),
                loaded.library.display()
            )));
        }
        return Ok(loaded.environment.clone());
    }
    let invalid = |reason: String| {
        DetectError::Model(format!(
            "{}: cannot load ONNX Runtime ({reason}); run `make models` to fetch the pinned \
             onnxruntime 1.31.1 library",
            library.display()
        ))
    };
    let builder = ort::init_from(&canonical).map_err(|e| invalid(e.to_string()))?;
    let environment = builder
        .with_name("sluice")
        .with_telemetry(false)
        .build()
        .map_err(|e| invalid(e.to_string()))?;
    *runtime = Some(Loaded {
        library: canonical,
        environment: environment.clone(),
    });
    Ok(environment)
}
