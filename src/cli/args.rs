//! Command-line arguments (clap).

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MessageFormat {
    Human,
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
    },
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
        /// With --rebuild: which targets or artifacts to recompute (default all)
        ids: Vec<String>,
    },
    /// Print the artifact dependency graph
    Graph {
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Remove store entries that nothing in ntsbuild.lock needs
    Gc {
        /// Keep unreferenced entries (newest first) up to this total size, e.g. 500M or 2G
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,
    },
    /// List targets and their artifacts (with --params: every instrument parameter)
    List {
        /// Show the parameter schema of each kit instrument
        #[arg(long)]
        params: bool,
    },
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
    fn sizes() {
        assert_eq!(parse_size("500M"), Ok(500 << 20));
        assert_eq!(parse_size("1.5k"), Ok(1536));
        assert_eq!(parse_size("42"), Ok(42));
        assert!(parse_size("5Q").is_err());
    }
}
