//! The `ntsbuild` binary: a thin shell over the library's CLI.

fn main() -> std::process::ExitCode {
    ntsbuild::cli::main()
}
