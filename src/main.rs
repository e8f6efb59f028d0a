//! The `ntsbuild` binary: a thin shell over the library's CLI.

fn main() -> std::process::ExitCode {
    // Die quietly on a closed pipe (`ntsbuild graph | head`) like other Unix tools, instead of
    // panicking in `println!`.
    // SAFETY: resetting a signal disposition at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    bound_malloc_arenas();
    ntsbuild::cli::main()
}

/// glibc gives threads up to eight allocator arenas per core, and memory freed in one arena is
/// not reused by threads of another: a render's many short-lived threads (decoders, analysis
/// pools, segment workers) then hold freed memory apart, and its peak grows with how their timing
/// falls. One arena per core keeps the demo's peak about a fifth lower (README, "Performance")
/// at the same speed. A `MALLOC_ARENA_MAX` in the environment is left as it is.
fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arenas = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: an allocator setting changed at start-up, before any thread exists; glibc
        // applies it to arenas made afterwards.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}
