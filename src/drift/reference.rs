//! The training distributions a model's metadata carries (`"drift"`, written
//! by `models/train.py`): how each feature and the prediction are binned,
//! and the training split's share per bin.

use serde::Deserialize;
use serde_json::Value;

use crate::domain::{Feature, FeatureValue, Kind};

/// How one monitored quantity is cut into bins.
#[derive(Debug, Clone, PartialEq)]
pub enum Bins {
    /// Ascending edges; a value equal to an edge belongs to the bin above
    /// it, so there are `edges.len() + 1` bins.
    Edges(Vec<f64>),
    /// One bin per value (categories, flags).
    Values(Vec<FeatureValue>),
}

impl Bins {
    pub fn count(&self) -> usize {
        match self {
            Bins::Edges(edges) => edges.len() + 1,
            Bins::Values(values) => values.len(),
        }
    }

    /// The bin of `value`; `None` for a value outside every bin (a category
    /// the training data did not have, or NaN).
    pub fn of(&self, value: FeatureValue) -> Option<usize> {
        match (self, value) {
            (Bins::Edges(edges), FeatureValue::Number(n)) if !n.is_nan() => Some(edges.partition_point(|e| *e <= n)),
            (Bins::Values(values), v) => values.iter().position(|x| *x == v),
            _ => None,
        }
    }

    /// A readable name for bin `i`: `< 529`, `[529, 572)`, `>= 774`, `France`.
    pub fn label(&self, i: usize) -> String {
        match self {
            Bins::Edges(edges) => match (i.checked_sub(1).map(|j| edges[j]), edges.get(i)) {
                (None, Some(hi)) => format!("< {hi}"),
                (Some(lo), Some(hi)) => format!("[{lo}, {hi})"),
                (Some(lo), None) => format!(">= {lo}"),
                (None, None) => "all".into(),
            },
            Bins::Values(values) => match values[i] {
                FeatureValue::Number(n) => format!("{n}"),
                FeatureValue::Category(c) => c.to_owned(),
            },
        }
    }
}

/// One feature's (or the prediction's) bins and training shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Binned {
    pub bins: Bins,
    /// Share of the training split per bin; sums to 1.
    pub reference: Vec<f64>,
}

/// Every feature, in `Feature::ALL` order, then the prediction.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub features: Vec<Binned>,
    pub prediction: Binned,
    /// Share an empty bin counts as in PSI (ln 0 is undefined).
    pub floor: f64,
}

/// Bins per quantity at most: bounds the metrics' cardinality.
pub const MAX_BINS: usize = 12;

#[derive(Deserialize)]
struct RawReference {
    features: Vec<RawBinned>,
    prediction: RawBinned,
    #[serde(default = "default_floor")]
    psi_floor: f64,
}

#[derive(Deserialize)]
struct RawBinned {
    #[serde(default)]
    name: String,
    #[serde(default)]
    edges: Option<Vec<f64>>,
    #[serde(default)]
    values: Option<Vec<Value>>,
    reference: Vec<f64>,
}

fn default_floor() -> f64 {
    1e-4
}

impl Reference {
    /// The `"drift"` block of a metadata file.
    pub fn parse(drift: &Value) -> Result<Self, String> {
        let raw: RawReference = serde_json::from_value(drift.clone()).map_err(|e| format!("drift: {e}"))?;
        let features = Feature::ALL
            .iter()
            .map(|&f| {
                let entry = raw
                    .features
                    .iter()
                    .find(|b| b.name == f.column_name() || b.name == f.api_name())
                    .ok_or_else(|| format!("drift: no reference for {}", f.column_name()))?;
                binned(entry, Some(f)).map_err(|e| format!("drift {}: {e}", f.column_name()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let prediction = binned(&raw.prediction, None).map_err(|e| format!("drift prediction: {e}"))?;
        if !(raw.psi_floor > 0.0 && raw.psi_floor < 1.0) {
            return Err(format!("drift: psi_floor {} is not in (0, 1)", raw.psi_floor));
        }
        Ok(Reference {
            features,
            prediction,
            floor: raw.psi_floor,
        })
    }
}

fn binned(raw: &RawBinned, feature: Option<Feature>) -> Result<Binned, String> {
    let bins = match (&raw.edges, &raw.values, feature.map(Feature::kind)) {
        (Some(edges), None, None | Some(Kind::Integer { .. } | Kind::Number { .. })) => {
            if !edges.windows(2).all(|w| w[0] < w[1]) || edges.iter().any(|e| !e.is_finite()) {
                return Err("edges must be finite and strictly ascending".into());
            }
            Bins::Edges(edges.clone())
        }
        (None, Some(values), Some(kind @ (Kind::Category(_) | Kind::Flag))) => Bins::Values(
            values
                .iter()
                .map(|v| match kind {
                    Kind::Category(names) => names
                        .iter()
                        .find(|n| v.as_str() == Some(**n))
                        .map(|n| FeatureValue::Category(n))
                        .ok_or_else(|| format!("{v} is not a category")),
                    _ => v
                        .as_f64()
                        .filter(|n| *n == 0.0 || *n == 1.0)
                        .map(FeatureValue::Number)
                        .ok_or_else(|| format!("{v} is not a flag value")),
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err("needs edges (numbers) or values (categories, flags)".into()),
    };
    if bins.count() > MAX_BINS {
        return Err(format!("{} bins, at most {MAX_BINS}", bins.count()));
    }
    if raw.reference.len() != bins.count() {
        return Err(format!("{} shares for {} bins", raw.reference.len(), bins.count()));
    }
    let total: f64 = raw.reference.iter().sum();
    if raw.reference.iter().any(|s| !(0.0..=1.0).contains(s)) || (total - 1.0).abs() > 1e-6 {
        return Err(format!("shares must be in [0, 1] and sum to 1 (sum {total})"));
    }
    Ok(Binned {
        bins,
        reference: raw.reference.clone(),
    })
}
