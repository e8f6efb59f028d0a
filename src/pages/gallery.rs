//! `ntsbuild report` (and `render --report`): a static site of every output at
//! `<output dir>/index.html`, its pictures under `<output dir>/_report/`. Per target, each
//! materialized artifact by what its file is — audio with a player and a waveform thumbnail,
//! video with a player, pictures shown, a CSV that lists the target's files (a texture
//! manifest) as a sortable, filterable table with players — plus the figures its flow draws
//! (`Flow::figures`), and for each its digest, key, size, status in the last render and, when
//! stale, why (`plan`). No flow is named here. The page reflects the lock and the last run:
//! regenerating it without a change gives the same bytes (no timestamps, everything sorted).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::html::{esc, href, size, status_colour, status_word, write_page};
use crate::engine::flow::{self, Figure};
use crate::engine::plan::{self, State};
use crate::engine::{ArtifactEvent, Db, Session, Status, query};
use crate::store::lockfile::{LOCK_FILE, LockFile};
use crate::store::{Digest, Store};

/// The site's own files, under the output dir.
pub const SITE_DIR: &str = "_report";
/// The statuses of the last render, under the cache dir.
pub const LAST_RUN: &str = "report/last-run.json";
/// Waveform thumbnail size, pixels.
const WAVE_W: usize = 240;
const WAVE_H: usize = 40;

/// What was written.
#[derive(Debug, Clone)]
pub struct Site {
    pub index: PathBuf,
    /// Artifacts shown.
    pub artifacts: usize,
    /// Waveform thumbnails and figures the site links (made now or kept from before).
    pub pictures: usize,
    /// Bytes of `index.html`.
    pub page_bytes: usize,
}

/// Remember each declared artifact's status in this render (`is_declared` leaves out
/// sub-artifacts and ids no longer declared), for the gallery's "last run" column. Artifacts
/// this render did not touch keep the status of the render that did.
pub fn record_run(cache: &Path, events: &[ArtifactEvent], is_declared: impl Fn(&str) -> bool) -> io::Result<()> {
    let path = cache.join(LAST_RUN);
    let mut map = read_last_run(&path).unwrap_or_default();
    map.retain(|id, _| is_declared(id));
    for e in events.iter().filter(|e| is_declared(&e.id)) {
        map.insert(e.id.clone(), status_word(e.status).to_string());
    }
    let json = serde_json::json!({ "version": 1, "artifacts": map });
    let mut bytes = serde_json::to_vec_pretty(&json).unwrap_or_default();
    bytes.push(b'\n');
    write_page(&path, &bytes)
}

fn read_last_run(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    #[derive(serde::Deserialize)]
    struct Raw {
        version: u32,
        artifacts: BTreeMap<String, String>,
    }
    let raw: Raw = serde_json::from_str(&text).map_err(|e| {
        format!("{}: not a record of the last render ({e}); delete it, the next render writes it again", path.display())
    })?;
    if raw.version != 1 {
        return Err(format!("{}: unknown version {} (expected 1)", path.display(), raw.version));
    }
    Ok(raw.artifacts)
}

/// One materialized artifact as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub id: String,
    /// Its path inside the target (`opening/video.mp4`).
    pub rel: String,
    /// Project-relative output path.
    pub path: String,
    /// Digest and action key from the lock.
    pub digest: Option<Digest>,
    pub key: Option<Digest>,
    /// Size of the output file, if it exists.
    pub bytes: Option<u64>,
    /// Status in the last render that included it (`built`, `fresh`, …).
    pub last: Option<String>,
    /// What a render would do now (stale ones carry `explain`'s reasons).
    pub state: Option<State>,
}

impl Artifact {
    fn ext(&self) -> String {
        Path::new(&self.rel).extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase()
    }
}

/// One target's part of the page.
#[derive(Debug, Clone)]
pub struct TargetView {
    pub id: String,
    pub kind: String,
    pub artifacts: Vec<Artifact>,
    pub figures: Vec<Figure>,
}

/// Everything the page shows, collected from a project ([`collect`]) or made up (scale tests).
#[derive(Debug, Clone)]
pub struct Gallery {
    pub project: String,
    /// The output dir, project-relative; the page is its `index.html`.
    pub output_dir: String,
    pub targets: Vec<TargetView>,
}

/// What kind of file an output is, by extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    Audio,
    Video,
    Image,
    Table,
    Other,
}

fn media_of(ext: &str) -> Media {
    match ext {
        "wav" | "flac" | "mp3" | "ogg" | "oga" | "opus" | "aiff" | "aif" => Media::Audio,
        "mp4" | "webm" | "m4v" => Media::Video,
        "png" | "gif" | "jpg" | "jpeg" | "webp" | "svg" => Media::Image,
        "csv" => Media::Table,
        _ => Media::Other,
    }
}

/// Write the site for `session`'s project (open it in plan mode: nothing is built).
pub fn write(session: &Session) -> Result<Site, String> {
    let gallery = collect(session)?;
    write_site(&session.root, &gallery, Some(&session.db.env().store))
}

/// What the page shows for `session`'s project: the lock, the last render's statuses, the plan.
pub fn collect(session: &Session) -> Result<Gallery, String> {
    let db = &session.db;
    let root = &session.root;
    let config = &session.config;
    let output_dir = config.settings.output_dir.trim_end_matches('/').to_string();
    let index = query::artifact_index(db).clone();
    let lock = LockFile::read(&root.join(LOCK_FILE)).map_err(|e| e.to_string())?;
    let last = read_last_run(&db.env().store.root().join(LAST_RUN))?;
    let mut states: BTreeMap<String, State> =
        plan::plan(db, &[]).map_err(|e| e.to_string())?.into_iter().map(|p| (p.id, p.state)).collect();
    let mut targets = Vec::new();
    for (tid, target) in &config.targets {
        let artifacts = index
            .values()
            .filter(|d| d.target == *tid && d.materialized)
            .map(|decl| {
                let lock = lock.entries.get(&decl.id);
                let path = lock.map_or_else(|| decl.output_path(&output_dir), |l| l.path.clone());
                Artifact {
                    id: decl.id.clone(),
                    rel: decl.rel.clone(),
                    bytes: std::fs::metadata(root.join(&path)).ok().filter(|m| m.is_file()).map(|m| m.len()),
                    path,
                    digest: lock.map(|l| l.digest),
                    key: lock.map(|l| l.key),
                    last: last.get(&decl.id).cloned(),
                    state: states.remove(&decl.id),
                }
            })
            .collect();
        let figures = flow::registry(db).flow(target.kind).map(|f| f.figures(db, tid, target)).unwrap_or_default();
        targets.push(TargetView { id: tid.clone(), kind: target.kind.to_string(), artifacts, figures });
    }
    Ok(Gallery { project: config.settings.name.clone(), output_dir, targets })
}

/// Write `gallery`'s page and pictures under `root`. Waveforms are drawn from each audio file
/// when its bytes match the lock's digest, else from the store's blob.
pub fn write_site(root: &Path, gallery: &Gallery, store: Option<&Store>) -> Result<Site, String> {
    let out_dir = gallery.output_dir.as_str();
    let site = root.join(out_dir).join(SITE_DIR);
    // Waveforms, named by the audio's digest: made once, kept while the audio is in the lock.
    let mut waves: BTreeMap<Digest, &Artifact> = BTreeMap::new();
    for a in gallery.targets.iter().flat_map(|t| &t.artifacts) {
        if let (Media::Audio, Some(d)) = (media_of(&a.ext()), a.digest) {
            waves.entry(d).or_insert(a);
        }
    }
    let wave_dir = site.join("wave");
    let wave_errors: BTreeMap<Digest, String> = waves
        .par_iter()
        .filter_map(|(d, a)| {
            let path = wave_dir.join(format!("{}.png", d.hex()));
            if path.is_file() {
                return None;
            }
            let made = || -> Result<(), String> {
                let bytes = match std::fs::read(root.join(&a.path)) {
                    Ok(b) if Digest::of(&b) == *d => b,
                    _ => match store {
                        Some(s) => s.read(d).map_err(|e| e.to_string())?,
                        None => return Err(format!("{} is missing or edited", a.path)),
                    },
                };
                let audio = crate::media::decode::decode_channels_bytes(&bytes, &a.rel).map_err(|e| e.to_string())?;
                let png: Vec<u8> =
                    crate::media::thumbs::waveform_png(&audio.channels, WAVE_W, WAVE_H).map_err(|e| e.to_string())?;
                write_page(&path, &png).map_err(|e| format!("writing {}: {e}", path.display()))
            };
            made().err().map(|e| (*d, e))
        })
        .collect();
    let mut figure_files = BTreeSet::new();
    for f in gallery.targets.iter().flat_map(|t| &t.figures) {
        let name = format!("{}.png", Digest::of(&f.png).hex());
        let path = site.join("fig").join(&name);
        if !path.is_file() {
            write_page(&path, &f.png).map_err(|e| format!("writing {}: {e}", path.display()))?;
        }
        figure_files.insert(name);
    }
    // Pictures nothing links any more go, so the folder holds exactly what the page shows.
    let wave_files: BTreeSet<String> =
        waves.keys().filter(|d| !wave_errors.contains_key(d)).map(|d| format!("{}.png", d.hex())).collect();
    prune(&wave_dir, &wave_files);
    prune(&site.join("fig"), &figure_files);

    let page = Page { root, out_dir, wave_errors: &wave_errors };
    let html = page.html(&gallery.project, &gallery.targets);
    let index_path = root.join(out_dir).join("index.html");
    write_page(&index_path, html.as_bytes()).map_err(|e| format!("writing {}: {e}", index_path.display()))?;
    Ok(Site {
        index: index_path,
        artifacts: gallery.targets.iter().map(|t| t.artifacts.len()).sum(),
        pictures: wave_files.len() + figure_files.len(),
        page_bytes: html.len(),
    })
}

/// Remove the files of `dir` not in `keep` (best effort: a leftover is only clutter).
fn prune(dir: &Path, keep: &BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !keep.contains(&name) && e.path().is_file() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

struct Page<'a> {
    root: &'a Path,
    out_dir: &'a str,
    wave_errors: &'a BTreeMap<Digest, String>,
}

impl Page<'_> {
    /// A link from `<output dir>/index.html` to a project-relative path.
    fn link(&self, path: &str) -> String {
        let dir = self.out_dir.trim_start_matches("./");
        if dir.is_empty() || dir == "." {
            return href(path.trim_start_matches("./"));
        }
        match path.trim_start_matches("./").strip_prefix(&format!("{dir}/")) {
            Some(inside) => href(inside),
            None => href(&format!("{}{path}", "../".repeat(dir.split('/').count()))),
        }
    }

    fn html(&self, project: &str, targets: &[TargetView]) -> String {
        let mut h = String::with_capacity(256 * 1024);
        let title = format!("{project}: outputs");
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{0}</title><style>{CSS}</style></head><body>\n<header><h1>{0}</h1>\n",
            esc(&title)
        );
        let all: Vec<&Artifact> = targets.iter().flat_map(|t| &t.artifacts).collect();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for i in &all {
            *counts.entry(i.last.as_deref().unwrap_or("not built")).or_default() += 1;
        }
        let stale = all
            .iter()
            .filter(|i| i.state.as_ref().is_some_and(|s| !matches!(s, State::Fresh | State::Skipped(_))))
            .count();
        let _ = write!(h, "<p class=\"sum\">{} artifacts in {} targets. Last render: ", all.len(), targets.len());
        let parts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {}", esc(s))).collect();
        h.push_str(&parts.join(", "));
        let _ = writeln!(
            h,
            ". {}</p>",
            if stale == 0 { "All up to date.".to_string() } else { format!("<b>{stale} stale</b> (see below).") }
        );
        h.push_str("<nav>");
        for t in targets {
            let _ = write!(
                h,
                "<a href=\"#{}\">{}</a> <small>{} · {}</small> ",
                anchor(&t.id),
                esc(&t.id),
                esc(&t.kind),
                t.artifacts.len()
            );
        }
        h.push_str("</nav></header>\n<main>\n");
        for t in targets {
            self.target(&mut h, t);
        }
        let _ = write!(h, "</main>\n<script>{JS}</script>\n</body></html>\n");
        h
    }

    fn target(&self, h: &mut String, t: &TargetView) {
        let (tid, kind, items, figures) = (&t.id, &t.kind, &t.artifacts, &t.figures);
        let _ = writeln!(h, "<section id=\"{}\"><h2>{} <small>{}</small></h2>", anchor(tid), esc(tid), esc(kind));
        if items.is_empty() {
            h.push_str("<p class=\"none\">No outputs.</p></section>\n");
            return;
        }
        // Files a table of this target lists are shown in its rows, not as cards.
        let by_rel: BTreeMap<&str, &Artifact> = items.iter().map(|i| (i.rel.as_str(), i)).collect();
        let mut tables = Vec::new();
        let mut in_table: BTreeSet<&str> = BTreeSet::new();
        for i in items.iter().filter(|i| media_of(&i.ext()) == Media::Table) {
            let Ok(text) = std::fs::read_to_string(self.root.join(&i.path)) else { continue };
            if let Some(t) = FileTable::new(&text, &by_rel) {
                in_table.extend(t.linked.iter().flatten().copied());
                tables.push((i.id.as_str(), t));
            }
        }
        // Cards grouped by folder (`opening/`, `stems/`).
        let mut groups: BTreeMap<&str, Vec<&Artifact>> = BTreeMap::new();
        for i in items.iter().filter(|i| !in_table.contains(i.rel.as_str())) {
            let folder = i.rel.rsplit_once('/').map_or("", |(f, _)| f);
            groups.entry(folder).or_default().push(i);
        }
        for (folder, group) in groups {
            if !folder.is_empty() {
                let _ = writeln!(h, "<h3>{}/</h3>", esc(folder));
            }
            h.push_str("<div class=\"grid\">\n");
            for i in group {
                self.card(h, i, figures);
            }
            h.push_str("</div>\n");
        }
        for (id, table) in tables {
            self.table(h, id, &table, &by_rel);
        }
        h.push_str("</section>\n");
    }

    fn card(&self, h: &mut String, i: &Artifact, figures: &[Figure]) {
        let media = media_of(&i.ext());
        let wide = matches!(media, Media::Video) || figures.iter().any(|f| f.beside == i.id);
        let name = esc(file_name(&i.rel));
        // Only files that exist are linked (a skipped texture has none).
        let title = match i.bytes {
            Some(_) => format!("<a href=\"{}\">{name}</a>", self.link(&i.path)),
            None => name,
        };
        let _ = write!(
            h,
            "<article class=\"card{}\" id=\"{}\"><h4>{title}</h4>",
            if wide { " wide" } else { "" },
            anchor(&i.id)
        );
        let src = self.link(&i.path);
        if i.bytes.is_some() {
            match media {
                Media::Audio => {
                    self.wave(h, i);
                    let _ = write!(h, "<audio controls preload=\"none\" src=\"{src}\"></audio>");
                }
                Media::Video => {
                    let _ = write!(h, "<video controls preload=\"metadata\" src=\"{src}\"></video>");
                }
                Media::Image => {
                    let _ =
                        write!(h, "<a href=\"{src}\"><img src=\"{src}\" loading=\"lazy\" alt=\"{}\"></a>", esc(&i.rel));
                }
                Media::Table | Media::Other => {}
            }
        } else if !matches!(i.state, Some(State::Skipped(_))) {
            h.push_str("<p class=\"none\">No file: not rendered yet.</p>");
        }
        for f in figures.iter().filter(|f| f.beside == i.id) {
            let name = format!("{SITE_DIR}/fig/{}.png", Digest::of(&f.png).hex());
            let _ = write!(
                h,
                "<figure><img src=\"{}\" loading=\"lazy\" alt=\"{1}\"><figcaption>{1}</figcaption></figure>",
                href(&name),
                esc(&f.title)
            );
        }
        self.meta(h, i);
        h.push_str("</article>\n");
    }

    fn wave(&self, h: &mut String, i: &Artifact) {
        match i.digest {
            Some(d) if !self.wave_errors.contains_key(&d) => {
                let _ = write!(
                    h,
                    "<img class=\"wave\" src=\"{}\" width=\"{WAVE_W}\" height=\"{WAVE_H}\" loading=\"lazy\" alt=\"waveform\">",
                    href(&format!("{SITE_DIR}/wave/{}.png", d.hex()))
                );
            }
            Some(d) => {
                let _ = write!(h, "<p class=\"none\">No waveform: {}</p>", esc(&self.wave_errors[&d]));
            }
            None => {}
        }
    }

    fn meta(&self, h: &mut String, i: &Artifact) {
        h.push_str("<dl>");
        let _ = write!(h, "<dt>last render</dt><dd>{}</dd>", status_badge(i.last.as_deref()));
        let _ = write!(h, "<dt>size</dt><dd>{}</dd>", i.bytes.map_or_else(|| "no file".to_string(), size));
        if let (Some(digest), Some(key)) = (i.digest, i.key) {
            let _ = write!(
                h,
                "<dt>digest</dt><dd><code title=\"{0}\">{1}</code></dd><dt>key</dt><dd><code title=\"{2}\">{3}</code></dd>",
                digest.hex(),
                digest.short(),
                key.hex(),
                key.short()
            );
        } else {
            h.push_str("<dt>digest</dt><dd>not in the lock</dd>");
        }
        h.push_str("</dl>");
        explain(h, i.state.as_ref());
    }

    fn table(&self, h: &mut String, id: &str, t: &FileTable<'_>, by_rel: &BTreeMap<&str, &Artifact>) {
        let _ = write!(
            h,
            "<h3>{0}</h3>\n<p class=\"tools\"><input type=\"search\" placeholder=\"Filter rows\" \
             aria-label=\"Filter {0}\" data-for=\"{1}\"> <span class=\"count\" data-for=\"{1}\">{2} rows</span> \
             · click a heading to sort</p>\n<div class=\"tablewrap\"><table class=\"sortable\" id=\"{1}\"><thead><tr>",
            esc(id),
            anchor(&format!("{id}/table")),
            t.rows.len()
        );
        h.push_str("<th></th><th>waveform</th>");
        for c in &t.header {
            let _ = write!(h, "<th>{}</th>", esc(c));
        }
        h.push_str("<th>last render</th><th>size</th><th>digest</th></tr></thead><tbody>\n");
        for (row, linked) in t.rows.iter().zip(&t.linked) {
            let item = linked.and_then(|rel| by_rel.get(rel));
            h.push_str("<tr>");
            match item {
                Some(i) if i.bytes.is_some() => {
                    // One shared player for the table (thousands of <audio> controls are slow).
                    let _ = write!(
                        h,
                        "<td><button class=\"play\" data-src=\"{}\" title=\"play\">▶</button></td><td>",
                        self.link(&i.path)
                    );
                    self.wave(h, i);
                    h.push_str("</td>");
                }
                _ => h.push_str("<td></td><td></td>"),
            }
            for (n, cell) in row.iter().enumerate() {
                match (item, n == t.file_column) {
                    (Some(i), true) if i.bytes.is_some() => {
                        let _ = write!(h, "<td><a href=\"{}\">{}</a></td>", self.link(&i.path), esc(cell));
                    }
                    _ => {
                        let _ = write!(h, "<td>{}</td>", esc(cell));
                    }
                }
            }
            match item {
                Some(i) => {
                    let _ = write!(
                        h,
                        "<td>{}</td><td data-v=\"{}\">{}</td><td><code title=\"{}\">{}</code>",
                        status_badge(i.last.as_deref()),
                        i.bytes.unwrap_or(0),
                        i.bytes.map_or_else(|| "no file".to_string(), size),
                        i.digest.map(|d| d.hex()).unwrap_or_default(),
                        i.digest.map(|d| d.short()).unwrap_or_default()
                    );
                    explain(h, i.state.as_ref());
                    h.push_str("</td>");
                }
                None => h.push_str("<td></td><td></td><td></td>"),
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody></table></div>\n");
    }
}

/// A CSV one of whose columns names the target's files (a manifest): its rows, and for each
/// row the file it names.
struct FileTable<'a> {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    file_column: usize,
    linked: Vec<Option<&'a str>>,
}

impl<'a> FileTable<'a> {
    /// `None` unless some column names files of the target for at least half its filled cells.
    fn new(text: &str, by_rel: &BTreeMap<&'a str, &Artifact>) -> Option<FileTable<'a>> {
        let mut records = parse_csv(text);
        if records.len() < 2 {
            return None;
        }
        let header = records.remove(0);
        // A file named by its path in the target or, when unique, by its file name.
        let mut by_name: BTreeMap<&str, Option<&'a str>> = BTreeMap::new();
        for rel in by_rel.keys() {
            by_name.entry(file_name(rel)).and_modify(|v| *v = None).or_insert(Some(*rel));
        }
        let resolve = |cell: &str| -> Option<&'a str> {
            by_rel.get_key_value(cell).map(|(k, _)| *k).or_else(|| by_name.get(file_name(cell)).copied().flatten())
        };
        let (column, hits) = (0..header.len())
            .map(|c| (c, records.iter().filter(|r| r.get(c).is_some_and(|v| resolve(v).is_some())).count()))
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
        let filled = records.iter().filter(|r| r.get(column).is_some_and(|v| !v.is_empty())).count();
        if hits == 0 || hits * 2 < filled {
            return None;
        }
        let linked = records.iter().map(|r| r.get(column).and_then(|v| resolve(v))).collect();
        Some(FileTable { header, rows: records, file_column: column, linked })
    }
}

/// RFC 4180 CSV: quoted fields with `""` escapes and embedded newlines; `\n` or `\r\n` line ends.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn file_name(rel: &str) -> &str {
    rel.rsplit('/').next().unwrap_or(rel)
}

/// An HTML id for a target or artifact id (ids are ASCII names with `.`, `/`, `_`, `-`).
fn anchor(id: &str) -> String {
    id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' { c } else { '~' }).collect()
}

fn status_badge(last: Option<&str>) -> String {
    let colour = match last {
        Some("built") => status_colour(Status::Built),
        Some("restored") => status_colour(Status::Restored),
        Some("downloaded") => status_colour(Status::Downloaded),
        Some("fresh") => status_colour(Status::Fresh),
        Some("failed") => status_colour(Status::Failed),
        Some("skipped") => status_colour(Status::Skipped),
        _ => "#bbb",
    };
    format!("<span class=\"st\" style=\"background:{colour}\">{}</span>", esc(last.unwrap_or("not built")))
}

/// Why an artifact is stale, as `explain` says it; nothing when it is fresh.
fn explain(h: &mut String, state: Option<&State>) {
    let (word, reasons): (&str, Vec<&str>) = match state {
        None | Some(State::Fresh) => return,
        Some(State::Restore(r)) => ("stale: its file must be restored", vec![r.as_str()]),
        Some(State::Build(r)) => ("stale: must be rebuilt", r.iter().map(String::as_str).collect()),
        Some(State::Failed(e)) => ("cannot be built", vec![e.as_str()]),
        Some(State::Skipped(r)) => ("not made", vec![r.as_str()]),
    };
    let _ = write!(h, "<details class=\"stale\"><summary>{word}</summary><ul>");
    for r in reasons {
        let _ = write!(h, "<li>{}</li>", esc(r));
    }
    h.push_str("</ul></details>");
}

const CSS: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222;background:#f6f6f4}\
header{background:#fff;border-bottom:1px solid #ddd;padding:1em 1.5em}h1{font-size:1.4em;margin:0 0 .3em}\
nav a{margin-right:.2em}nav small{color:#777;margin-right:1.2em}main{padding:0 1.5em 2em}\
h2{font-size:1.25em;margin:1.6em 0 .4em}h2 small,h3{color:#666;font-weight:500}h3{font-size:1em;margin:1em 0 .4em}\
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}\
.card{background:#fff;border:1px solid #ddd;border-radius:6px;padding:10px;min-width:0}\
.card.wide{grid-column:span 2}.card h4{margin:0 0 6px;font-size:1em;word-break:break-all}\
.card img,.card video{max-width:100%;display:block;margin:4px 0}.card video{width:100%;max-height:220px;background:#000}.card audio{width:100%;height:32px}\
img.wave{width:100%;height:40px;image-rendering:pixelated}td img.wave{width:160px}\
figure{margin:6px 0}figcaption{color:#666;font-size:.85em}\
dl{display:grid;grid-template-columns:auto 1fr;gap:0 8px;margin:6px 0 0;font-size:.85em;color:#444}\
dt{color:#888}dd{margin:0}code{font-size:.95em}\
.st{color:#fff;border-radius:3px;padding:0 5px;font-size:.9em}\
.stale summary{color:#b04a00;cursor:pointer;font-size:.85em}.stale ul{margin:2px 0;padding-left:1.2em;font-size:.85em}\
.none{color:#888;font-style:italic}.tools{margin:.3em 0}.tools input{padding:3px 6px;width:16em}\
.tablewrap{overflow:auto;max-height:80vh;background:#fff;border:1px solid #ddd}\
table.sortable{border-collapse:collapse;font-size:.85em;white-space:nowrap}\
table.sortable th{position:sticky;top:0;background:#eee;cursor:pointer;text-align:left;padding:4px 6px}\
table.sortable th[data-dir=asc]::after{content:' ▲'}table.sortable th[data-dir=desc]::after{content:' ▼'}\
table.sortable td{padding:2px 6px;border-top:1px solid #eee}\
button.play{border:1px solid #bbb;background:#fff;border-radius:3px;width:2.2em;cursor:pointer}button.play.on{background:#e8833a;color:#fff}";

/// Sorting and filtering of the file tables, and their one shared player (no libraries).
const JS: &str = "const player=new Audio();let playing=null;\
const stop=()=>{if(playing){playing.classList.remove('on');playing.textContent='▶'}playing=null};\
player.addEventListener('ended',stop);player.addEventListener('error',()=>{if(playing)playing.textContent='✕';playing=null});\
document.addEventListener('click',e=>{const b=e.target.closest('button.play');if(!b)return;\
if(playing===b){player.pause();stop();return}stop();player.src=b.dataset.src;player.play().catch(()=>{});\
playing=b;b.classList.add('on');b.textContent='❚❚'});\
for(const t of document.querySelectorAll('table.sortable')){\
const body=t.tBodies[0],heads=[...t.tHead.rows[0].cells];\
const key=(r,i)=>{const c=r.cells[i];return c.dataset.v??c.textContent.trim()};\
heads.forEach((th,i)=>th.addEventListener('click',()=>{\
const dir=th.dataset.dir==='asc'?'desc':'asc';heads.forEach(h=>delete h.dataset.dir);th.dataset.dir=dir;\
const rows=[...body.rows];rows.sort((a,b)=>{const x=key(a,i),y=key(b,i),nx=Number(x),ny=Number(y);\
const c=(x!==''&&y!==''&&!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return dir==='asc'?c:-c});\
body.append(...rows)}));\
const input=document.querySelector('input[data-for=\"'+t.id+'\"]'),count=document.querySelector('span.count[data-for=\"'+t.id+'\"]');\
if(input)input.addEventListener('input',()=>{const q=input.value.trim().toLowerCase();let n=0;\
for(const r of body.rows){r._t??=r.textContent.toLowerCase();r.hidden=q!==''&&!r._t.includes(q);n+=r.hidden?0:1}\
if(count)count.textContent=n+' rows'})}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_line_ends() {
        let rows = parse_csv("a,b,c\r\n\"x, y\",\"he said \"\"hi\"\"\",\n1,\"two\nlines\",3");
        assert_eq!(rows[0], ["a", "b", "c"]);
        assert_eq!(rows[1], ["x, y", "he said \"hi\"", ""]);
        assert_eq!(rows[2], ["1", "two\nlines", "3"]);
        assert_eq!(rows.len(), 3);
        assert!(parse_csv("").is_empty());
    }

    #[test]
    fn links_are_relative_to_the_page() {
        let errors = BTreeMap::new();
        let page = |out_dir| Page { root: Path::new("/p"), out_dir, wave_errors: &errors };
        assert_eq!(page("renders").link("renders/kit/demo/kick.wav"), "kit/demo/kick.wav");
        assert_eq!(page("out/site").link("out/site/a b.wav"), "a%20b.wav");
        assert_eq!(page("out/site").link("elsewhere/x.wav"), "../../elsewhere/x.wav");
        assert_eq!(page(".").link("kit/demo/kick.wav"), "kit/demo/kick.wav");
        assert_eq!(page("./renders").link("renders/x.png"), "x.png");
    }

    #[test]
    fn anchors_are_plain() {
        assert_eq!(anchor("album.demo/opening/video.mp4"), "album.demo~opening~video.mp4");
    }
}
