//! What `ntsbuild list --producers` shows about the built-in producers: each kind, what it
//! makes, and its settings (one table, also checked against `docs/producers.md`).

use serde::Serialize;

/// One setting of a built-in producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SettingInfo {
    /// Key inside the producer's inline table.
    pub key: &'static str,
    /// The value's shape, e.g. `{ NAME = number }`.
    pub value: &'static str,
    /// Default, or `required`.
    pub default: &'static str,
    /// What it does.
    pub description: &'static str,
}

/// One built-in producer kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BuiltinInfo {
    /// `kind = "…"` in a recipe.
    pub kind: &'static str,
    /// What it produces.
    pub summary: &'static str,
    /// Its settings.
    pub settings: &'static [SettingInfo],
}

/// Every built-in producer, in documentation order.
pub const BUILTINS: &[BuiltinInfo] = &[
    BuiltinInfo {
        kind: "const",
        summary: "a column holding one value in every frame (numpy.full)",
        settings: &[SettingInfo {
            key: "values",
            value: "{ NAME = number, … }",
            default: "required",
            description: "column name → value",
        }],
    },
    BuiltinInfo {
        kind: "lin",
        summary: "a linear ramp over the source (numpy.linspace(start, end, T); T = 1 gives [start])",
        settings: &[SettingInfo {
            key: "values",
            value: "{ NAME = [start, end] or \"start:end\", … }",
            default: "required",
            description: "column name → ramp ends",
        }],
    },
    BuiltinInfo {
        kind: "from_filename",
        summary: "columns parsed from the source's file name: every match of a regex with groups `name` and `value`",
        settings: &[
            SettingInfo {
                key: "pattern",
                value: "regex",
                default: r"_(?P<name>[A-Za-z]\w*)_(?P<value>-?\d+(?:\.\d+)?)",
                description: "groups `name` (the column) and `value` (a number); every match counts, a later one wins",
            },
            SettingInfo {
                key: "defaults",
                value: "{ NAME = number, … }",
                default: "{}",
                description: "columns every source gets; a match overrides; with none, a name without a match is an error",
            },
        ],
    },
    BuiltinInfo {
        kind: "audio",
        summary: "columns computed from the source's audio on the grid",
        settings: &[SettingInfo {
            key: "columns",
            value: "[word, …]",
            default: "required",
            description: "rms_db (the seed's per-frame level), rms, centroid, flatness, onset, mfcc (all 13) or mfcc0 … mfcc12, all",
        }],
    },
];

/// The settings every `{ plugin = "NAME" }` entry takes.
pub const PLUGIN_USE_SETTINGS: &[SettingInfo] = &[
    SettingInfo {
        key: "plugin",
        value: "name",
        default: "required",
        description: "a producer declared as [producer.NAME] in Project.toml",
    },
    SettingInfo {
        key: "settings",
        value: "table",
        default: "{}",
        description: "laid over the declaration's settings (top-level keys) and passed to the command",
    },
];
