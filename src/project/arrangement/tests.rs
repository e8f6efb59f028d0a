//! Reader tests: a whole arrangement, every problem at once with file/line/key, and the demo.

use super::*;
use crate::arrange::automation::Curve;
use crate::arrange::schema::{env, osc};
use crate::project::diagnostic::Diagnostic;
use crate::project::reader::Ctx;
use crate::project::value::{Kind, parse};

/// Read `[song.NAME]` from recipe text: the spec and every diagnostic.
fn read_text(text: &str, declared: &BTreeSet<String>) -> (ArrangementSpec, Vec<Diagnostic>) {
    let root = parse("recipes/a.toml", text).expect("valid TOML");
    let Kind::Table(top) = &root.kind else { panic!("table") };
    let Kind::Table(songs) = &top["song"].kind else { panic!("song table") };
    let (name, node) = songs.iter().next().expect("one song");
    let ctx = Ctx::default();
    let id = format!("song.{name}");
    let t = TableReader::new(&ctx, node, &id).expect("a table");
    let (spec, origins) = read(&t, &id, 48_000, declared);
    let sources: usize = spec.instruments.iter().map(|i| i.sources.len()).sum();
    assert_eq!(origins.len(), sources, "every source's place is known");
    (spec, ctx.into_diagnostics())
}

fn declared() -> BTreeSet<String> {
    ["kit.demo", "textures.demo", "song.demo"].map(String::from).into_iter().collect()
}

const GOOD: &str = r#"
[song.a]
bpm = 100
meter = "3/4"
block_size = 256

[[song.a.tempo]]
at = "3:1"
bpm = 140
ramp = true

[[song.a.tempo]]
at = "5:1"
meter = "4/4"

[song.a.instrument.lead]
notes = "C4:100:2 . E4 . | 67:90 = . ."
gain_db = -3
[song.a.instrument.lead.oscillator]
waveform = "saw"
[song.a.instrument.lead.envelope]
mode = "adsr"
[song.a.instrument.lead.lowpass]
cutoff_hz = 1200

[song.a.instrument.keys]
modules = ["sampler", "soft", "envelope"]
pattern = "x..X"
note = "C3"
[song.a.instrument.keys.sampler]
instrument_family = "organ"
[[song.a.instrument.keys.sampler.layer]]
source = "audio/soft.wav"
[[song.a.instrument.keys.sampler.layer]]
source = "kit.demo/snare.wav"
amplitude_scale = 1.5
[song.a.instrument.keys.soft]
kind = "lowpass"
cutoff_hz = 500

[song.a.automation]
"lead.lowpass.cutoff_hz|curve=exp|smooth=5ms" = [[0, 0.1], ["2:2.5", 0.5]]
"keys.mix.pan|raw" = [[1, -0.5]]

[song.a.master]
target_lufs = -18
"#;

#[test]
fn reads_a_whole_arrangement() {
    let (spec, diags) = read_text(GOOD, &declared());
    assert!(diags.is_empty(), "{diags:#?}");
    let tempo = &spec.timing.tempo;
    assert_eq!(tempo.bpm, 100.0);
    assert_eq!(tempo.meter, Meter { beats_per_bar: 3, beat_unit: 4 });
    assert_eq!(tempo.changes, vec![TempoChange { beat: 6.0, bpm: 140.0, ramp: true }]);
    assert_eq!(tempo.meters, vec![MeterChange { bar: 5, meter: Meter::COMMON }]);
    assert_eq!(spec.timing.block_size, 256);
    // Instruments in name order; default chain from the module tables.
    let names: Vec<&str> = spec.instruments.iter().map(|i| i.params.name.as_str()).collect();
    assert_eq!(names, ["keys", "lead"]);
    let lead = &spec.instrument("lead").unwrap().params;
    let chain: Vec<ModuleKind> = lead.modules.iter().map(|m| m.kind).collect();
    assert_eq!(chain, [ModuleKind::Oscillator, ModuleKind::Envelope, ModuleKind::Lowpass]);
    assert_eq!(lead.modules[0].value(osc::WAVEFORM), 2.0);
    assert_eq!(lead.modules[1].value(env::MODE), 1.0);
    assert_eq!(lead.gain_db, -3.0);
    let notes = lead.notes.as_ref().unwrap();
    assert_eq!((notes.steps, notes.notes.len()), (8, 3));
    assert_eq!((notes.notes[2].pitch, notes.notes[2].length_steps), (67, 2.0));
    let lane = &lead.lanes[0];
    assert_eq!((lane.module.as_str(), lane.parameter.as_str()), ("lowpass", "cutoff_hz"));
    assert_eq!(lane.options.curve, Curve::Exp(2.0));
    assert_eq!(lane.points[1].beat, 4.5, "bar 2 beat 2.5 in 3/4");
    // The sampler: custom-named low-pass, family defaults, layers split for keys.
    let keys = spec.instrument("keys").unwrap();
    assert_eq!(keys.params.modules[1].kind, ModuleKind::Lowpass);
    assert_eq!(keys.params.modules[1].name, "soft");
    let sampler = &keys.params.modules[0];
    assert_eq!(sampler.value(smp::VELOCITY_CROSSFADE_WIDTH), 8.0);
    assert_eq!(sampler.value(smp::INSTRUMENT_FAMILY), 2.0);
    let splits: Vec<(u8, u8)> = keys.params.layers.iter().map(|l| (l.min_velocity, l.max_velocity)).collect();
    assert_eq!(splits, [(1, 100), (101, 127)]);
    assert_eq!(
        keys.sources,
        [AudioRef::File("audio/soft.wav".into()), AudioRef::Artifact("kit.demo/snare.wav".into())]
    );
    let drum = keys.params.notes.as_ref().unwrap();
    assert_eq!(drum.notes.iter().map(|n| (n.pitch, n.velocity)).collect::<Vec<_>>(), [(48, 102), (48, 127)]);
    assert_eq!(keys.params.lanes[0].module, "mix");
    assert_eq!(spec.master, MasterParams { target_lufs: Some(-18.0), true_peak_dbtp: -1.0 });
    // Bars default to what the content needs: the lane's last point at beat 4.5 → bar 2.
    assert_eq!(spec.timing.bars, 5, "the meter change at bar 5 brings bar 5 in");
    assert!(spec.timing().is_some());
}

#[test]
fn reports_every_problem_with_file_line_and_key() {
    let bad = r#"
[song.b]
bpm = 500

[[song.b.tempo]]
at = "2:1"
bpm = 90

[[song.b.tempo]]
at = 1
bpm = 80

[song.b.instrument.lead]
modules = ["envelope", "oscilator"]
notes = "C4 . H4 ."
[song.b.instrument.lead.envelope]
atack_ms = 5

[song.b.instrument.pad]
modules = ["sampler"]
[song.b.instrument.pad.sampler]
source = "../outside.wav"

[song.b.instrument.hit]
modules = ["sampler"]
pattern = "x..."
[song.b.instrument.hit.sampler]
source = "textures.demoo/organ/pads/organ_pad01.wav"

[song.b.instrument.tone]
modules = ["oscillator"]
notes = "C4"

[song.b.automation]
"tone.oscillator.frequency_hz|raw" = [[0, 440]]
"tone.oscillator.detune_cent|raw" = [[0, 1]]
"tone.oscillator.amplitude" = [[2, 0.5], [1, 0.2], [3, 1.5]]
"tone.oscilator.amplitude" = [[0, 0.5]]
"tone.oscillator.waveform" = [[0, 1]]
"ghost.oscillator.amplitude" = [[0, 1]]
"#;
    let (_, diags) = read_text(bad, &declared());
    let text: Vec<String> = diags.iter().map(ToString::to_string).collect();
    let has = |key: &str, needle: &str| {
        assert!(
            diags
                .iter()
                .any(|d| d.key == key && d.message.contains(needle) && d.line.is_some() && d.file == "recipes/a.toml"),
            "no `{needle}` at {key} in:\n{}",
            text.join("\n")
        )
    };
    has("song.b.bpm", "allowed 20 to 400");
    has("song.b.tempo[1].at", "not after the previous change");
    has("song.b.instrument.lead.modules", "did you mean `oscillator`");
    has("song.b.instrument.lead.modules", "the first module makes the sound");
    has("song.b.instrument.lead.notes", "`H4` is not a note");
    has("song.b.instrument.lead.envelope.atack_ms", "did you mean `attack_ms`");
    has("song.b.instrument.pad.sampler.source", "leaves the project directory");
    has("song.b.instrument.hit.sampler.source", "did you mean `textures.demo`");
    has("song.b.automation.tone.oscillator.frequency_hz|raw", "the notes set this oscillator's pitch");
    has("song.b.automation.tone.oscillator.detune_cent|raw", "did you mean `detune_cents`");
    has("song.b.automation.tone.oscillator.amplitude[1]", "out of order");
    has("song.b.automation.tone.oscillator.amplitude[2]", "1.5 is out of range: allowed 0 to 1");
    has("song.b.automation.tone.oscilator.amplitude", "has no module `oscilator` (did you mean `oscillator`?)");
    has("song.b.automation.tone.oscillator.waveform", "not automatable");
    has("song.b.automation.ghost.oscillator.amplitude", "no instrument `ghost`");
    // Reported at the point's own line.
    let d = diags.iter().find(|d| d.key.ends_with("amplitude[2]")).unwrap();
    assert_eq!(d.line, Some(37));
    assert_eq!(diags.len(), 15, "{}", text.join("\n"));
}

#[test]
fn smaller_checks() {
    let cases: [(&str, &str, &str); 9] = [
        ("[song.c.instrument.x]\nnotes = \"C4\"", "song.c.instrument.x.modules", "needs a chain"),
        ("[song.c.instrument.x.sampler]\nloop = true", "song.c.instrument.x.sampler.source", "missing"),
        (
            "[song.c.instrument.x.oscillator]\nwaveform = \"sinus\"",
            "song.c.instrument.x.oscillator.waveform",
            "did you mean `sine`",
        ),
        (
            "[song.c.instrument.x]\nmodules = [\"oscillator\"]\nnotes = \"C4\"\npattern = \"x\"\n[song.c.instrument.x.oscillator]",
            "song.c.instrument.x.pattern",
            "not both",
        ),
        ("[song.c]\nmeter = \"4/5\"\n[song.c.instrument.x.oscillator]", "song.c.meter", "not a meter"),
        (
            "[[song.c.tempo]]\nat = 4\nmeter = \"3/4\"\n[song.c.instrument.x.oscillator]",
            "song.c.tempo[0].meter",
            "\"BAR:1\"",
        ),
        (
            "[song.c.instrument.x.oscillator]\n[song.c.automation]\n\"x.oscillator.amplitude|smooth=5ms:2\" = [[0, 1]]",
            "song.c.automation.x.oscillator.amplitude|smooth=5ms:2",
            "segments",
        ),
        (
            "[song.c.instrument.x.oscillator]\n[song.c.automation]\n\"x.oscillator.amplitude\" = [[\"2:5\", 1]]",
            "song.c.automation.x.oscillator.amplitude[0]",
            "bar 2 has 4 beats",
        ),
        (
            "[song.c.instrument.x.oscillator]\n[song.c.master]\ntarget_lufs = 3",
            "song.c.master.target_lufs",
            "allowed -60 to 0 LUFS",
        ),
    ];
    for (text, key, needle) in cases {
        let (_, diags) = read_text(text, &declared());
        assert!(
            diags.iter().any(|d| d.key == key && d.message.contains(needle)),
            "{text}\nwant `{needle}` at {key}, got {diags:#?}"
        );
    }
    // A path that merely looks like an undeclared target of an unknown kind is a file.
    let (spec, diags) = read_text("[song.c.instrument.x.sampler]\nsource = \"drums.v2/kick.wav\"", &declared());
    assert!(diags.is_empty(), "{diags:?}");
    assert_eq!(spec.instruments[0].sources, [AudioRef::File("drums.v2/kick.wav".into())]);
    assert_eq!(spec.instruments[0].source_keys, ["song.c.instrument.x.sampler.source"]);
}

#[test]
fn the_demo_arrangement_is_valid_and_uses_every_feature() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("recipes/arrangement.toml");
    let text = std::fs::read_to_string(path).expect("the demo arrangement recipe");
    let (spec, diags) = read_text(&text, &declared());
    assert!(diags.is_empty(), "{diags:#?}");
    let kinds: BTreeSet<ModuleKind> =
        spec.instruments.iter().flat_map(|i| i.params.modules.iter().map(|m| m.kind)).collect();
    assert_eq!(kinds.len(), ModuleKind::ALL.len(), "every module kind is used");
    let sources: Vec<&AudioRef> = spec.instruments.iter().flat_map(|i| &i.sources).collect();
    assert!(sources.contains(&&AudioRef::Artifact("textures.demo/organ/pads/organ_pad01.wav".into())));
    assert!(sources.contains(&&AudioRef::Artifact("kit.demo/snare.wav".into())));
    assert!(!spec.timing.tempo.changes.is_empty(), "a tempo change");
    assert!(spec.timing.tempo.changes.iter().any(|c| c.ramp), "a tempo ramp");
    let curves: Vec<Curve> =
        spec.instruments.iter().flat_map(|i| i.params.lanes.iter().map(|l| l.options.curve)).collect();
    for want in ["Linear", "Exp", "Log", "SCurve"] {
        assert!(curves.iter().any(|c| format!("{c:?}").starts_with(want)), "a lane with curve {want}: {curves:?}");
    }
    assert!(spec.instruments.iter().any(|i| i.params.layers.len() > 1), "velocity layers");
    let timing = spec.timing().expect("a valid time frame");
    assert!(timing.duration_s() > 20.0 && timing.duration_s() < 60.0, "{}", timing.duration_s());
}
