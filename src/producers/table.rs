//! Columns and the merged sidecar table (`T × C` float32, row-major) with its norm statistics.

use serde::Serialize;

/// One named column of `T` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// One value per frame.
    pub values: Vec<f32>,
}

impl Column {
    /// A column from a name and values.
    pub fn new(name: impl Into<String>, values: Vec<f32>) -> Column {
        Column { name: name.into(), values }
    }
}

/// Per-column statistics, as stored under `norm` in the `.cond.json`.
///
/// Computed in float64 over the float32 values, in frame order: `mean`, population `std`
/// (ddof = 0, numpy's default), `min`, `max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NormStats {
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation, `sqrt(mean((x − mean)²))`.
    pub std: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

impl NormStats {
    /// Statistics of `values` (all zero for an empty slice).
    ///
    /// ```
    /// let s = ntsbuild::producers::NormStats::of(&[1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!((s.mean, s.min, s.max), (2.5, 1.0, 4.0));
    /// assert!((s.std - 1.118_033_988_749_895).abs() < 1e-15);
    /// ```
    pub fn of(values: &[f32]) -> NormStats {
        Self::of_iter(values.iter().map(|&v| f64::from(v)), values.len())
    }

    /// Statistics of `n` values given by an iterator that can be walked twice.
    pub fn of_iter(values: impl Iterator<Item = f64> + Clone, n: usize) -> NormStats {
        if n == 0 {
            return NormStats { mean: 0.0, std: 0.0, min: 0.0, max: 0.0 };
        }
        let (mut sum, mut min, mut max) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY);
        for v in values.clone() {
            sum += v;
            min = min.min(v);
            max = max.max(v);
        }
        let mean = sum / n as f64;
        let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        NormStats { mean, std: var.sqrt(), min, max }
    }
}

/// A merged sidecar for one source.
#[derive(Debug, Clone, PartialEq)]
pub struct SidecarTable {
    /// Frames per second of the grid.
    pub fps: f64,
    /// `T`, the number of frames (rows).
    pub frames: usize,
    /// Column names in order (`C` of them).
    pub names: Vec<String>,
    /// `T × C` values, row-major (frame-major): value of column `c` at frame `t` is `data[t·C + c]`.
    pub data: Vec<f32>,
    /// Per column, the producer that won it (`producers[2] lin`), for `-v`.
    pub winners: Vec<String>,
}

impl SidecarTable {
    /// Number of columns.
    pub fn column_count(&self) -> usize {
        self.names.len()
    }

    /// Column `c` as a vector (a copy).
    pub fn column(&self, c: usize) -> Vec<f32> {
        let cols = self.column_count();
        (0..self.frames).map(|t| self.data[t * cols + c]).collect()
    }

    /// Column `name`, if present.
    pub fn column_named(&self, name: &str) -> Option<Vec<f32>> {
        self.names.iter().position(|n| n == name).map(|c| self.column(c))
    }

    /// Norm statistics per column, in column order.
    pub fn norms(&self) -> Vec<NormStats> {
        let cols = self.column_count();
        (0..cols)
            .map(|c| NormStats::of_iter((0..self.frames).map(move |t| f64::from(self.data[t * cols + c])), self.frames))
            .collect()
    }
}
