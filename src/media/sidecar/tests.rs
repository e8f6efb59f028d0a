//! Sidecar pairs: round trips, determinism, and audits of broken pairs (ours and the seed's).

use super::*;
use crate::producers::{Grid, ProducerParams, SidecarTable};

fn table() -> SidecarTable {
    // T = 4, C = 2: `gain` ramps, `scene` is constant.
    SidecarTable {
        fps: 75.0,
        frames: 4,
        names: vec!["gain".into(), "scene".into()],
        data: vec![0.0, 7.0, 1.0 / 3.0, 7.0, 2.0 / 3.0, 7.0, 1.0, 7.0],
        winners: vec![String::new(); 2],
    }
}

fn producers() -> Vec<ProducerParams> {
    vec![ProducerParams::Const { values: [("scene".to_string(), 7.0)].into() }]
}

fn pair() -> SidecarPair {
    encode_pair(&table(), &Grid::Fps { fps: 75.0 }, "ab12", &producers()).unwrap()
}

fn codes(problems: &[Problem]) -> Vec<&'static str> {
    problems.iter().map(|p| p.code).collect()
}

fn edit_json(json: &[u8], f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(json).unwrap();
    f(v.as_object_mut().unwrap());
    serde_json::to_vec(&v).unwrap()
}

/// A float16 `.npy` of `shape` (what the seed writes by default).
fn npy_f16(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let f32_bytes = write_npy("x", NpyView::F32 { shape, data: values }).unwrap();
    let header_len = f32_bytes.len() - 4 * values.len();
    let mut out = f32_bytes[..header_len].to_vec();
    let at = out.windows(3).position(|w| w == b"<f4").unwrap();
    out[at..at + 3].copy_from_slice(b"<f2");
    for v in values {
        out.extend_from_slice(&half::f16::from_f32(*v).to_le_bytes());
    }
    out
}

#[test]
fn pair_round_trips_and_audits_clean() {
    let p = pair();
    assert!(
        audit_pair(&p.npy, &p.json, Some((4.0 / 75.0, 75.0))).is_empty(),
        "{:?}",
        audit_pair(&p.npy, &p.json, None)
    );
    let back = decode_pair(&p.npy, &p.json).unwrap();
    assert_eq!((back.frames, back.fps, &back.names, &back.data), (4, 75.0, &table().names, &table().data));
    // numpy reads the .npy as float32 T × C.
    let header = String::from_utf8_lossy(&p.npy[10..80]).to_string();
    assert!(header.contains("'descr': '<f4'") && header.contains("'shape': (4, 2)"), "{header}");
}

#[test]
fn json_has_the_documented_keys_in_a_fixed_order() {
    let p = pair();
    let text = String::from_utf8(p.json.clone()).unwrap();
    let order: Vec<usize> =
        ["schema_version", "fps", "\"T\"", "names", "norm", "source_blake3", "npy_blake3", "grid", "producers"]
            .iter()
            .map(|k| text.find(k).unwrap_or_else(|| panic!("{k} missing in {text}")))
            .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["T"], 4);
    assert_eq!(v["norm"]["scene"]["std"], 0.0);
    assert_eq!(v["norm"]["gain"]["max"], 1.0);
    assert_eq!(v["npy_blake3"], blake3::hash(&p.npy).to_hex().as_str());
    assert_eq!(v["producers"][0]["kind"], "const");
    // Same inputs, same bytes.
    assert_eq!(pair(), p);
}

#[test]
fn truncated_or_corrupt_npy_is_reported_never_a_panic() {
    let p = pair();
    for len in 0..p.npy.len() {
        let problems = audit_pair(&p.npy[..len], &p.json, None);
        assert!(!problems.is_empty(), "truncated to {len} bytes passed");
        assert!(problems.iter().any(|q| q.severity == Severity::Error));
    }
    // Flip every byte in turn: never a panic; header damage is reported, and any data damage
    // is caught by the digest.
    for i in 0..p.npy.len() {
        let mut npy = p.npy.clone();
        npy[i] ^= 0x5a;
        let problems = audit_pair(&npy, &p.json, None);
        assert!(!problems.is_empty(), "a flip at byte {i} passed");
    }
    assert_eq!(codes(&audit_pair(b"not numpy", &p.json, None))[0], "bad_npy");
}

#[test]
fn garbage_json_is_reported() {
    let p = pair();
    for junk in [&b""[..], b"{", b"[1, 2]", b"{\"fps\": NaN}", b"\xff\xfe"] {
        let problems = audit_pair(&p.npy, junk, None);
        assert_eq!(codes(&problems), ["bad_json"], "{junk:?}: {problems:?}");
    }
    // Every prefix of the JSON: no panic, never clean.
    for len in 0..p.json.len() - 1 {
        assert!(!audit_pair(&p.npy, &p.json[..len], None).is_empty());
    }
}

#[test]
fn each_missing_key_is_one_line() {
    let p = pair();
    for key in ["fps", "T", "names", "norm", "source_blake3", "producers", "npy_blake3"] {
        let json = edit_json(&p.json, |m| {
            m.remove(key);
        });
        let problems = audit_pair(&p.npy, &json, None);
        assert!(problems.iter().any(|q| q.code == "missing_key" && q.message.starts_with(key)), "{key}: {problems:?}");
    }
    let json = edit_json(&p.json, |m| {
        m.insert("schema_version".into(), 9.into());
    });
    assert_eq!(codes(&audit_pair(&p.npy, &json, None)), ["unknown_schema"]);
}

#[test]
fn wrong_shapes_and_names_are_caught() {
    let p = pair();
    // A 1-D array.
    let flat = write_npy("x", NpyView::F32 { shape: &[8], data: &table().data }).unwrap();
    assert!(codes(&audit_pair(&flat, &p.json, None)).contains(&"bad_shape"));
    // Three columns for two names.
    let wide = write_npy("x", NpyView::F32 { shape: &[2, 4], data: &table().data }).unwrap();
    let c = codes(&audit_pair(&wide, &p.json, None));
    assert!(c.contains(&"names_length_mismatch") && c.contains(&"frame_mismatch"), "{c:?}");
    // Duplicate names.
    let json = edit_json(&p.json, |m| {
        m.insert("names".into(), serde_json::json!(["gain", "gain"]));
    });
    assert!(codes(&audit_pair(&p.npy, &json, None)).contains(&"duplicate_names"));
    // Integers are not a sidecar.
    let ints = write_npy("x", NpyView::I64 { shape: &[4, 2], data: &[0; 8] }).unwrap();
    assert!(codes(&audit_pair(&ints, &p.json, None)).contains(&"bad_dtype"));
}

#[test]
fn nan_values_and_wrong_norms_are_caught() {
    let mut t = table();
    t.data[5] = f32::NAN;
    let npy = write_npy("x", NpyView::F32 { shape: &[4, 2], data: &t.data }).unwrap();
    let json = edit_json(&pair().json, |m| {
        m.insert("npy_blake3".into(), blake3::hash(&npy).to_hex().as_str().into());
    });
    let problems = audit_pair(&npy, &json, None);
    assert_eq!(codes(&problems), ["non_finite"], "{problems:?}");
    assert_eq!(problems[0].to_string(), "error[non_finite]: column `scene` is NaN at frame 2");

    let json = edit_json(&pair().json, |m| {
        m["norm"]["gain"]["mean"] = 0.6.into();
    });
    let problems = audit_pair(&pair().npy, &json, None);
    assert_eq!(codes(&problems), ["norm_mismatch"]);
    assert!(problems[0].message.contains("column `gain`: stored mean 0.6 (data: 0.5"), "{}", problems[0]);
}

#[test]
fn alignment_and_digest_are_checked() {
    let p = pair();
    // 4 frames at 75 fps cover (3/75, 4/75] seconds.
    assert!(audit_pair(&p.npy, &p.json, Some((3.5 / 75.0, 75.0))).is_empty());
    let c = audit_pair(&p.npy, &p.json, Some((5.0 / 75.0, 75.0)));
    assert_eq!(codes(&c), ["misaligned"]);
    assert!(c[0].message.contains("needs ceil(duration · fps) = 5"), "{}", c[0]);
    assert!(codes(&audit_pair(&p.npy, &p.json, Some((4.0 / 50.0, 50.0)))).contains(&"fps_mismatch"));
    // An .npy from another build beside this .json.
    let mut other = table();
    other.data[0] = 0.25;
    let other = encode_pair(&other, &Grid::Fps { fps: 75.0 }, "ab12", &producers()).unwrap();
    let c = codes(&audit_pair(&other.npy, &p.json, None));
    assert!(c.contains(&"npy_digest_mismatch"), "{c:?}");
    assert!(decode_pair(&other.npy, &p.json).is_err());
}

#[test]
fn seed_format_pairs_are_audited_on_their_own_terms() {
    // The seed writes float16 T × C, schema 1, norm as per-statistic lists computed from the
    // float32 values before rounding.
    let t = table();
    let npy = npy_f16(&[4, 2], &t.data);
    let json = serde_json::json!({
        "schema_version": 1, "fps": 75, "names": ["gain", "scene"], "source_rate": 75,
        "norm": {"mean": [0.5, 7.0], "std": [0.37267799624996495, 0.0], "min": [0.0, 7.0], "max": [1.0, 7.0]}
    });
    let json = serde_json::to_vec(&json).unwrap();
    let problems = audit_pair(&npy, &json, Some((4.0 / 75.0, 75.0)));
    assert!(problems.is_empty(), "{problems:?}");
    let back = decode_pair(&npy, &json).unwrap();
    assert_eq!(back.names, ["gain", "scene"]);
    assert!((back.data[2] - 1.0 / 3.0).abs() < 1e-3);
    // Its skeleton: empty lists for columns that exist are a warning; short lists an error.
    let empty = serde_json::json!({"schema_version": 1, "fps": 75, "names": ["gain", "scene"],
        "norm": {"mean": [], "std": [], "min": [], "max": []}});
    let problems = audit_pair(&npy, &serde_json::to_vec(&empty).unwrap(), None);
    assert_eq!(
        problems.iter().map(|p| (p.code, p.severity)).collect::<Vec<_>>(),
        [("norm_missing", Severity::Warning)]
    );
    let short = serde_json::json!({"schema_version": 1, "fps": 75, "names": ["gain", "scene"],
        "norm": {"mean": [0.5], "std": [0.3], "min": [0.0], "max": [1.0]}});
    assert_eq!(codes(&audit_pair(&npy, &serde_json::to_vec(&short).unwrap(), None)), ["norm_length_mismatch"]);
}

#[test]
fn files_are_found_from_either_side_including_the_seed_naming() {
    let dir = tempfile::tempdir().unwrap();
    let p = pair();
    std::fs::write(dir.path().join("a.cond.npy"), &p.npy).unwrap();
    std::fs::write(dir.path().join("a.cond.json"), &p.json).unwrap();
    let (paths, problems) = audit_files(&dir.path().join("a.cond.json"), None);
    assert_eq!(paths.npy, dir.path().join("a.cond.npy"));
    assert!(problems.is_empty(), "{problems:?}");

    // The seed's runner: x.cond.npy + x.cond.cond.json.
    std::fs::write(dir.path().join("b.cond.npy"), &p.npy).unwrap();
    std::fs::write(dir.path().join("b.cond.cond.json"), &p.json).unwrap();
    let (paths, problems) = audit_files(&dir.path().join("b.cond.npy"), None);
    assert_eq!(paths.json, Some(dir.path().join("b.cond.cond.json")));
    assert_eq!(codes(&problems), ["seed_naming"]);
    assert_eq!(problems[0].severity, Severity::Warning);

    // Half a pair.
    std::fs::write(dir.path().join("c.cond.npy"), &p.npy).unwrap();
    assert_eq!(codes(&audit_files(&dir.path().join("c.cond.npy"), None).1), ["missing_json"]);
    std::fs::write(dir.path().join("d.cond.json"), &p.json).unwrap();
    assert_eq!(codes(&audit_files(&dir.path().join("d.cond.json"), None).1), ["missing_npy"]);

    let found = find_sidecars(dir.path()).unwrap();
    let names: Vec<String> = found.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["a.cond.npy", "b.cond.npy", "c.cond.npy", "d.cond.json"]);
}
