//! `[sidecars.NAME]` and `[producer.NAME]`: what a good recipe becomes, and every problem of a
//! bad one reported at once with file, line and key.

use super::*;
use crate::project::reader::Ctx;
use crate::project::value::parse;

/// The demo's sidecar recipe.
const DEMO_RECIPE: &str = "recipes/sidecars.toml";

fn plugins_from(text: &str) -> (BTreeMap<String, PluginDecl>, Vec<String>) {
    let node = parse("Project.toml", text).unwrap();
    let ctx = Ctx::default();
    let top = TableReader::new(&ctx, &node, "").unwrap();
    let t = top.table("producer").unwrap();
    let decls = read_producers(&t);
    (decls, ctx.into_diagnostics().iter().map(ToString::to_string).collect())
}

fn sidecars_from(text: &str, plugins: &BTreeMap<String, PluginDecl>) -> (SidecarsSpec, Vec<String>) {
    let node = parse("recipes/sidecars.toml", text).unwrap();
    let ctx = Ctx::default();
    let top = TableReader::new(&ctx, &node, "").unwrap();
    let t = top.table("sidecars").unwrap().table("demo").unwrap();
    let targets = BTreeSet::from(["song.demo".to_string(), "sidecars.demo".to_string()]);
    let spec = read(&t, "sidecars.demo", 48_000, &targets, plugins);
    (spec, ctx.into_diagnostics().iter().map(ToString::to_string).collect())
}

const DECL: &str = r#"
[producer.bands]
description = "energy in a few bands"
command = ["python3", "producers/spectral_bands.py", "--frames={T}", "{audio}"]
inputs = ["producers/bands_lib.py"]
settings = { bands = 4, scale = "log" }
columns = ["low", "high"]
env = { OMP_NUM_THREADS = "1" }
timeout_s = 30
"#;

#[test]
fn a_plugin_declaration_and_its_key_files() {
    let (decls, diags) = plugins_from(DECL);
    assert!(diags.is_empty(), "{diags:?}");
    let d = &decls["bands"];
    assert_eq!(d.command_files, ["producers/spectral_bands.py"]);
    assert_eq!(d.key_files(), ["producers/bands_lib.py", "producers/spectral_bands.py"]);
    assert_eq!(d.settings["bands"], Value::from(4));
    assert_eq!(d.timeout_s, 30.0);
    assert_eq!(d.max_output_mb, 256);
    assert!(d.audio);
    let cmd = d.to_command();
    assert_eq!(cmd.timeout, std::time::Duration::from_secs(30));
    assert_eq!(cmd.env["OMP_NUM_THREADS"], "1");
    // The key holds what can change the columns, not the limits.
    let key = serde_json::to_string(&d.key_params()).unwrap();
    assert!(key.contains("spectral_bands.py") && !key.contains("timeout"), "{key}");
}

#[test]
fn bad_declarations_are_all_reported() {
    let (_, diags) = plugins_from(
        r#"
[producer.a]
command = ["python3", "x.py", "{frames}"]
timeout_s = 0
inputs = ["../secret"]
env = { "1BAD" = "x" }
settings = { when = 1979-05-27 }
colums = ["x"]

[producer.b]
description = "no command"

[producer.c]
command = ["tool", "{audio}"]
audio = false
"#,
    );
    let text = diags.join("\n");
    for want in [
        "producer.a.command: `{frames}`: unknown placeholder `{frames}`",
        "producer.a.timeout_s: 0 is out of range: allowed 0.1 to 86400 s",
        "producer.a.inputs: `../secret` leaves the project directory",
        "producer.a.env.1BAD: environment variable names",
        "producer.a.settings: `when`: datetimes are not passed",
        "producer.a.colums: unknown key (did you mean `columns`?)",
        "producer.b.command: missing",
        "producer.c.command: `{audio}` uses {audio} but `audio = false`",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(diags.iter().all(|d| d.starts_with("Project.toml:")), "{text}");
}

#[test]
fn a_full_recipe_becomes_params_in_list_order() {
    let (decls, _) = plugins_from(DECL);
    let (spec, diags) = sidecars_from(
        r#"
[sidecars.demo]
sources = ["audio/organ.wav", "song.demo/song.wav", "audio/*.flac"]
fps = 75
producers = [
  { kind = "const", values = { scene_id = 7, instrument = 2 } },
  { kind = "lin", values = { fade = [0.0, 1.0], tilt = "1:-1" } },
  { kind = "from_filename", defaults = { take = 1 } },
  { kind = "audio", columns = ["rms_db", "mfcc"] },
  { plugin = "bands", settings = { bands = 8 } },
]
"#,
        &decls,
    );
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(
        spec.sources,
        [
            SourceRef::File("audio/organ.wav".into()),
            SourceRef::Artifact("song.demo/song.wav".into()),
            SourceRef::Glob("audio/*.flac".into())
        ]
    );
    assert_eq!(spec.params.grid, Grid::Fps { fps: 75.0 });
    assert_eq!(spec.analysis_rate_hz, 48_000);
    let p = &spec.params.producers;
    assert_eq!(
        p.iter().map(ProducerParams::kind).collect::<Vec<_>>(),
        ["const", "lin", "from_filename", "audio", "plugin"]
    );
    assert_eq!(
        p[1],
        ProducerParams::Lin { values: BTreeMap::from([("fade".into(), [0.0, 1.0]), ("tilt".into(), [1.0, -1.0])]) }
    );
    assert_eq!(
        p[2],
        ProducerParams::FromFilename {
            pattern: DEFAULT_FILENAME_PATTERN.into(),
            defaults: BTreeMap::from([("take".into(), 1.0)])
        }
    );
    let ProducerParams::Audio { columns } = &p[3] else { panic!() };
    assert_eq!(columns.len(), 14);
    // Use settings are laid over the declaration's.
    let ProducerParams::Plugin { settings, .. } = &p[4] else { panic!() };
    assert_eq!((settings["bands"].clone(), settings["scale"].clone()), (Value::from(8), Value::from("log")));
}

#[test]
fn a_hop_grid_sets_the_analysis_rate() {
    let (spec, diags) = sidecars_from(
        "[sidecars.demo]\nsources = [\"a.wav\"]\nhop = 320\nsample_rate = 24000\nproducers = [{ kind = \"audio\", columns = [\"rms_db\"] }]\n",
        &BTreeMap::new(),
    );
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(spec.params.grid, Grid::Hop { hop: 320, sample_rate_hz: 24_000 });
    assert_eq!(spec.analysis_rate_hz, 24_000);
    assert_eq!(spec.params.grid.fps(), 75.0);
}

#[test]
fn every_problem_of_a_bad_recipe_at_once() {
    let (decls, _) = plugins_from(DECL);
    let (_, diags) = sidecars_from(
        r#"
[sidecars.demo]
sources = ["../x.wav"]
fps = 75
hop = 320
producers = [
  { kind = "cosnt", values = { a = 1 } },
  { kind = "const", values = { "bad name" = 1, b = nan } },
  { kind = "lin", values = { r = [0, 1, 2] } },
  { kind = "from_filename", pattern = "(?P<name>\\w+)" },
  { kind = "audio", columns = ["rms_db", "centriod", "rms_db"] },
  { plugin = "bnads" },
  { kind = "const", values = {}, extra = 1 },
]
"#,
        &decls,
    );
    let text = diags.join("\n");
    for want in [
        "sidecars.demo.sources: `../x.wav` leaves the project directory",
        "sidecars.demo.fps: give either `fps` or `hop` with `sample_rate`, not both",
        "sidecars.demo.sample_rate: `hop` (samples per frame) and `sample_rate`",
        "sidecars.demo.producers[0].kind: unknown producer kind `cosnt` (did you mean `const`?)",
        "sidecars.demo.producers[1].values.bad name: `bad name` is not a column name",
        "sidecars.demo.producers[1].values.b: NaN is out of range",
        "sidecars.demo.producers[2].values.r: expected [start, end] or \"start:end\"",
        "sidecars.demo.producers[3].pattern: `(?P<name>\\w+)` has no named group `value`",
        "sidecars.demo.producers[4].columns: unknown audio column `centriod` (did you mean `centroid`?)",
        "sidecars.demo.producers[4].columns: `rms_db` is listed twice",
        "sidecars.demo.producers[5].plugin: no producer `bnads` (did you mean `bands`?)",
        "sidecars.demo.producers[6].values: the table is empty",
        "sidecars.demo.producers[6].extra: unknown key",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    assert!(diags.iter().all(|d| d.starts_with("recipes/sidecars.toml:")), "{text}");
}

#[test]
fn the_demo_recipe_is_valid() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join(DEMO_RECIPE)).unwrap();
    let (plugins, diags) = plugins_from(&std::fs::read_to_string(root.join("Project.toml")).unwrap());
    assert!(diags.is_empty(), "Project.toml: {diags:?}");
    let (spec, diags) = sidecars_from(&text, &plugins);
    assert!(diags.is_empty(), "{diags:?}");
    let kinds: Vec<&str> = spec.params.producers.iter().map(ProducerParams::kind).collect();
    for k in ["const", "lin", "from_filename", "audio"] {
        assert!(kinds.contains(&k), "the demo uses no `{k}`: {kinds:?}");
    }
    assert!(
        spec.params
            .producers
            .iter()
            .any(|p| matches!(p, ProducerParams::Audio { columns } if columns.contains(&AudioColumn::RmsDb)))
    );
    assert_eq!(
        spec.sources,
        [SourceRef::File("audio/organ.wav".into()), SourceRef::Artifact("song.demo/song.wav".into())]
    );
}
