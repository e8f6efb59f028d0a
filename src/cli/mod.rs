//! The command-line interface (layer 5): parses arguments, runs a command, prints, and
//! decides the exit code (0 ok, 1 build failed / stale / mismatch, 2 usage or project error).

pub mod args;
pub mod list;
pub mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use crate::engine::db::Mode;
use crate::engine::plan::{self, State};
use crate::engine::render::{self, RenderError};
use crate::engine::session::{self, Session};
use crate::engine::{Db, audit, gc, graph, query, watch};

use args::{Cli, Command, GraphFormat, MessageFormat};
use report::Printer;

pub const EXIT_OK: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// Parse the process arguments and run.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    ExitCode::from(run(cli))
}

fn jobs_for(cli_jobs: Option<usize>, project_jobs: usize) -> usize {
    let n = cli_jobs.filter(|&j| j > 0).unwrap_or(project_jobs);
    if n > 0 { n } else { std::thread::available_parallelism().map_or(1, |n| n.get()) }
}

fn project_root(p: &Path) -> Result<PathBuf, String> {
    p.canonicalize().map_err(|e| format!("project directory {}: {e}", p.display()))
}

pub fn run(cli: Cli) -> u8 {
    let g = &cli.global;
    let root = match project_root(&g.project) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let printer = Printer::new(g.message_format, g.verbose, g.quiet, None);
    if let Command::Watch { ids } = &cli.command {
        let jobs = jobs_for(g.jobs, 0);
        init_rayon(jobs);
        return match watch::watch(&root, &g.set, ids, jobs, &printer) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_FAILED
            }
        };
    }
    let mode = match &cli.command {
        Command::Render { dry_run: false, .. } => Mode::Build,
        _ => Mode::Plan,
    };
    let session = match Session::open(&root, &g.set, mode) {
        Ok(s) => s,
        Err(d) => {
            printer.diagnostics(&d);
            return EXIT_USAGE;
        }
    };
    let jobs = jobs_for(g.jobs, session.config.settings.jobs);
    init_rayon(jobs);
    let printer = Printer::new(g.message_format, g.verbose, g.quiet, Some(session.db.env().store.clone()));
    match cli.command {
        Command::Render { ids, dry_run: false, no_previews, keep_frames } => {
            let opts = render::Options { previews: !no_previews, keep_frames, ..render::Options::new(jobs) };
            cmd_render(&session, &ids, opts, &printer)
        }
        Command::Render { ids, dry_run: true, .. } => cmd_plan(&session, &ids, &printer, false),
        Command::Status { ids } => cmd_plan(&session, &ids, &printer, true),
        Command::Explain { id } => cmd_explain(&session, &id),
        Command::Audit { rebuild: false, ids } => {
            if !ids.is_empty() {
                eprintln!("error: ids are only taken with --rebuild (plain `audit` checks everything)");
                return EXIT_USAGE;
            }
            cmd_audit(&session)
        }
        Command::Audit { rebuild: true, ids } => cmd_audit_rebuild(&session, &g.set, &ids, jobs, &printer),
        Command::Graph { format } => {
            let index = query::artifact_index(&session.db).clone();
            let out = &session.config.settings.output_dir;
            match format {
                GraphFormat::Dot => print!("{}", graph::dot(&index, out)),
                GraphFormat::Json => {
                    println!("{}", serde_json::to_string_pretty(&graph::json(&index, out)).unwrap_or_default())
                }
            }
            EXIT_OK
        }
        Command::Gc { max_size } => match gc::gc(&root, &session.db.env().store, max_size) {
            Ok(r) => {
                println!(
                    "removed {} blobs ({}) and {} actions; kept {} blobs ({})",
                    r.removed_blobs,
                    human_size(r.removed_bytes),
                    r.removed_actions,
                    r.kept_blobs,
                    human_size(r.kept_bytes)
                );
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_FAILED
            }
        },
        Command::List { params } => {
            list::print(&session, params);
            EXIT_OK
        }
        Command::Watch { .. } => unreachable!("handled above"),
    }
}

fn init_rayon(jobs: usize) {
    // Only the first call in a process takes effect; later ones (tests) keep the pool.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(jobs).build_global();
}

pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn render_error(e: &RenderError, printer: &Printer) -> u8 {
    match e {
        RenderError::Config(d) => {
            printer.diagnostics(d);
            EXIT_USAGE
        }
        RenderError::Selection(m) => {
            eprintln!("error: {m}");
            EXIT_USAGE
        }
        RenderError::Io(m) => {
            eprintln!("error: {m}");
            EXIT_FAILED
        }
    }
}

fn cmd_render(session: &Session, ids: &[String], opts: render::Options, printer: &Printer) -> u8 {
    match render::render_with(&session.db, ids, opts, printer) {
        Ok(outcome) => {
            printer.summary(&outcome.summary);
            if outcome.summary.failed > 0 { EXIT_FAILED } else { EXIT_OK }
        }
        Err(e) => render_error(&e, printer),
    }
}

/// `render --dry-run` (everything) and `status` (only what is not fresh; exit 1 if any).
fn cmd_plan(session: &Session, ids: &[String], printer: &Printer, status: bool) -> u8 {
    let items = match plan::plan(&session.db, ids) {
        Ok(i) => i,
        Err(e) => return render_error(&e, printer),
    };
    let mut stale = 0;
    for item in &items {
        if status && !(item.requested && item.materialized) {
            continue;
        }
        let (word, reasons) = match &item.state {
            State::Fresh => ("fresh", vec![]),
            State::Restore(r) => ("restore", vec![r.clone()]),
            State::Build(r) => ("build", r.clone()),
            State::Failed(e) => ("failed", vec![e.clone()]),
        };
        if item.state != State::Fresh {
            stale += 1;
        }
        if printer.format == MessageFormat::Json {
            println!("{}", serde_json::json!({"event":"plan","id":item.id,"action":word,"reasons":reasons}));
        } else if item.state != State::Fresh || (!status && !printer.quiet) {
            println!("{word:>8} {}", item.id);
            for r in reasons {
                println!("           {r}");
            }
        }
    }
    if status {
        if printer.format == MessageFormat::Human {
            if stale == 0 {
                println!("all outputs are up to date")
            } else {
                println!("{stale} outputs are stale or missing")
            }
        }
        if stale > 0 { EXIT_FAILED } else { EXIT_OK }
    } else {
        EXIT_OK
    }
}

fn cmd_explain(session: &Session, id: &str) -> u8 {
    let index = query::artifact_index(&session.db).clone();
    if !index.contains_key(id) {
        let hint = crate::project::diagnostic::suggestion(id, index.keys().map(String::as_str));
        eprintln!("error: no artifact `{id}`{hint}; see `ntsbuild list`");
        return EXIT_USAGE;
    }
    let items = match plan::plan(&session.db, &[id.to_string()]) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let Some(item) = items.iter().find(|i| i.id == id) else { return EXIT_FAILED };
    match &item.state {
        State::Fresh => {
            println!("{id} is fresh.");
            match plan::last_rebuild_reasons(&session.db, id) {
                Some(r) if r == ["first build"] => println!("It has been built once; no earlier build is recorded."),
                Some(r) if r.is_empty() => {
                    println!("It was last rebuilt with identical inputs (its output had been lost).")
                }
                Some(r) => {
                    println!("It was last rebuilt because:");
                    r.iter().for_each(|r| println!("  {r}"));
                }
                None => println!("No build history is recorded for it (built by another machine or before a gc)."),
            }
        }
        State::Restore(r) => println!("{id} is built but its output must be restored: {r}"),
        State::Build(reasons) => {
            println!("{id} is stale because:");
            reasons.iter().for_each(|r| println!("  {r}"));
            // Follow the chain to the input that actually changed.
            for other in items.iter().filter(|i| i.id != id) {
                if let State::Build(r) = &other.state
                    && !r.iter().all(|r| r.ends_with("must be built first"))
                {
                    println!("{} is stale because:", other.id);
                    r.iter().for_each(|r| println!("  {r}"));
                }
            }
        }
        State::Failed(e) => println!("{id} cannot be built: {e}"),
    }
    EXIT_OK
}

fn cmd_audit(session: &Session) -> u8 {
    match audit::audit(&session.root, &session.db.env().store) {
        Ok(r) => {
            for p in &r.problems {
                println!("mismatch: {p}");
            }
            println!(
                "audited {} lock entries and {} blobs: {} problems",
                r.checked_entries,
                r.checked_blobs,
                r.problems.len()
            );
            if r.problems.is_empty() { EXIT_OK } else { EXIT_FAILED }
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}

fn cmd_audit_rebuild(session: &Session, overrides: &[String], ids: &[String], jobs: usize, printer: &Printer) -> u8 {
    let sources = match session::read_sources(&session.root) {
        Ok(s) => s,
        Err(d) => {
            printer.diagnostics(&d);
            return EXIT_USAGE;
        }
    };
    let quiet = Printer::new(MessageFormat::Human, 0, true, None);
    match audit::audit_rebuild(&session.root, sources, overrides, ids, jobs, &quiet) {
        Ok((compared, diffs)) => {
            for d in &diffs {
                match (&d.error, d.rebuilt) {
                    (Some(e), _) => println!("differs: {}: rebuild failed: {e}", d.id),
                    (None, Some(r)) => println!(
                        "differs: {}: lock {}, rebuilt {}",
                        d.id,
                        d.locked.map(|x| x.short()).unwrap_or_default(),
                        r.short()
                    ),
                    (None, None) => println!("differs: {}", d.id),
                }
            }
            println!("rebuilt {compared} locked artifacts from scratch: {} differ", diffs.len());
            if diffs.is_empty() { EXIT_OK } else { EXIT_FAILED }
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}
