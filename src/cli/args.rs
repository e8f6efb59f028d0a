//! Command-line arguments (clap).
//!
//! The doc comments are the command's help text, read as plain text: placeholders such as
//! `<output dir>` are written as users see them, not as HTML.
#![allow(rustdoc::invalid_html_tags)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "ntsbuild",
    version,
    about = "Incremental, content-addressed builds for audio-visual renders",
    long_about = "ntsbuild renders what a project's recipes declare (drum kits, songs, …), rebuilding only \
                  what an edit invalidated, in parallel, and records every output's digest in ntsbuild.lock.\n\n\
                  Exit codes: 0 success, 1 a build failed or something is stale/mismatched, 2 usage or project error."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Project directory (holding Project.toml)
    #[arg(short = 'p', long = "project", global = true, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    /// Worker threads (default: Project.toml's `jobs`, else one per core)
    #[arg(short = 'j', long = "jobs", global = true, value_name = "N")]
    pub jobs: Option<usize>,
    /// Override a recipe value for this run, e.g. --set kit.demo.kick.punch_decay=0.6
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Output format for build events
    #[arg(long = "message-format", global = true, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
    /// More output (-v: each artifact's action key and description)
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors and the summary
    #[arg(short = 'q', long = "quiet", global = true)]
    pub quiet: bool,
    /// Remote cache to use, e.g. s3://bucket/prefix or file:///srv/cache (overrides
    /// NTSBUILD_REMOTE and Project.toml's [cache.remote] url)
    #[arg(long = "remote", global = true, value_name = "URL", conflicts_with = "no_remote")]
    pub remote: Option<String>,
    /// Use no remote cache this run
    #[arg(long = "no-remote", global = true)]
    pub no_remote: bool,
    /// Fail the run (exit 1) when the remote cache cannot be used, instead of building locally
    #[arg(long = "remote-strict", global = true)]
    pub remote_strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TimingsFormat {
    Html,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Dot,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build targets or artifacts (all by default) and write them to the output dir
    Render {
        /// Target ids (kit.demo), artifact ids (kit.demo/kick.wav) or globs (kit.*)
        ids: Vec<String>,
        /// Print what would be built and why, touching nothing
        #[arg(long)]
        dry_run: bool,
        /// Leave out video previews (preview.png, preview.gif, contact_sheet.png)
        #[arg(long)]
        no_previews: bool,
        /// Also write every built track video's frames as PNGs in <track>/frames/
        #[arg(long)]
        keep_frames: bool,
        /// Write a timeline of the run (like `cargo build --timings`) to
        /// cache/timings/ntsbuild-timing.html plus a time-stamped copy; `--timings=json` writes
        /// Chrome trace events (Perfetto, chrome://tracing) instead, `--timings=html,json` both
        #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "html",
              value_delimiter = ',', value_name = "FORMAT", conflicts_with = "dry_run")]
        timings: Option<Vec<TimingsFormat>>,
        /// Write the run's Chrome trace events (Perfetto, chrome://tracing) to FILE
        #[arg(long, value_name = "FILE", conflicts_with = "dry_run")]
        profile: Option<PathBuf>,
        /// Then write the gallery page of every output, as `ntsbuild report` does
        #[arg(long, conflicts_with = "dry_run")]
        report: bool,
        /// Build only share K of N (1-based) for a CI matrix: artifacts dealt out by id, and every
        /// video's segments; shard N assembles the videos. Results go to the remote cache; no
        /// output is written. A final run without --shard then downloads everything
        #[arg(long, value_name = "K/N", value_parser = crate::engine::select::Shard::parse)]
        shard: Option<crate::engine::select::Shard>,
    },
    /// Write a static gallery page of every output (<output dir>/index.html): players, plots,
    /// tables, each artifact's digest, key, size, last status and why it is stale
    Report,
    /// Render, then re-render whatever a change to Project.toml, a recipe or an input file invalidates
    Watch { ids: Vec<String> },
    /// List stale or missing outputs; exits 1 if there are any (a CI gate)
    Status { ids: Vec<String> },
    /// Say why an artifact is stale, or why it was last rebuilt
    Explain {
        /// An artifact id, e.g. kit.demo/kick.wav
        id: String,
    },
    /// Check lock ⇄ store ⇄ outputs by re-hashing everything; exits 1 on any mismatch
    Audit {
        /// Recompute into a scratch store and compare bit for bit with the lock
        #[arg(long)]
        rebuild: bool,
        /// Audit sidecar pairs (`*.cond.npy` + `.cond.json`, ntsbuild's or the seed's format) in
        /// these files or folders instead (default: the project's output folder); no project needed
        #[arg(long, num_args = 0.., value_name = "PATH", conflicts_with = "rebuild")]
        sidecars: Option<Vec<PathBuf>>,
        /// With --rebuild: which targets or artifacts to recompute (default all)
        ids: Vec<String>,
    },
    /// Print the artifact dependency graph
    Graph {
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Remove store entries that nothing in ntsbuild.lock needs (its outputs and what they were built from)
    Gc {
        /// Cap the store's blobs at this total size, e.g. 500M or 2G: keep unreferenced entries while
        /// they fit, and drop the least recently used first (unreferenced ones, then what the lock's
        /// outputs were built from; never the outputs themselves)
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,
    },
    /// List targets and their artifacts (with --params: every instrument parameter)
    List {
        /// Show the parameter schema of each kit instrument
        #[arg(long)]
        params: bool,
        /// Show the sidecar producers: the built-ins with their settings, and the plug-ins
        /// `[producer.NAME]` of Project.toml declares
        #[arg(long, conflicts_with = "params")]
        producers: bool,
    },
    /// The remote cache: make a signing key pair, or check, download or upload results
    Cache {
        #[command(subcommand)]
        command: CacheCommand,
    },
    /// `build` is what other build tools call it: parsing it fails with a pointer to `render`.
    /// Never constructed (its payload has no values), so no command handler sees it.
    #[command(name = "build", hide = true, disable_help_flag = true)]
    Build(RenderHint),
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print a new signing key pair: NTSBUILD_SIGNING_KEY=<secret> and trusted_keys = ["<public>"]
    Keygen,
    /// Where each artifact's current result is: local store, remote cache, or neither
    Status { ids: Vec<String> },
    /// Download the current results of artifacts (all by default) from the remote cache, computing nothing
    Pull { ids: Vec<String> },
    /// Upload the local results of artifacts (all by default) to the remote cache (needs NTSBUILD_SIGNING_KEY)
    Push { ids: Vec<String> },
}

/// The payload of a misremembered command name: an uninhabited type whose parsing always fails
/// with a hint to the real command.
#[derive(Debug)]
pub enum RenderHint {}

impl RenderHint {
    fn error() -> clap::Error {
        clap::Error::raw(
            clap::error::ErrorKind::InvalidSubcommand,
            "unrecognized subcommand 'build'\n\n  tip: ntsbuild builds with 'render', e.g. 'ntsbuild render' \
             (everything) or 'ntsbuild render kit.demo'\n\nFor more information, try '--help'.",
        )
    }
}

impl clap::FromArgMatches for RenderHint {
    fn from_arg_matches(_: &clap::ArgMatches) -> Result<Self, clap::Error> {
        Err(Self::error())
    }

    fn update_from_arg_matches(&mut self, _: &clap::ArgMatches) -> Result<(), clap::Error> {
        match *self {}
    }
}

impl Args for RenderHint {
    /// Accept anything after `build`, so the hint is what the user sees.
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.arg(
            clap::Arg::new("args")
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .hide(true)
                .value_parser(clap::value_parser!(std::ffi::OsString)),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// `500M`, `2G`, `10k`, or a number of bytes.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mul) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mul = match c.to_ascii_lowercase() {
                'k' => 1u64 << 10,
                'm' => 1 << 20,
                'g' => 1 << 30,
                't' => 1 << 40,
                'b' => 1,
                _ => return Err(format!("`{s}`: unknown unit `{c}`; use K, M, G or T")),
            };
            (&s[..i], mul)
        }
        _ => (s, 1),
    };
    let n: f64 = num.trim().parse().map_err(|_| format!("`{s}` is not a size like 500M or 2G"))?;
    if !(n.is_finite() && n >= 0.0) {
        return Err(format!("`{s}` is not a size like 500M or 2G"));
    }
    Ok((n * mul as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_points_to_render() {
        use clap::Parser;
        for argv in [&["ntsbuild", "build"][..], &["ntsbuild", "build", "kit.demo", "--dry-run"]] {
            let e = Cli::try_parse_from(argv).expect_err("build is not a command");
            assert_eq!(e.kind(), clap::error::ErrorKind::InvalidSubcommand);
            assert!(e.to_string().contains("'render'"), "{e}");
        }
        assert!(Cli::try_parse_from(["ntsbuild", "render"]).is_ok());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("42"), Ok(42));
        assert!(parse_size("5Q").is_err());
    }
}
