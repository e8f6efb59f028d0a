//! The `ntsbuild` binary: a thin shell over the library's CLI.

fn main() -> std::process::ExitCode {
    // Die quietly on a closed pipe (`ntsbuild graph | head`) like other Unix tools, instead of
    // panicking in `println!`.
    // SAFETY: resetting a signal disposition at start-up, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    ntsbuild::cli::main()
}
