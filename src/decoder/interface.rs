//! Checks a model's declared inputs and outputs against the decoder interface.
//!
//! Input `latent` float32 `[batch, 8, 16, 16]` (batch dynamic or fixed), output `image` float32
//! `[batch, 3, height, width]` with the same batch dimension. Dimensions a model leaves dynamic
//! are `None`; a dynamic height or width is found by a probe run after loading.

use super::error::DecoderError;

/// The latent shape without the batch dimension.
pub const LATENT_SHAPE: [usize; 3] = [8, 16, 16];
/// Values in one latent (8 × 16 × 16).
pub const LATENT_LEN: usize = 2048;
/// The input name every decoder model must use.
pub const INPUT_NAME: &str = "latent";
/// The output name every decoder model must use.
pub const OUTPUT_NAME: &str = "image";

/// One declared model input or output, as the backend reports it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Port {
    pub name: String,
    /// Element type as ONNX names it ("float32", "float16", "float64", ...), or "not a tensor".
    pub element: String,
    /// Declared dimensions; `None` for a dynamic (symbolic) one.
    pub dims: Vec<Option<usize>>,
}

/// What the checked interface tells about a model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Interface {
    /// "fp32", derived from the input element type.
    pub precision: String,
    pub fixed_batch: Option<usize>,
    pub height: Option<usize>,
    pub width: Option<usize>,
}

/// Checks `inputs`/`outputs` and reports every mismatch in one error per side.
pub(crate) fn check(inputs: &[Port], outputs: &[Port]) -> Result<Interface, DecoderError> {
    let input = match inputs {
        [one] => one,
        _ => {
            return Err(DecoderError::Input {
                problem: format!("the model has {} inputs ({})", inputs.len(), names(inputs)),
            });
        }
    };
    let mut problems = Vec::new();
    if input.name != INPUT_NAME {
        problems.push(format!("it is named `{}`", input.name));
    }
    let precision = match input.element.as_str() {
        "float32" => "fp32".to_string(),
        other => {
            problems.push(format!("its element type is {other}"));
            String::new()
        }
    };
    let input_shape_ok = input.dims.len() == 4
        && input.dims[1..].iter().zip(LATENT_SHAPE).all(|(d, want)| *d == Some(want))
        && input.dims[0] != Some(0);
    if !input_shape_ok {
        problems.push(format!("its shape is {}", shape_text(&input.dims)));
    }
    if !problems.is_empty() {
        return Err(DecoderError::Input { problem: problems.join(", ") });
    }
    let fixed_batch = input.dims[0];

    let output = match outputs {
        [one] => one,
        _ => {
            return Err(DecoderError::Output {
                problem: format!("the model has {} outputs ({})", outputs.len(), names(outputs)),
            });
        }
    };
    if output.name != OUTPUT_NAME {
        problems.push(format!("it is named `{}`", output.name));
    }
    if output.element != "float32" {
        problems.push(format!("its element type is {}", output.element));
    }
    let output_shape_ok = output.dims.len() == 4
        && (output.dims[0].is_none() || output.dims[0] == fixed_batch)
        && output.dims[1].is_none_or(|c| c == 3)
        && output.dims[2..].iter().all(|d| *d != Some(0));
    if !output_shape_ok {
        problems.push(format!("its shape is {}", shape_text(&output.dims)));
    }
    if !problems.is_empty() {
        return Err(DecoderError::Output { problem: problems.join(", ") });
    }
    Ok(Interface { precision, fixed_batch, height: output.dims[2], width: output.dims[3] })
}

fn names(ports: &[Port]) -> String {
    if ports.is_empty() {
        return "none".to_string();
    }
    ports.iter().map(|p| format!("`{}`", p.name)).collect::<Vec<_>>().join(", ")
}

/// `[batch, 8, 16, 16]`-style text; dynamic dimensions print as `?`.
pub(crate) fn shape_text(dims: &[Option<usize>]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.map_or_else(|| "?".to_string(), |v| v.to_string())).collect();
    format!("[{}]", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(name: &str, element: &str, dims: &[Option<usize>]) -> Port {
        Port { name: name.to_string(), element: element.to_string(), dims: dims.to_vec() }
    }

    fn latent(batch: Option<usize>) -> Port {
        port("latent", "float32", &[batch, Some(8), Some(16), Some(16)])
    }

    fn image(batch: Option<usize>) -> Port {
        port("image", "float32", &[batch, Some(3), Some(64), Some(32)])
    }

    #[test]
    fn accepts_dynamic_and_fixed_batches() {
        let dynamic = check(&[latent(None)], &[image(None)]).unwrap();
        assert_eq!(
            dynamic,
            Interface { precision: "fp32".into(), fixed_batch: None, height: Some(64), width: Some(32) }
        );
        let fixed = check(&[latent(Some(4))], &[image(Some(4))]).unwrap();
        assert_eq!(fixed.fixed_batch, Some(4));
        // A fixed input batch with a dynamic output batch is fine.
        assert_eq!(check(&[latent(Some(1))], &[image(None)]).unwrap().fixed_batch, Some(1));
    }

    #[test]
    fn names_every_input_problem_at_once() {
        let bad = port("z", "float64", &[None, Some(4), Some(16), Some(16)]);
        let message = check(&[bad], &[image(None)]).unwrap_err().to_string();
        for part in
            ["named `z`", "element type is float64", "shape is [?, 4, 16, 16]", "`latent` float32 [batch, 8, 16, 16]"]
        {
            assert!(message.contains(part), "{message}");
        }
    }

    #[test]
    fn rejects_wrong_counts_and_outputs() {
        let message = check(&[], &[image(None)]).unwrap_err().to_string();
        assert!(message.contains("0 inputs (none)"), "{message}");
        let two = [image(None), port("extra", "float32", &[None])];
        assert!(check(&[latent(None)], &two).unwrap_err().to_string().contains("2 outputs (`image`, `extra`)"));
        let grey = port("image", "float32", &[None, Some(1), Some(8), Some(8)]);
        assert!(matches!(check(&[latent(None)], &[grey]), Err(DecoderError::Output { .. })));
        // Batch 2 in, batch 3 out.
        assert!(matches!(check(&[latent(Some(2))], &[image(Some(3))]), Err(DecoderError::Output { .. })));
        let renamed = port("rgb", "float32", &[None, Some(3), Some(8), Some(8)]);
        assert!(check(&[latent(None)], &[renamed]).unwrap_err().to_string().contains("named `rgb`"));
    }
}
