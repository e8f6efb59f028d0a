//! Rewrites a model's graph before tract loads it, so tract runs it fast; ONNX Runtime gets the
//! model as it is.
//!
//! Two rewrites, each measured on `models/decoder.onnx` at 256² (`benches/decoder.rs`):
//! - **Fixed batch.** A dynamic batch dimension (a `dim_param`) on the `latent` input, and the
//!   same symbol elsewhere, becomes 1: tract optimises a graph with known shapes far better
//!   (1×1 convolutions become plain matrix products; 75 → 42 ms per frame), and the decoder
//!   then runs one latent per model run, which is also what tract runs fastest.
//! - **Sine as a polynomial.** tract evaluates `Sin` one value at a time through the C library
//!   (≈ 12 ns a value, 40 % of the decoder's time); here each `Sin(x)` becomes
//!   `t = x/2π`, `f = t − round(t)` (rounding by adding and subtracting 1.5·2^23, exact for
//!   |t| < 2^22), `sin(2πf) ≈ f·P(f²)` with a degree-11 odd minimax polynomial — element-wise
//!   `Mul`/`Add`/`Sub` that tract runs vectorised and fuses. Error: ≤ 1e-6 for the polynomial
//!   plus `|x|·6e-8` from rounding `x/2π` to f32 (below 2.5e-6 for |x| < 25, this decoder's
//!   range). Only done when every graph input is float32 and the graph has no `Cast`, so every
//!   `Sin` runs on float32 values.
//!
//! Both keep the model's function; the decoder tests bound the difference. A model that cannot
//! be parsed is left alone (loading it reports the problem).

use prost::Message;
use tract_onnx::pb::tensor_proto::DataType;
use tract_onnx::pb::tensor_shape_proto::dimension::Value as Dim;
use tract_onnx::pb::type_proto::Value as TypeValue;
use tract_onnx::pb::{GraphProto, ModelProto, NodeProto, TensorProto, ValueInfoProto};

use super::interface::{INPUT_NAME, Port};

/// `sin(2πf)` on f ∈ [−0.5, 0.5] as `f·(c1 + c3·f² + … + c11·f¹⁰)` (max error 8e-7 in f32).
const SIN_COEFFS: [f32; 6] = crate::dsp::approx::SIN_TURNS;
/// Adding then subtracting this rounds an f32 of magnitude < 2^22 to the nearest integer.
const ROUND_MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23

/// A model decoded once: its declared inputs and outputs, and the rewritten bytes for tract.
pub(crate) struct ParsedModel {
    model: ModelProto,
}

/// What [`ParsedModel::for_tract`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Rewrites {
    /// The dynamic batch dimension was fixed to 1.
    pub fixed_batch: bool,
    /// `Sin` nodes replaced by the polynomial.
    pub sines: usize,
}

impl ParsedModel {
    /// Parses ONNX protobuf bytes (`None` when they are not a model).
    pub(crate) fn parse(bytes: &[u8]) -> Option<Self> {
        let model = ModelProto::decode(bytes).ok()?;
        model.graph.as_ref()?;
        Some(Self { model })
    }

    /// The graph's declared inputs (initializers excluded) and outputs.
    pub(crate) fn ports(&self) -> (Vec<Port>, Vec<Port>) {
        let Some(graph) = self.model.graph.as_ref() else { return (Vec::new(), Vec::new()) };
        let initializers: Vec<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
        let inputs = graph.input.iter().filter(|i| !initializers.contains(&i.name.as_str())).map(port).collect();
        (inputs, graph.output.iter().map(port).collect())
    }

    /// The model with both rewrites applied where they apply, and what changed.
    pub(crate) fn for_tract(mut self) -> (Vec<u8>, Rewrites) {
        let mut rewrites = Rewrites::default();
        if let Some(graph) = self.model.graph.as_mut() {
            rewrites.fixed_batch = fix_batch(graph);
            if all_float32(graph) {
                rewrites.sines = lower_sines(graph);
            }
        }
        (self.model.encode_to_vec(), rewrites)
    }
}

fn port(info: &ValueInfoProto) -> Port {
    let tensor = match info.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(TypeValue::TensorType(t)) => t,
        None => return Port { name: info.name.clone(), element: "not a tensor".to_string(), dims: Vec::new() },
    };
    let element = match DataType::try_from(tensor.elem_type) {
        Ok(DataType::Float) => "float32".to_string(),
        Ok(DataType::Float16) => "float16".to_string(),
        Ok(DataType::Double) => "float64".to_string(),
        Ok(DataType::Bfloat16) => "bfloat16".to_string(),
        Ok(other) => other.as_str_name().to_ascii_lowercase(),
        Err(_) => format!("type {}", tensor.elem_type),
    };
    let dims = tensor
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(Dim::DimValue(v)) if v >= 0 => Some(v as usize),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Port { name: info.name.clone(), element, dims }
}

/// The dims of a value's tensor type, if it has a shape.
fn dims_mut(info: &mut ValueInfoProto) -> Option<&mut Vec<tract_onnx::pb::tensor_shape_proto::Dimension>> {
    match info.r#type.as_mut()?.value.as_mut()? {
        TypeValue::TensorType(t) => t.shape.as_mut().map(|s| &mut s.dim),
    }
}

/// Sets a dynamic first dimension of the `latent` input to 1, and that symbol everywhere it is
/// declared, plus a dynamic first dimension of every output (the interface ties it to the
/// input's). True when something changed.
fn fix_batch(graph: &mut GraphProto) -> bool {
    let Some(input) = graph.input.iter_mut().find(|i| i.name == INPUT_NAME) else { return false };
    let symbol = match dims_mut(input).and_then(|d| d.first_mut()) {
        Some(first) => match &first.value {
            Some(Dim::DimValue(_)) => return false,
            Some(Dim::DimParam(p)) => {
                let p = p.clone();
                first.value = Some(Dim::DimValue(1));
                Some(p)
            }
            None => {
                first.value = Some(Dim::DimValue(1));
                None
            }
        },
        None => return false,
    };
    let same_symbol = |d: &tract_onnx::pb::tensor_shape_proto::Dimension| matches!((&d.value, &symbol), (Some(Dim::DimParam(p)), Some(s)) if p == s);
    for info in graph.input.iter_mut().chain(graph.value_info.iter_mut()) {
        if let Some(dims) = dims_mut(info) {
            for d in dims.iter_mut().filter(|d| same_symbol(d)) {
                d.value = Some(Dim::DimValue(1));
            }
        }
    }
    for out in graph.output.iter_mut() {
        if let Some(first) = dims_mut(out).and_then(|d| d.first_mut())
            && !matches!(first.value, Some(Dim::DimValue(_)))
        {
            first.value = Some(Dim::DimValue(1));
        }
    }
    true
}

/// Every graph input is float32 and nothing casts: every value in the graph is float32.
fn all_float32(graph: &GraphProto) -> bool {
    let float = DataType::Float as i32;
    let inputs_float = graph.input.iter().all(|i| match i.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(TypeValue::TensorType(t)) => t.elem_type == float,
        None => false,
    });
    let initializers_float = graph.initializer.iter().all(|t| t.data_type == float);
    inputs_float && initializers_float && !graph.node.iter().any(|n| n.op_type == "Cast")
}

fn scalar(name: &str, value: f32) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        data_type: DataType::Float as i32,
        float_data: vec![value],
        ..Default::default()
    }
}

fn node(op: &str, inputs: &[&str], output: &str) -> NodeProto {
    NodeProto {
        op_type: op.to_string(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.to_string()],
        name: output.to_string(),
        ..Default::default()
    }
}

/// Replaces each top-level `Sin` (default domain) by the polynomial; returns how many.
fn lower_sines(graph: &mut GraphProto) -> usize {
    let is_sin = |n: &NodeProto| n.op_type == "Sin" && (n.domain.is_empty() || n.domain == "ai.onnx");
    let count = graph.node.iter().filter(|n| is_sin(n)).count();
    if count == 0 {
        return 0;
    }
    let prefix = "ntsbuild_sin";
    let k = |name: &str| format!("{prefix}_{name}");
    graph.initializer.push(scalar(&k("inv_2pi"), 1.0 / std::f32::consts::TAU));
    graph.initializer.push(scalar(&k("magic"), ROUND_MAGIC));
    for (i, c) in SIN_COEFFS.iter().enumerate() {
        graph.initializer.push(scalar(&k(&format!("c{}", 2 * i + 1)), *c));
    }
    let nodes = std::mem::take(&mut graph.node);
    for (index, n) in nodes.into_iter().enumerate() {
        if !is_sin(&n) || n.input.len() != 1 || n.output.len() != 1 {
            graph.node.push(n);
            continue;
        }
        let v = |name: &str| format!("{prefix}{index}_{name}");
        let (x, y) = (n.input[0].clone(), n.output[0].clone());
        let (turns, shifted, whole, frac, frac2) = (v("turns"), v("shifted"), v("whole"), v("frac"), v("frac2"));
        graph.node.push(node("Mul", &[&x, &k("inv_2pi")], &turns));
        graph.node.push(node("Add", &[&turns, &k("magic")], &shifted));
        graph.node.push(node("Sub", &[&shifted, &k("magic")], &whole));
        graph.node.push(node("Sub", &[&turns, &whole], &frac));
        graph.node.push(node("Mul", &[&frac, &frac], &frac2));
        // Horner from the highest coefficient: p = c11; p = p·f² + c(2j+1) for j = 4..0.
        let mut acc = k("c11");
        for j in (0..5).rev() {
            let (mul, add) = (v(&format!("m{j}")), v(&format!("p{j}")));
            graph.node.push(node("Mul", &[&acc, &frac2], &mul));
            graph.node.push(node("Add", &[&mul, &k(&format!("c{}", 2 * j + 1))], &add));
            acc = add;
        }
        graph.node.push(node("Mul", &[&acc, &frac], &y));
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_polynomial_is_within_a_millionth_of_sine() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 1.25e-4; // ±25 rad
            let turns = x * (1.0 / std::f32::consts::TAU);
            let whole = (turns + ROUND_MAGIC) - ROUND_MAGIC;
            let f = turns - whole;
            let f2 = f * f;
            let mut p = SIN_COEFFS[5];
            for c in SIN_COEFFS[..5].iter().rev() {
                p = p * f2 + c;
            }
            worst = worst.max((f64::from(p * f) - f64::from(x).sin()).abs());
        }
        assert!(worst < 2.5e-6, "max error {worst}");
    }
}
