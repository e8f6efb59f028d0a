//! The process-wide ONNX backend: tract (pure Rust) or a dynamically loaded ONNX Runtime, chosen once.
//!
//! `ort` keeps one global API table (`ort::set_api`, first call wins) and allows one
//! `Environment` per process, so both backends cannot live in one process. The first decoder
//! loaded picks the backend; a later request for the other one (or for another ONNX Runtime
//! library file) is a [`DecoderError::BackendConflict`]. A request that fails (library missing,
//! not ONNX Runtime, too old) picks nothing, so a later request may still choose either.
//!
//! ONNX Runtime is opened with `dlopen` from the path the caller gives or `ORT_DYLIB_PATH`;
//! nothing is downloaded or linked at build time. The library stays loaded for the life of the
//! process (its API table is referenced from `ort`'s global).

use std::ffi::{CStr, CString, c_char};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use ort::environment::Environment;
use ort::logging::LogLevel;

use super::error::DecoderError;

/// The lowest ONNX Runtime minor version whose API this build uses (`api-24`).
pub const ORT_MIN_MINOR: u32 = ort::sys::ORT_API_VERSION;

/// Most backend log messages kept between two drains (older ones are dropped).
const LOG_CAPACITY: usize = 64;

/// Which backend the process uses, once chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Active {
    Tract,
    OnnxRuntime { library: PathBuf, version: String },
}

impl Active {
    pub(crate) fn describe(&self) -> String {
        match self {
            Active::Tract => "tract".to_string(),
            Active::OnnxRuntime { library, version } => {
                format!("ONNX Runtime {version} from {}", library.display())
            }
        }
    }
}

/// A backend asked for, with the ONNX Runtime library already resolved to a path.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    Tract,
    OnnxRuntime { library: PathBuf },
}

impl Request {
    fn describe(&self) -> String {
        match self {
            Request::Tract => "tract".to_string(),
            Request::OnnxRuntime { library } => format!("ONNX Runtime from {}", library.display()),
        }
    }
}

struct Runtime {
    active: Active,
    environment: Environment,
}

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// The backend this process uses, if one has been chosen.
#[cfg(test)]
pub(crate) fn active() -> Option<Active> {
    RUNTIME.lock().unwrap_or_else(PoisonError::into_inner).as_ref().map(|r| r.active.clone())
}

/// Resolves the ONNX Runtime library: the caller's path, else `ORT_DYLIB_PATH`; it must exist.
pub(crate) fn resolve_library(library: Option<&Path>) -> Result<PathBuf, DecoderError> {
    let path = match library {
        Some(p) => p.to_path_buf(),
        None => match std::env::var_os("ORT_DYLIB_PATH") {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => return Err(DecoderError::OrtLibraryUnset),
        },
    };
    if !path.is_file() {
        return Err(DecoderError::OrtLibraryNotFound { path });
    }
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}

/// The environment of the requested backend, choosing it for the process if none is chosen yet.
pub(crate) fn environment(request: &Request) -> Result<(Environment, Active), DecoderError> {
    let mut guard = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(runtime) = guard.as_ref() {
        let same = match (&runtime.active, request) {
            (Active::Tract, Request::Tract) => true,
            (Active::OnnxRuntime { library: a, .. }, Request::OnnxRuntime { library: b }) => a == b,
            _ => false,
        };
        if !same {
            return Err(DecoderError::BackendConflict {
                loaded: runtime.active.describe(),
                requested: request.describe(),
            });
        }
        return Ok((runtime.environment.clone(), runtime.active.clone()));
    }
    let (api, active) = match request {
        Request::Tract => (ort_tract::api(), Active::Tract),
        Request::OnnxRuntime { library } => {
            let (api, version) = open_onnxruntime(library)?;
            (api, Active::OnnxRuntime { library: library.clone(), version })
        }
    };
    if !ort::set_api(api) {
        // Only this module sets the API; reaching here means another part of the process did.
        return Err(DecoderError::Backend {
            backend: active.describe(),
            reason: "the ONNX API of this process was already set outside the decoder".to_string(),
        });
    }
    let backend = active.describe();
    let environment = ort::init()
        .with_name("ntsbuild")
        .with_telemetry(false)
        .with_logger(Arc::new(capture_log))
        .build()
        .map_err(|e| DecoderError::Backend { backend, reason: e.to_string() })?;
    *guard = Some(Runtime { active: active.clone(), environment: environment.clone() });
    Ok((environment, active))
}

/// Backend log messages (warnings and errors) since the last call, oldest first.
pub(crate) fn drain_log() -> Vec<String> {
    std::mem::take(&mut *LOG.lock().unwrap_or_else(PoisonError::into_inner))
}

fn capture_log(level: LogLevel, category: &str, _id: &str, _location: &str, message: &str) {
    if matches!(level, LogLevel::Verbose | LogLevel::Info) {
        return;
    }
    let mut log = LOG.lock().unwrap_or_else(PoisonError::into_inner);
    if log.len() >= LOG_CAPACITY {
        log.remove(0);
    }
    log.push(format!("onnxruntime {level:?} [{category}]: {message}"));
}

/// Opens ONNX Runtime at `path` and returns its API table and version string.
fn open_onnxruntime(path: &Path) -> Result<(ort::sys::OrtApi, String), DecoderError> {
    let load_error = |reason: String| DecoderError::OrtLibraryLoad { path: path.to_path_buf(), reason };
    let c_path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| load_error("the path contains a NUL byte".to_string()))?;
    // SAFETY: dlopen with a valid C string; the handle is intentionally never closed, because
    // the API table handed to `ort` points into the library for the life of the process.
    let handle = unsafe { libc::dlopen(c_path.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
    if handle.is_null() {
        return Err(load_error(dl_error()));
    }
    // SAFETY: dlsym on a live handle with a NUL-terminated name.
    let symbol = unsafe { libc::dlsym(handle, c"OrtGetApiBase".as_ptr()) };
    if symbol.is_null() {
        return Err(load_error("it does not export `OrtGetApiBase`; not an ONNX Runtime library".to_string()));
    }
    // SAFETY: `OrtGetApiBase` has this signature in every ONNX Runtime release.
    let get_api_base: unsafe extern "C" fn() -> *const ort::sys::OrtApiBase = unsafe { std::mem::transmute(symbol) };
    // SAFETY: calling the library's exported function; the result is checked for null.
    let base = unsafe { get_api_base() };
    if base.is_null() {
        return Err(load_error("`OrtGetApiBase` returned null".to_string()));
    }
    // SAFETY: `base` is a valid OrtApiBase for the life of the library; the version string is
    // a static NUL-terminated string owned by the library.
    let version = unsafe {
        let raw: *const c_char = ((*base).GetVersionString)();
        if raw.is_null() { String::new() } else { CStr::from_ptr(raw).to_string_lossy().into_owned() }
    };
    let minor = version.split('.').nth(1).and_then(|m| m.parse::<u32>().ok()).unwrap_or(0);
    if minor < ORT_MIN_MINOR {
        return Err(DecoderError::OrtLibraryVersion { path: path.to_path_buf(), version, min_minor: ORT_MIN_MINOR });
    }
    // SAFETY: GetApi with the version this build was made for; null means unsupported.
    let api = unsafe { ((*base).GetApi)(ort::sys::ORT_API_VERSION) };
    if api.is_null() {
        return Err(load_error(format!(
            "version {version} does not provide API version {}",
            ort::sys::ORT_API_VERSION
        )));
    }
    // SAFETY: `api` points to a live OrtApi table of at least this build's API version.
    Ok((unsafe { (*api).clone() }, version))
}

fn dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated message valid until the next dl call.
    let message = unsafe { libc::dlerror() };
    if message.is_null() {
        "dlopen failed".to_string()
    } else {
        // SAFETY: non-null, NUL-terminated (checked above).
        unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
    }
}
