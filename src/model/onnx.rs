//! One ONNX Runtime session of the churn pipeline. ORT types stay inside this
//! file: callers see customers in and probabilities out.

use std::collections::HashSet;

use ort::environment::Environment;
use ort::session::{Session, SessionInputValue, SessionOutputs};
use ort::value::{DynMapValueType, Tensor, TensorElementType, ValueType};

use super::{ElementType, InputSpec, ModelError};
use crate::domain::{Customer, Feature, FeatureValue};

#[derive(Debug, Clone)]
struct Input {
    name: String,
    feature: Feature,
    ty: ElementType,
}

/// The two output forms scikit-learn exports produce.
#[derive(Debug, Clone)]
enum Output {
    /// `[N, 2]` probabilities (skl2onnx with `zipmap: False`).
    Tensor { name: String, ty: TensorElementType },
    /// skl2onnx's default: a sequence of `{label: probability}` maps.
    ZipMap { name: String },
}

pub struct OnnxModel {
    session: Session,
    inputs: Vec<Input>,
    output: Output,
}

impl OnnxModel {
    pub fn load(env: &Environment, bytes: &[u8], intra_threads: usize) -> Result<Self, ModelError> {
        let invalid = |e: ort::Error| ModelError::Invalid(e.to_string());
        let session = Session::builder(env)
            .map_err(invalid)?
            .with_intra_threads(intra_threads)
            .map_err(|e| ModelError::Invalid(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| ModelError::Invalid(e.to_string()))?
            .commit_from_memory(bytes)
            .map_err(invalid)?;
        let inputs = check_inputs(&session)?;
        let output = find_output(&session)?;
        Ok(OnnxModel {
            session,
            inputs,
            output,
        })
    }

    /// The model's inputs in declaration order, for metadata endpoints.
    pub fn inputs(&self) -> Vec<InputSpec> {
        self.inputs
            .iter()
            .map(|i| InputSpec {
                name: i.name.clone(),
                feature: i.feature,
                dtype: i.ty,
            })
            .collect()
    }

    /// Churn probabilities (positive class) for `rows`, in order.
    pub fn predict(&mut self, rows: &[&Customer]) -> Result<Vec<f64>, ModelError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let failed = |e: ort::Error| ModelError::Inference(e.to_string());
        let values = self
            .inputs
            .iter()
            .map(|input| build_tensor(input, rows).map(|v| (input.name.clone(), v)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        let output = self.output.clone();
        let outputs = self.session.run(values).map_err(failed)?;
        let probabilities = read_output(&output, &outputs).map_err(failed)?;
        if probabilities.len() != rows.len() {
            let msg = format!(
                "model returned {} probabilities for {} rows",
                probabilities.len(),
                rows.len()
            );
            return Err(ModelError::Inference(msg));
        }
        // A float32 model fed an amount beyond f32's range answers NaN: never
        // let that out as a 200.
        if let Some((row, p)) = probabilities
            .iter()
            .enumerate()
            .find(|(_, p)| !(0.0..=1.0).contains(*p))
        {
            return Err(ModelError::Inference(format!(
                "model returned {p} for row {row}, not a probability"
            )));
        }
        Ok(probabilities)
    }
}

fn check_inputs(session: &Session) -> Result<Vec<Input>, ModelError> {
    let mut seen = HashSet::new();
    let mut inputs = Vec::new();
    for outlet in session.inputs() {
        let name = outlet.name();
        let feature = Feature::from_model_name(name).ok_or_else(|| {
            let expected: Vec<_> = Feature::ALL.iter().map(|f| f.column_name()).collect();
            ModelError::Inputs(format!(
                "input `{name}` is not a churn feature (expected {})",
                expected.join(", ")
            ))
        })?;
        if !seen.insert(feature) {
            return Err(ModelError::Inputs(format!(
                "two inputs map to feature {}",
                feature.column_name()
            )));
        }
        let ty = input_type(name, feature, outlet.dtype())?;
        inputs.push(Input {
            name: name.to_owned(),
            feature,
            ty,
        });
    }
    if let Some(missing) = Feature::ALL.iter().find(|f| !seen.contains(*f)) {
        return Err(ModelError::Inputs(format!(
            "no input for feature {}",
            missing.column_name()
        )));
    }
    Ok(inputs)
}

fn input_type(name: &str, feature: Feature, dtype: &ValueType) -> Result<ElementType, ModelError> {
    let ty = match dtype.tensor_type() {
        Some(TensorElementType::String) => ElementType::String,
        Some(TensorElementType::Float32) => ElementType::Float32,
        Some(TensorElementType::Float64) => ElementType::Float64,
        Some(TensorElementType::Int64) => ElementType::Int64,
        _ => {
            let msg = format!("input `{name}` has unsupported type {dtype} (supported: string, float, double, int64)");
            return Err(ModelError::Inputs(msg));
        }
    };
    if feature.is_categorical() != (ty == ElementType::String) {
        let want = if feature.is_categorical() {
            "a string"
        } else {
            "a numeric"
        };
        return Err(ModelError::Inputs(format!(
            "input `{name}` must be {want} tensor, found {dtype}"
        )));
    }
    Ok(ty)
}

/// Prefers the conventional names, then any output of a supported form.
fn find_output(session: &Session) -> Result<Output, ModelError> {
    let candidates: Vec<Output> = session
        .outputs()
        .iter()
        .filter_map(|o| match o.dtype() {
            ValueType::Tensor {
                ty: ty @ (TensorElementType::Float32 | TensorElementType::Float64),
                shape,
                ..
            } if shape.len() == 2 && shape[1] == 2 => Some(Output::Tensor {
                name: o.name().to_owned(),
                ty: *ty,
            }),
            ValueType::Sequence(inner) if matches!(**inner, ValueType::Map { .. }) => Some(Output::ZipMap {
                name: o.name().to_owned(),
            }),
            _ => None,
        })
        .collect();
    let name_of = |o: &Output| match o {
        Output::Tensor { name, .. } | Output::ZipMap { name } => name.clone(),
    };
    let preferred = ["probabilities", "output_probability"];
    candidates
        .iter()
        .find(|o| preferred.contains(&name_of(o).as_str()))
        .or(candidates.last())
        .cloned()
        .ok_or_else(|| ModelError::Outputs("no probability output ([N,2] tensor or ZipMap sequence)".into()))
}

fn build_tensor(input: &Input, rows: &[&Customer]) -> ort::Result<SessionInputValue<'static>> {
    let shape = [rows.len(), 1];
    let number = |c: &&Customer| match c.get(input.feature) {
        FeatureValue::Number(n) => n,
        FeatureValue::Category(_) => f64::NAN,
    };
    Ok(match input.ty {
        ElementType::String => {
            let texts: Vec<&str> = rows
                .iter()
                .map(|c| match c.get(input.feature) {
                    FeatureValue::Category(s) => s,
                    FeatureValue::Number(_) => "",
                })
                .collect();
            Tensor::from_string_array((shape, texts.as_slice()))?.into()
        }
        ElementType::Float32 => {
            Tensor::from_array((shape, rows.iter().map(|c| number(c) as f32).collect::<Vec<_>>()))?.into()
        }
        ElementType::Float64 => Tensor::from_array((shape, rows.iter().map(number).collect::<Vec<_>>()))?.into(),
        ElementType::Int64 => {
            Tensor::from_array((shape, rows.iter().map(|c| number(c) as i64).collect::<Vec<_>>()))?.into()
        }
    })
}

fn read_output(output: &Output, outputs: &SessionOutputs<'_>) -> ort::Result<Vec<f64>> {
    match output {
        Output::Tensor { name, ty } => {
            let value = &outputs[name.as_str()];
            let column = |data: Vec<f64>| data.chunks_exact(2).map(|pair| pair[1]).collect();
            Ok(match ty {
                TensorElementType::Float64 => column(value.try_extract_tensor::<f64>()?.1.to_vec()),
                _ => column(
                    value
                        .try_extract_tensor::<f32>()?
                        .1
                        .iter()
                        .map(|&p| f64::from(p))
                        .collect(),
                ),
            })
        }
        Output::ZipMap { name } => {
            let maps = outputs[name.as_str()].try_extract_sequence::<DynMapValueType>()?;
            maps.iter()
                .map(|m| {
                    let map = m.try_extract_map::<i64, f32>()?;
                    let p = map
                        .get(&1)
                        .ok_or_else(|| ort::Error::new("ZipMap output has no class label 1"))?;
                    Ok(f64::from(*p))
                })
                .collect()
        }
    }
}
