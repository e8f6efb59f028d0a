//! Incremental tests: which artifact queries salsa executes, and which compute, after an edit.
//! The database stays warm between renders, as in `ntsbuild watch`.

mod common;

use std::collections::BTreeSet;

use ntsbuild::engine::db::Mode;
use ntsbuild::engine::render::{self, Quiet};
use ntsbuild::engine::session::{self, Session};
use ntsbuild::engine::{Database, Db, Exec};

use common::Project;

/// (executed, computed) artifact ids of one render.
fn render(db: &Database) -> (BTreeSet<String>, BTreeSet<String>) {
    let outcome = render::render(db, &[], 2, &Quiet).expect("render");
    assert_eq!(outcome.summary.failed, 0, "{:?}", outcome.events);
    let log = db.env().take_log();
    let executed =
        log.iter().filter_map(|e| if let Exec::Executed(id) = e { Some(id.clone()) } else { None }).collect();
    let computed =
        log.iter().filter_map(|e| if let Exec::Computed(id) = e { Some(id.clone()) } else { None }).collect();
    (executed, computed)
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn reload(p: &Project, s: &mut Session) {
    session::set_sources(&mut s.db, session::read_sources(p.path()).unwrap(), &[]);
}

const ALL: [&str; 13] = common::DEMO_ARTIFACTS;

/// Declared artifacts only (video segments are logged under their own ids).
fn declared(ids: BTreeSet<String>) -> BTreeSet<String> {
    ids.into_iter().filter(|id| !common::is_segment(id)).collect()
}

/// Every declared album artifact: all of them read the song through its features.
fn album() -> Vec<&'static str> {
    ALL.iter().copied().filter(|id| id.starts_with("album.")).collect()
}

#[test]
fn warm_no_op_executes_nothing() {
    let p = Project::demo();
    let s = Session::open(p.path(), &[], Mode::Build).unwrap();
    let (executed, computed) = render(&s.db);
    assert_eq!(declared(executed), set(&ALL));
    assert_eq!(declared(computed), set(&ALL));
    assert_eq!(render(&s.db), (set(&[]), set(&[])));
}

#[test]
fn cold_no_op_computes_nothing() {
    let p = Project::demo();
    render(&Session::open(p.path(), &[], Mode::Build).unwrap().db);
    // A new process: salsa is cold, the disk store is warm.
    let (executed, computed) = render(&Session::open(p.path(), &[], Mode::Build).unwrap().db);
    assert_eq!(declared(executed), set(&ALL));
    assert_eq!(computed, set(&[]));
}

#[test]
fn punch_decay_reruns_exactly_kick_zip_and_song() {
    let p = Project::demo();
    let mut s = Session::open(p.path(), &[], Mode::Build).unwrap();
    render(&s.db);
    p.edit("recipes/kit.toml", "punch_decay = 0.45", "punch_decay = 0.6");
    reload(&p, &mut s);
    let mut want = set(&["kit.demo/kick.wav", "kit.demo/kit.zip", "song.demo/song.wav"]);
    want.extend(set(&album()));
    let (executed, computed) = render(&s.db);
    assert_eq!((declared(executed), declared(computed)), (want.clone(), want));
}

#[test]
fn editing_the_song_leaves_the_kit_alone() {
    let p = Project::demo();
    let mut s = Session::open(p.path(), &[], Mode::Build).unwrap();
    render(&s.db);
    p.edit("recipes/song.toml", "swing = 0.12", "swing = 0.2");
    reload(&p, &mut s);
    let mut want = set(&["song.demo/song.wav"]);
    want.extend(set(&album()));
    let (executed, computed) = render(&s.db);
    assert_eq!((declared(executed), declared(computed)), (want.clone(), want));
}

#[test]
fn reformatting_executes_nothing() {
    let p = Project::demo();
    let mut s = Session::open(p.path(), &[], Mode::Build).unwrap();
    render(&s.db);
    let text = p.read("recipes/kit.toml");
    p.write("recipes/kit.toml", &format!("# reformatted\n{}", text.replace(" = ", " =  ")));
    reload(&p, &mut s);
    assert_eq!(render(&s.db), (set(&[]), set(&[])));
}

#[test]
fn identical_bytes_cut_off_the_song() {
    let p = Project::demo();
    p.edit("recipes/kit.toml", "tune = 48", "tune = 48\nblend = 0.0\nroom_air = 0.3");
    let mut s = Session::open(p.path(), &[], Mode::Build).unwrap();
    render(&s.db);
    p.edit("recipes/kit.toml", "room_air = 0.3", "room_air = 0.9");
    reload(&p, &mut s);
    let (executed, computed) = render(&s.db);
    // kick.wav is recomputed (its parameters changed) to the same bytes; kit.zip records the
    // parameter in kit_info.json; the song reads only kick.wav's bytes and does not run.
    assert_eq!(executed, set(&["kit.demo/kick.wav", "kit.demo/kit.zip"]));
    assert_eq!(computed, set(&["kit.demo/kick.wav", "kit.demo/kit.zip"]));
}
