//! Layer 3: plug-in producers — external commands that compute sidecar columns, run without a
//! shell, one process per source, under a documented contract (`docs/producers.md`).
//!
//! In: the argv of `[producer.NAME]` with `{source}`, `{audio}`, `{T}`, `{fps}`, `{out}`,
//! `{settings}`, `{request}` replaced, and a JSON request on stdin (protocol, producer, source
//! path/name/blake3, decoded audio as raw float32, `T`, `fps`, grid, settings, output path).
//! Out: an `.npy` (`T` or `T × C`) or a JSON object `{column: [T numbers]}`, written to the
//! output path or printed on stdout.
//!
//! **Invariants:** the environment holds only `PATH` and the declared variables; the command
//! runs in its own process group, which is killed on timeout, on an answer past the size cap,
//! and after the command exits (no stray processes); every failure is a [`PluginError`] naming
//! the producer and the source with its stderr tail, and no column is returned unless all of
//! them passed the checks.

pub mod command;
pub mod error;
pub mod output;
pub mod runner;

pub use command::{DEFAULT_MAX_OUTPUT_MB, DEFAULT_TIMEOUT_S, PLACEHOLDERS, PluginCommand, placeholders_in};
pub use error::{PluginError, PluginFailure};
pub use output::parse_output;
pub use runner::{PROTOCOL, PluginAudio, PluginRequest, run_plugin};
