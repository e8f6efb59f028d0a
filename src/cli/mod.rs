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
use crate::pages;

use crate::engine::remote_cache::{self, Place};
use crate::store::Remote;
use args::{CacheCommand, Cli, Command, GraphFormat, MessageFormat};
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
    if let Command::Cache { command: CacheCommand::Keygen } = &cli.command {
        return cmd_keygen();
    }
    let root = match project_root(&g.project) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let printer = Printer::new(g.message_format, g.verbose, g.quiet, None);
    if let Command::Audit { sidecars: Some(paths), .. } = &cli.command {
        // Pairs made anywhere (another tool's dataset too): the project is needed only to find
        // its output folder when no path is given.
        let paths = if paths.is_empty() {
            match Session::open(&root, &g.set, Mode::Plan) {
                Ok(s) => vec![root.join(&s.config.settings.output_dir)],
                Err(d) => {
                    printer.diagnostics(&d);
                    return EXIT_USAGE;
                }
            }
        } else {
            paths.clone()
        };
        return cmd_audit_sidecars(&paths, &printer);
    }
    if let Command::Watch { ids } = &cli.command {
        let jobs = jobs_for(g.jobs, 0);
        init_rayon(jobs);
        return match watch::watch(&root, &g.set, ids, jobs, crate::engine::flows::builtin(), &printer) {
            Ok(()) => EXIT_OK,
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_FAILED
            }
        };
    }
    let mode = match &cli.command {
        Command::Render { dry_run: false, .. } => Mode::Build,
        Command::Cache { command: CacheCommand::Pull { .. } } => Mode::Pull,
        Command::Cache { command: CacheCommand::Status { .. } } => Mode::Peek,
        _ => Mode::Plan,
    };
    let uses_remote = matches!(&cli.command, Command::Render { dry_run: false, .. } | Command::Cache { .. });
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
    let remote = if uses_remote && !g.no_remote {
        let env = |name: &str| std::env::var(name).ok();
        match remote_cache::resolve(session.config.settings.remote.as_ref(), g.remote.as_deref(), &env) {
            Ok(None) => None,
            Ok(Some((opts, notes))) => {
                notes.iter().for_each(|n| printer.warning(n));
                match remote_cache::attach(&session.db, opts) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        eprintln!("error: {e}");
                        return EXIT_USAGE;
                    }
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        }
    } else {
        None
    };
    let code = run_command(cli.command, &session, &root, g, jobs, remote.as_deref(), &printer);
    match remote.as_deref() {
        Some(r) if r.unavailable().is_some() => {
            if let Some(w) = r.take_unavailable_warning() {
                printer.warning(&w);
            }
            if g.remote_strict {
                eprintln!("error: --remote-strict: the remote cache could not be used");
                return code.max(EXIT_FAILED);
            }
            code
        }
        _ => code,
    }
}

fn run_command(
    command: Command,
    session: &Session,
    root: &Path,
    g: &args::Global,
    jobs: usize,
    remote: Option<&Remote>,
    printer: &Printer,
) -> u8 {
    match command {
        Command::Render { ids, dry_run: false, no_previews, keep_frames, shard, timings, profile, report } => {
            if shard.is_some() && remote.is_none() {
                eprintln!(
                    "error: --shard builds a share for the remote cache, and no remote is set ([cache.remote] url, \
                     NTSBUILD_REMOTE or --remote)"
                );
                return EXIT_USAGE;
            }
            let opts = render::Options { previews: !no_previews, keep_frames, shard, ..render::Options::new(jobs) };
            let outputs =
                RunReports { timings: timings.unwrap_or_default(), profile, gallery: report.then_some(&g.set) };
            cmd_render(session, &ids, opts, &outputs, printer)
        }
        Command::Report => cmd_report(session, printer),
        Command::Render { ids, dry_run: true, .. } => cmd_plan(session, &ids, printer, false),
        Command::Status { ids } => cmd_plan(session, &ids, printer, true),
        Command::Explain { id } => cmd_explain(session, &id, printer),
        Command::Audit { sidecars: Some(_), .. } => unreachable!("handled above"),
        Command::Audit { rebuild: false, ids, .. } => {
            if !ids.is_empty() {
                eprintln!("error: ids are only taken with --rebuild (plain `audit` checks everything)");
                return EXIT_USAGE;
            }
            cmd_audit(session, printer)
        }
        Command::Audit { rebuild: true, ids, .. } => cmd_audit_rebuild(session, &g.set, &ids, jobs, printer),
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
        Command::Cache { command } => cmd_cache(session, command, remote, printer),
        Command::Gc { max_size } => match gc::gc(root, &session.db.env().store, max_size) {
            Ok(r) => {
                print_gc(&r, max_size, printer);
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_FAILED
            }
        },
        Command::List { producers: true, .. } => {
            list::print_producers(session);
            EXIT_OK
        }
        Command::List { params, .. } => {
            list::print(session, params);
            EXIT_OK
        }
        Command::Watch { .. } => unreachable!("handled above"),
    }
}

/// `audit --sidecars PATH…`: every pair under each path, one line per problem (exit 1 on an
/// error, warnings alone pass).
fn cmd_audit_sidecars(paths: &[PathBuf], printer: &Printer) -> u8 {
    use crate::media::sidecar::{Severity, audit_files, find_sidecars};
    let json = printer.format == MessageFormat::Json;
    let (mut pairs, mut errors, mut warnings) = (0usize, 0usize, 0usize);
    for path in paths {
        let found = if path.is_dir() {
            match find_sidecars(path) {
                Ok(f) => f,
                Err(e) => {
                    eprintln!("error: {}: {e}", path.display());
                    return EXIT_USAGE;
                }
            }
        } else if path.exists() {
            vec![path.clone()]
        } else {
            eprintln!("error: {}: no such file or folder", path.display());
            return EXIT_USAGE;
        };
        for file in found {
            let (pair, problems) = audit_files(&file, None);
            pairs += 1;
            let shown = pair.npy.display().to_string();
            for p in &problems {
                match p.severity {
                    Severity::Error => errors += 1,
                    Severity::Warning => warnings += 1,
                }
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"event": "sidecar_problem", "pair": shown, "severity": p.severity,
                                           "code": p.code, "message": p.message})
                    );
                } else {
                    println!("{shown}: {p}");
                }
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"event": "sidecar_audit", "pairs": pairs, "errors": errors, "warnings": warnings})
        );
    } else {
        println!(
            "audited {}: {}, {}",
            report::count(pairs, "sidecar pair", "sidecar pairs"),
            report::count(errors, "error", "errors"),
            report::count(warnings, "warning", "warnings")
        );
    }
    if errors > 0 { EXIT_FAILED } else { EXIT_OK }
}

fn print_gc(r: &gc::GcReport, max_size: Option<u64>, printer: &Printer) {
    let (kept, removed) = (r.kept(), r.removed());
    if printer.format == MessageFormat::Json {
        let t = |t: gc::Tally| serde_json::json!({"blobs": t.blobs, "bytes": t.bytes});
        println!(
            "{}",
            serde_json::json!({"event": "gc", "max_size": max_size,
                "kept": {"outputs": t(r.kept_outputs), "built_from": t(r.kept_built_from),
                         "unreferenced": t(r.kept_unreferenced)},
                "removed": {"unreferenced": t(r.removed_unreferenced), "built_from": t(r.removed_built_from),
                            "actions": r.removed_actions},
                "over_cap": r.over_cap.is_some()})
        );
        return;
    }
    let blobs = |t: gc::Tally| format!("{} ({})", report::count(t.blobs, "blob", "blobs"), human_size(t.bytes));
    println!(
        "removed {} and {}; kept {}",
        blobs(removed),
        report::count(r.removed_actions, "action", "actions"),
        blobs(kept)
    );
    println!(
        "  kept: {} of the lock's outputs, {} they were built from, {} nothing in the lock needs",
        blobs(r.kept_outputs),
        blobs(r.kept_built_from),
        blobs(r.kept_unreferenced)
    );
    if removed.blobs > 0 {
        let order = if max_size.is_some() { ", least recently used first" } else { "" };
        println!(
            "  removed: {} nothing in the lock needs, {} the lock's outputs were built from{order}",
            blobs(r.removed_unreferenced),
            blobs(r.removed_built_from)
        );
    }
    if let Some(max) = r.over_cap {
        eprintln!(
            "warning: the lock's outputs alone take {}, over --max-size {}: they are never dropped",
            human_size(r.kept_outputs.bytes),
            human_size(max)
        );
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
        RenderError::Cancelled => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}

/// What `render` writes besides outputs: `--timings`, `--profile`, `--report` (with the
/// `--set` overrides the gallery's explanations are planned with).
struct RunReports<'a> {
    timings: Vec<args::TimingsFormat>,
    profile: Option<PathBuf>,
    gallery: Option<&'a [String]>,
}

fn cmd_render(
    session: &Session,
    ids: &[String],
    opts: render::Options,
    reports: &RunReports<'_>,
    printer: &Printer,
) -> u8 {
    let started = std::time::SystemTime::now();
    let outcome = match render::render_with(&session.db, ids, opts, printer) {
        Ok(o) => o,
        Err(e) => return render_error(&e, printer),
    };
    if let Some(w) = session.db.env().remote().and_then(|r| r.take_unavailable_warning()) {
        printer.warning(&w);
    }
    if let Some(w) = outcome.unnamed_warning() {
        printer.warning(&w);
    }
    printer.summary(&outcome.summary);
    let mut code = if outcome.summary.failed > 0 { EXIT_FAILED } else { EXIT_OK };
    let cache = session.db.env().store.root().to_path_buf();
    // Every render records its statuses, so `ntsbuild report` can show the last run's.
    let index = query::artifact_index(&session.db).clone();
    if let Err(e) = pages::gallery::record_run(&cache, &outcome.events, |id| index.contains_key(id)) {
        eprintln!("error: recording the run's statuses for `ntsbuild report`: {e}");
        code = EXIT_FAILED;
    }
    if !reports.timings.is_empty() || reports.profile.is_some() {
        let timings = pages::Timings::new(&outcome.events, &index, outcome.summary.ms * 1000, opts.jobs);
        let formats: Vec<pages::TimingsFormat> = reports
            .timings
            .iter()
            .map(|f| match f {
                args::TimingsFormat::Html => pages::TimingsFormat::Html,
                args::TimingsFormat::Json => pages::TimingsFormat::Json,
            })
            .collect();
        let mut written = Vec::new();
        match pages::write_timings(&cache, &timings, &formats, started) {
            // The stable name of each format (the time-stamped copy sits beside it).
            Ok(paths) => written.extend(paths.into_iter().step_by(2)),
            Err(e) => {
                eprintln!("error: writing timings to {}: {e}", cache.join(pages::TIMINGS_DIR).display());
                code = EXIT_FAILED;
            }
        }
        if let Some(file) = &reports.profile {
            match pages::html::write_page(file, &pages::trace_bytes(&timings)) {
                Ok(()) => written.push(file.clone()),
                Err(e) => {
                    eprintln!("error: writing the profile {}: {e}", file.display());
                    code = EXIT_FAILED;
                }
            }
        }
        for path in written {
            report_written(printer, "timings", &path);
        }
    }
    if let Some(overrides) = reports.gallery {
        // Explanations come from planning: a session of its own, in plan mode.
        let gallery = match Session::open(&session.root, overrides, Mode::Plan) {
            Ok(plan_session) => cmd_report(&plan_session, printer),
            Err(d) => {
                printer.diagnostics(&d);
                EXIT_USAGE
            }
        };
        code = code.max(gallery);
    }
    code
}

/// One line saying where a report went: `timings: PATH` or a JSON event.
fn report_written(printer: &Printer, what: &str, path: &Path) {
    if printer.format == MessageFormat::Json {
        println!("{}", serde_json::json!({"event": what, "path": path.display().to_string()}));
    } else if !printer.quiet {
        println!("{what}: {}", path.display());
    }
}

/// `ntsbuild report` (and `render --report`): the gallery site of every output. `session` is
/// in plan mode: nothing is built.
fn cmd_report(session: &Session, printer: &Printer) -> u8 {
    match pages::gallery::write(session) {
        Ok(site) => {
            report_written(printer, "report", &site.index);
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_FAILED
        }
    }
}

/// `render --dry-run` (everything) and `status` (only what is not fresh; exit 1 if any).
fn cmd_plan(session: &Session, ids: &[String], printer: &Printer, status: bool) -> u8 {
    let items = match plan::plan(&session.db, ids) {
        Ok(i) => i,
        Err(e) => return render_error(&e, printer),
    };
    let (mut stale, mut skipped) = (0, 0);
    let index = query::artifact_index(&session.db).clone();
    let (mut frames, mut segments, mut videos) = (0u64, 0u32, 0usize);
    for item in &items {
        // What building a video is, in frames and segments (render --dry-run).
        let estimate = match (&item.state, index.get(&item.id)) {
            (State::Build(_), Some(decl)) if !status => {
                decl.action.estimate(&crate::engine::action::Cx::new(&session.db, &item.id, &decl.deps))
            }
            _ => None,
        };
        if let Some(Ok(e)) = &estimate {
            (frames, segments, videos) = (frames + e.frames, segments + e.segments, videos + 1);
        }
        if status && !(item.requested && item.materialized) {
            continue;
        }
        let (word, reasons) = match &item.state {
            State::Fresh => ("fresh", vec![]),
            State::Restore(r) => ("restore", vec![r.clone()]),
            State::Build(r) => ("build", r.clone()),
            State::Failed(e) => ("failed", vec![e.clone()]),
            State::Skipped(r) => ("skipped", vec![r.clone()]),
        };
        match item.state {
            State::Fresh => {}
            State::Skipped(_) => skipped += 1,
            _ => stale += 1,
        }
        if printer.format == MessageFormat::Json {
            let mut line = serde_json::json!({"event":"plan","id":item.id,"action":word,"reasons":reasons});
            match &estimate {
                Some(Ok(e)) => line["estimate"] = serde_json::json!(e),
                Some(Err(why)) => line["estimate"] = serde_json::json!({ "unknown": why }),
                None => {}
            }
            println!("{line}");
        } else if item.state != State::Fresh || (!status && !printer.quiet) {
            println!("{word:>8} {}", item.id);
            for r in reasons {
                println!("           {r}");
            }
            match &estimate {
                Some(Ok(e)) => println!(
                    "           ≈ {} in {} ({})",
                    report::count(e.frames as usize, "frame", "frames"),
                    report::count(e.segments as usize, "segment", "segments"),
                    e.basis
                ),
                Some(Err(why)) => println!("           {why}"),
                None => {}
            }
        }
    }
    if !status && videos > 0 && printer.format == MessageFormat::Human {
        println!(
            "{} to render: ≈ {} in {}",
            report::count(videos, "video", "videos"),
            report::count(frames as usize, "frame", "frames"),
            report::count(segments as usize, "segment", "segments")
        );
    }
    if status {
        if printer.format == MessageFormat::Human {
            let not_made = if skipped > 0 {
                format!(
                    " ({} its inputs cannot give, listed above)",
                    report::count(skipped, "planned file", "planned files")
                )
            } else {
                String::new()
            };
            if stale == 0 {
                println!("all outputs are up to date{not_made}")
            } else {
                println!("{} stale or missing{not_made}", report::count(stale, "output is", "outputs are"))
            }
        }
        if stale > 0 { EXIT_FAILED } else { EXIT_OK }
    } else {
        EXIT_OK
    }
}

fn cmd_explain(session: &Session, id: &str, printer: &Printer) -> u8 {
    let list = match plan::explain(&session.db, id) {
        Ok(l) => l,
        Err(e) => return render_error(&e, printer),
    };
    for (n, x) in list.iter().enumerate() {
        let (word, reasons) = match &x.state {
            State::Fresh => ("fresh", vec![]),
            State::Restore(r) => ("restore", vec![r.clone()]),
            State::Build(r) => ("build", r.clone()),
            State::Failed(e) => ("failed", vec![e.clone()]),
            State::Skipped(r) => ("skipped", vec![r.clone()]),
        };
        if printer.format == MessageFormat::Json {
            let upstream: Vec<_> =
                x.upstream.iter().map(|(id, r)| serde_json::json!({"id": id, "reasons": r})).collect();
            println!(
                "{}",
                serde_json::json!({"event": "explain", "id": x.id, "action": word, "reasons": reasons,
                                   "last_build": x.last_build, "upstream": upstream})
            );
            continue;
        }
        if n > 0 {
            println!();
        }
        let id = &x.id;
        match &x.state {
            State::Fresh => {
                println!("{id} is fresh.");
                match &x.last_build {
                    Some(r) if r == &["first build"] => {
                        println!("It has been built once here; no earlier build is recorded.")
                    }
                    Some(r) if r.is_empty() => {
                        println!("It was last rebuilt with identical inputs (its output had been lost).")
                    }
                    Some(r) => {
                        println!("It was last rebuilt because:");
                        r.iter().for_each(|r| println!("  {r}"));
                    }
                    None => println!(
                        "This machine has no record of building it: its result came from the store (another \
                         checkout's build, or one from before build history was kept)."
                    ),
                }
            }
            State::Restore(r) => println!("{id} is built but its output must be restored: {r}"),
            State::Build(reasons) => {
                println!("{id} is stale because:");
                reasons.iter().for_each(|r| println!("  {r}"));
                // Follow the chain to the input that actually changed.
                for (other, r) in &x.upstream {
                    println!("{other} is stale because:");
                    r.iter().for_each(|r| println!("  {r}"));
                }
            }
            State::Failed(e) => println!("{id} cannot be built: {e}"),
            State::Skipped(r) => println!("{id} is not made: {r}. Nothing to do until one of its inputs changes."),
        }
    }
    EXIT_OK
}

fn cmd_audit(session: &Session, printer: &Printer) -> u8 {
    let json = printer.format == MessageFormat::Json;
    match audit::audit(&session.root, &session.db.env().store) {
        Ok(r) => {
            for p in &r.problems {
                if json {
                    println!("{}", serde_json::json!({"event": "mismatch", "problem": p}));
                } else {
                    println!("mismatch: {p}");
                }
            }
            if json {
                println!(
                    "{}",
                    serde_json::json!({"event": "audit", "lock_entries": r.checked_entries,
                                       "blobs": r.checked_blobs, "problems": r.problems.len()})
                );
            } else {
                println!(
                    "audited {} and {}: {}",
                    report::count(r.checked_entries, "lock entry", "lock entries"),
                    report::count(r.checked_blobs, "blob", "blobs"),
                    report::count(r.problems.len(), "problem", "problems")
                );
            }
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
    let flows = crate::engine::flow::registry(&session.db).clone();
    match audit::audit_rebuild(&session.root, sources, overrides, ids, jobs, flows, &quiet) {
        Ok((compared, diffs)) if printer.format == MessageFormat::Json => {
            for d in &diffs {
                println!(
                    "{}",
                    serde_json::json!({"event": "differs", "id": d.id, "locked": d.locked.map(|x| x.hex()),
                                       "rebuilt": d.rebuilt.map(|x| x.hex()), "error": d.error})
                );
            }
            println!("{}", serde_json::json!({"event": "audit", "rebuilt": compared, "differ": diffs.len()}));
            if diffs.is_empty() { EXIT_OK } else { EXIT_FAILED }
        }
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

/// `cache keygen`: two lines, ready to paste (the secret into the CI's secrets, the public key
/// into Project.toml).
fn cmd_keygen() -> u8 {
    match crate::store::signing::generate() {
        Ok((secret, public)) => {
            println!("{}={secret}", crate::store::signing::SIGNING_KEY_VAR);
            println!("trusted_keys = [\"{public}\"]");
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: reading the system's random source: {e}");
            EXIT_FAILED
        }
    }
}

fn cmd_cache(session: &Session, command: CacheCommand, remote: Option<&Remote>, printer: &Printer) -> u8 {
    let Some(remote) = remote else {
        eprintln!(
            "error: no remote cache: set [cache.remote] url in Project.toml, NTSBUILD_REMOTE, or pass --remote URL"
        );
        return EXIT_USAGE;
    };
    let json = printer.format == MessageFormat::Json;
    match command {
        CacheCommand::Keygen => unreachable!("handled before the project is opened"),
        CacheCommand::Status { ids } | CacheCommand::Pull { ids } => {
            let pull = session.db.env().mode == Mode::Pull;
            let places = match remote_cache::survey(&session.db, &ids) {
                Ok(p) => p,
                Err(e) => return render_error(&e, printer),
            };
            let (mut local, mut on_remote, mut missing, mut unknown, mut failed) = (0, 0, 0, 0, 0);
            for (id, place) in &places {
                let (word, detail) = match place {
                    Place::Local => {
                        local += 1;
                        ("local", String::new())
                    }
                    Place::Remote => {
                        on_remote += 1;
                        (if pull { "pulled" } else { "remote" }, String::new())
                    }
                    Place::Missing => {
                        missing += 1;
                        ("missing", String::new())
                    }
                    Place::Unknown(dep) => {
                        unknown += 1;
                        ("unknown", format!("its input {dep} is on neither store"))
                    }
                    Place::Skipped(reason) => ("skipped", reason.clone()),
                    Place::Failed(e) => {
                        failed += 1;
                        ("failed", e.clone())
                    }
                };
                for w in session.db.env().take_warnings(id) {
                    printer.warning(&format!("{id}: {w}"));
                }
                if json {
                    println!("{}", serde_json::json!({"event": "cache", "id": id, "state": word, "detail": detail}));
                } else if !printer.quiet {
                    let detail = if detail.is_empty() { detail } else { format!(" ({detail})") };
                    println!("{word:>8} {id}{detail}");
                }
            }
            let stats = remote.stats();
            if json {
                println!(
                    "{}",
                    serde_json::json!({"event": "cache_summary", "remote": remote.url().to_string(), "local": local,
                        if pull { "pulled" } else { "remote" }: on_remote, "missing": missing, "unknown": unknown,
                        "failed": failed, "bytes_downloaded": stats.bytes_downloaded})
                );
            } else {
                let verb = if pull { "pulled from" } else { "on" };
                println!(
                    "{}: {local} local, {on_remote} {verb} {}, {missing} on neither, {unknown} not known until \
                     their inputs are built, {failed} failed",
                    report::count(places.len(), "artifact", "artifacts"),
                    remote.url()
                );
            }
            if failed > 0 || remote.unavailable().is_some() { EXIT_FAILED } else { EXIT_OK }
        }
        CacheCommand::Push { ids } => match remote_cache::push(&session.db, remote, &ids) {
            Ok(r) => {
                let stats = remote.stats();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"event": "cache_push", "remote": remote.url().to_string(),
                            "uploaded": r.uploaded, "present": r.present, "not_built": r.not_built,
                            "blobs_uploaded": stats.blobs_uploaded, "bytes_uploaded": stats.bytes_uploaded})
                    );
                } else {
                    println!(
                        "pushed {} ({}, {}) to {}; {} already there; {} not built here",
                        report::count(r.uploaded, "action", "actions"),
                        report::count(stats.blobs_uploaded, "blob", "blobs"),
                        human_size(stats.bytes_uploaded),
                        remote.url(),
                        r.present,
                        r.not_built.len()
                    );
                }
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                if e.contains("NTSBUILD_SIGNING_KEY") { EXIT_USAGE } else { EXIT_FAILED }
            }
        },
    }
}
