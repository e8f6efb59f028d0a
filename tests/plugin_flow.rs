//! A flow defined outside the engine plugs in with its flow type, its recipe reader and one
//! registration line: `[echo.NAME]` writes `text` into `echo.txt`, repeated `times` times,
//! and `shout.txt` from it. Rendering, incremental rebuilds, `--set` validation, `explain`'s
//! field diff and early cutoff all come from the core.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use ntsbuild::engine::action::{Action, ArtifactDecl, Cx};
use ntsbuild::engine::db::Mode;
use ntsbuild::engine::flow::{DeclCx, Flow};
use ntsbuild::engine::render::{self, Quiet};
use ntsbuild::engine::session::{self, Session};
use ntsbuild::engine::{BuildError, Db, Exec, flows};
use ntsbuild::project::reader::TableReader;
use ntsbuild::project::{ReadCx, Target, TargetKind};
use serde::Serialize;

/// The recipe reader: `[echo.NAME] text = "…", times = 1..=10`.
#[derive(Debug, Clone, PartialEq)]
struct EchoSpec {
    text: String,
    times: u32,
}

struct EchoFlow;

impl TargetKind for EchoFlow {
    fn name(&self) -> &'static str {
        "echo"
    }

    fn read(&self, t: &TableReader<'_>, _id: &str, _cx: &ReadCx<'_>) -> Target {
        let text = t.required_string("text", "the text to write, e.g. text = \"hello\"").unwrap_or_default();
        let times = t.int("times", 1, 1, 10) as u32;
        t.finish();
        Target::new("echo", Arc::new(EchoSpec { text, times }))
    }
}

impl Flow for EchoFlow {
    fn artifacts(&self, id: &str, target: &Target, _cx: &DeclCx<'_>) -> Vec<ArtifactDecl> {
        let Some(spec) = target.get::<EchoSpec>() else { return Vec::new() };
        vec![
            ArtifactDecl::new(id, "echo.txt", Echo { text: spec.text.clone(), times: spec.times }),
            ArtifactDecl::new(id, "shout.txt", Shout).deps(vec![format!("{id}/echo.txt")]),
        ]
    }
}

#[derive(Debug, PartialEq)]
struct Echo {
    text: String,
    times: u32,
}

#[derive(Serialize)]
struct EchoKey<'a> {
    text: &'a str,
    times: u32,
}

impl Action for Echo {
    const QUERY: &'static str = "echo";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        EchoKey { text: &self.text, times: self.times }
    }

    fn compute(&self, _cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        // A stand-in for a bug in a flow.
        assert_ne!(self.text, "panic", "a bug in the echo flow");
        Ok(self.text.repeat(self.times as usize).into_bytes())
    }
}

#[derive(Debug, PartialEq)]
struct Shout;

#[derive(Serialize)]
struct NoParams {}

impl Action for Shout {
    const QUERY: &'static str = "shout";
    const VERSION: u32 = 1;

    fn key(&self) -> impl Serialize + '_ {
        NoParams {}
    }

    fn compute(&self, cx: &Cx<'_>) -> Result<Vec<u8>, BuildError> {
        let text = String::from_utf8(cx.dep_bytes(0)?).map_err(|e| cx.fail(e.to_string()))?;
        Ok(text.to_uppercase().into_bytes())
    }
}

fn project(recipe: &str) -> common::Project {
    let p = common::Project::empty();
    p.write("Project.toml", "[project]\nname = \"echo\"\n");
    p.write("recipes/echo.toml", recipe);
    p
}

fn open(p: &common::Project, overrides: &[String]) -> Result<Session, ntsbuild::project::Diagnostics> {
    Session::open_with(p.path(), overrides, Mode::Build, flows::builtin().with(EchoFlow))
}

/// (executed, computed) artifact ids of one render.
fn render(db: &ntsbuild::engine::Database) -> (BTreeSet<String>, BTreeSet<String>) {
    let outcome = render::render(db, &[], 2, &Quiet).expect("render");
    assert_eq!(outcome.summary.failed, 0, "{:?}", outcome.events);
    let log = db.env().take_log();
    let pick = |f: fn(&Exec) -> Option<&String>| log.iter().filter_map(f).cloned().collect();
    (
        pick(|e| if let Exec::Executed(id) = e { Some(id) } else { None }),
        pick(|e| if let Exec::Computed(id) = e { Some(id) } else { None }),
    )
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_registered_flow_renders_its_artifacts() {
    let p = project("[echo.hi]\ntext = \"hey \"\ntimes = 2\n");
    let s = open(&p, &[]).unwrap();
    let (_, computed) = render(&s.db);
    assert_eq!(computed, set(&["echo.hi/echo.txt", "echo.hi/shout.txt"]));
    assert_eq!(p.read("renders/echo/hi/echo.txt"), "hey hey ");
    assert_eq!(p.read("renders/echo/hi/shout.txt"), "HEY HEY ");
    assert!(p.read("ntsbuild.lock").contains("echo.hi/shout.txt"));
}

#[test]
fn an_edit_reruns_only_what_it_touched_and_early_cutoff_holds() {
    let p = project("[echo.a]\ntext = \"a\"\n\n[echo.b]\ntext = \"b\"\n");
    let mut s = open(&p, &[]).unwrap();
    render(&s.db);
    // Editing `a` re-runs a's queries only.
    p.write("recipes/echo.toml", "[echo.a]\ntext = \"aa\"\n\n[echo.b]\ntext = \"b\"\n");
    session::set_sources(&mut s.db, session::read_sources(p.path()).unwrap(), &[]);
    let (executed, computed) = render(&s.db);
    assert_eq!(executed, set(&["echo.a/echo.txt", "echo.a/shout.txt"]));
    assert_eq!(computed, set(&["echo.a/echo.txt", "echo.a/shout.txt"]));
    // "aa" once and "a" twice are the same bytes: echo.txt is recomputed, shout.txt is not.
    p.write("recipes/echo.toml", "[echo.a]\ntext = \"a\"\ntimes = 2\n\n[echo.b]\ntext = \"b\"\n");
    session::set_sources(&mut s.db, session::read_sources(p.path()).unwrap(), &[]);
    let (executed, computed) = render(&s.db);
    assert_eq!(executed, set(&["echo.a/echo.txt"]));
    assert_eq!(computed, set(&["echo.a/echo.txt"]));
    assert_eq!(p.read("renders/echo/a/shout.txt"), "AA");
}

/// A computation that panics (a bug in a flow) ends the render, on every worker count, instead
/// of leaving it waiting for a worker that is gone.
#[test]
fn a_panicking_computation_ends_the_render_instead_of_hanging_it() {
    for jobs in [1, 2, 4] {
        let p = project("[echo.bug]\ntext = \"panic\"\n\n[echo.fine]\ntext = \"ok\"\n");
        let root = p.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let s = Session::open_with(&root, &[], Mode::Build, flows::builtin().with(EchoFlow)).expect("session");
            let rendered =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render::render(&s.db, &[], jobs, &Quiet)));
            let _ = tx.send(matches!(rendered, Ok(Ok(ref o)) if o.summary.failed == 0));
        });
        let succeeded = rx.recv_timeout(std::time::Duration::from_secs(60)).expect("the render ended");
        assert!(!succeeded, "-j {jobs}: a render whose computation panicked reported success");
        assert!(!p.path().join("renders/echo/bug/echo.txt").exists(), "-j {jobs}");
    }
}

#[test]
fn the_flows_recipe_errors_are_reported_like_any_other() {
    let p = project("[echo.x]\ntext = \"x\"\ntimez = 3\n");
    let e = open(&p, &[]).err().expect("invalid").to_string();
    assert!(e.contains("recipes/echo.toml:3") && e.contains("echo.x.timez") && e.contains("times"), "{e}");
    let p = project("[echo.x]\ntext = \"x\"\n");
    let e = open(&p, &["echo.x.times=11".into()]).err().expect("out of range").to_string();
    assert!(e.contains("echo.x.times") && e.contains("1 to 10"), "{e}");
    // Without the registration line, the kind is unknown.
    let e = Session::open(p.path(), &[], Mode::Build).err().expect("unknown kind").to_string();
    assert!(e.contains("unknown target kind"), "{e}");
}

#[test]
fn explain_names_the_changed_field_of_the_flows_key() {
    let p = project("[echo.x]\ntext = \"x\"\n");
    render(&open(&p, &[]).unwrap().db);
    let plan =
        Session::open_with(p.path(), &["echo.x.times=3".into()], Mode::Plan, flows::builtin().with(EchoFlow)).unwrap();
    let items = ntsbuild::engine::plan::plan(&plan.db, &["echo.x/echo.txt".into()]).unwrap();
    let reasons = format!("{:?}", items[0].state);
    assert!(reasons.contains("times changed: 1 → 3"), "{reasons}");
}
