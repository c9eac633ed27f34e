//! Locating and loading the ONNX Runtime shared library (ort `load-dynamic`).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;

use super::ModelError;

pub const ORT_VERSION: &str = "1.31.1";
const LIB_NAME: &str = "libonnxruntime.so";

/// Where the library is looked for, in order: the configured path (flag,
/// `ORT_DYLIB_PATH` or config), the project's `.ort/lib`, next to the binary.
pub fn candidates(configured: &Path) -> Vec<PathBuf> {
    if !configured.as_os_str().is_empty() {
        return vec![configured.to_path_buf()];
    }
    let versioned = format!("{LIB_NAME}.{ORT_VERSION}");
    let mut dirs = vec![PathBuf::from(".ort/lib")];
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
    {
        dirs.push(dir.clone());
        dirs.push(dir.join("lib"));
    }
    dirs.iter()
        .flat_map(|d| [d.join(&versioned), d.join(LIB_NAME)])
        .collect()
}

pub fn find_library(configured: &Path) -> Result<PathBuf, ModelError> {
    let tried = candidates(configured);
    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        let list: Vec<_> = tried.iter().map(|p| p.display().to_string()).collect();
        ModelError::RuntimeMissing(format!(
            "ONNX Runtime library not found (looked in: {}); run `make ort` (scripts/install_ort.sh) \
             or set ORT_DYLIB_PATH to libonnxruntime.so.{ORT_VERSION}",
            list.join(", ")
        ))
    })
}

/// ONNX Runtime allows one environment per process, and the library can only
/// be loaded once, so the first successful load is shared by every caller
/// (several test servers run in one process).
pub fn environment(configured: &Path) -> Result<&'static Environment, ModelError> {
    static ENV: Mutex<Option<&'static Environment>> = Mutex::new(None);
    let mut slot = ENV.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(env) = *slot {
        return Ok(env);
    }
    let path = find_library(configured)?;
    let env = ort::init_from(&path)
        .map_err(|e| ModelError::RuntimeMissing(format!("cannot load {}: {e}", path.display())))?
        .with_name("churn-serve")
        .with_telemetry(false)
        .build()
        .map_err(|e| ModelError::RuntimeMissing(format!("cannot start ONNX Runtime: {e}")))?;
    let env: &'static Environment = Box::leak(Box::new(env));
    *slot = Some(env);
    Ok(env)
}
