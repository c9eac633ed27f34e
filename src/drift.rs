//! Live drift: how far the inputs and predictions of the last `drift_window`
//! predictions are from the model's training distributions, as the
//! Population Stability Index per feature and for the prediction.
//!
//! Each prediction adds its bins to a sliding window (one short lock per
//! request, not per row) and to per-bin Prometheus counters (atomic adds),
//! so PromQL can compute the same score over any range. Scores are computed
//! when asked for (`/metrics`, `/api/v1/model/drift`); below
//! [`MIN_OBSERVATIONS`] they are absent, not zero.

mod reference;

use std::collections::VecDeque;
use std::sync::Mutex;

use prometheus::IntCounter;

use crate::domain::{Customer, Feature};
use crate::metrics::Metrics;
pub use reference::{Binned, Bins, MAX_BINS, Reference};

/// Fewer observations than this give no score: with ten bins, a few dozen
/// rows of an unchanged population already show a PSI near 0.1.
pub const MIN_OBSERVATIONS: usize = 100;

/// The monitored quantities: the ten features, then the prediction.
const QUANTITIES: usize = Feature::ALL.len() + 1;

/// A row's bin per quantity; `NONE` for a value outside every bin.
type RowBins = [u8; QUANTITIES];
const NONE: u8 = u8::MAX;

/// Σ (a − e) · ln(a / e) over the bins, with shares under `floor` counted as
/// `floor` (an empty bin would make the logarithm infinite).
pub fn psi(actual: &[f64], expected: &[f64], floor: f64) -> f64 {
    actual
        .iter()
        .zip(expected)
        .map(|(&a, &e)| {
            let (a, e) = (a.max(floor), e.max(floor));
            (a - e) * (a / e).ln()
        })
        .sum()
}

/// One model's drift monitor: its reference, the window, its counters.
pub struct Monitor {
    reference: Reference,
    window: Mutex<Window>,
    /// `churn_drift_observations_total` per quantity and bin, resolved once.
    counters: Vec<Vec<IntCounter>>,
}

struct Window {
    capacity: usize,
    rows: VecDeque<RowBins>,
    /// Rows per quantity and bin among `rows`.
    counts: [[u32; MAX_BINS]; QUANTITIES],
}

/// The scores of one quantity.
#[derive(Debug, Clone)]
pub struct Score {
    /// `credit_score`, …, or `prediction`.
    pub name: &'static str,
    /// Absent below [`MIN_OBSERVATIONS`].
    pub psi: Option<f64>,
    pub bins: Vec<BinShare>,
}

#[derive(Debug, Clone)]
pub struct BinShare {
    pub label: String,
    /// Share of the window's rows (absent below the minimum).
    pub live: Option<f64>,
    pub reference: f64,
}

/// Every quantity's score over the window.
#[derive(Debug, Clone)]
pub struct Scores {
    pub window: usize,
    pub observations: usize,
    /// Below this many observations there are no scores.
    pub min_observations: usize,
    pub features: Vec<Score>,
    pub prediction: Score,
}

impl Monitor {
    /// A monitor over the last `window` predictions.
    pub fn new(reference: Reference, window: usize, metrics: &Metrics) -> Self {
        let counters = quantities(&reference)
            .map(|(name, binned)| {
                (0..binned.bins.count())
                    .map(|b| metrics.drift_observations.with_label_values(&[name, &bin_label(b)]))
                    .collect()
            })
            .collect();
        Monitor {
            reference,
            window: Mutex::new(Window {
                capacity: window.max(1),
                rows: VecDeque::with_capacity(window.max(1)),
                counts: [[0; MAX_BINS]; QUANTITIES],
            }),
            counters,
        }
    }

    /// The feature bins of `customers`, taken before they go to the model.
    pub fn bins<'a>(&self, customers: impl Iterator<Item = &'a Customer>) -> Vec<RowBins> {
        customers
            .map(|c| {
                let mut row = [NONE; QUANTITIES];
                for (i, (f, binned)) in Feature::ALL.iter().zip(&self.reference.features).enumerate() {
                    row[i] = binned.bins.of(c.get(*f)).map_or(NONE, |b| b as u8);
                }
                row
            })
            .collect()
    }

    /// Adds rows (their feature bins, and their predicted probabilities).
    pub fn record(&self, mut rows: Vec<RowBins>, probabilities: impl Iterator<Item = f64>) {
        let prediction = &self.reference.prediction.bins;
        for (row, p) in rows.iter_mut().zip(probabilities) {
            row[QUANTITIES - 1] = prediction
                .of(crate::domain::FeatureValue::Number(p))
                .map_or(NONE, |b| b as u8);
            for (q, &b) in row.iter().enumerate() {
                if b != NONE {
                    self.counters[q][b as usize].inc();
                }
            }
        }
        let mut window = self.window.lock().unwrap_or_else(|p| p.into_inner());
        for row in rows {
            if window.rows.len() == window.capacity
                && let Some(old) = window.rows.pop_front()
            {
                window.add(&old, false);
            }
            window.add(&row, true);
            window.rows.push_back(row);
        }
    }

    /// `churn_drift_reference_share` names this model's bins and shares
    /// (called when the model starts serving).
    pub fn publish(&self, metrics: &Metrics) {
        metrics.drift_reference.reset();
        for (name, binned) in quantities(&self.reference) {
            for b in 0..binned.bins.count() {
                metrics
                    .drift_reference
                    .with_label_values(&[name, &bin_label(b), &binned.bins.label(b)])
                    .set(binned.reference[b]);
            }
        }
    }

    pub fn scores(&self) -> Scores {
        let (observations, counts, capacity) = {
            let window = self.window.lock().unwrap_or_else(|p| p.into_inner());
            (window.rows.len(), window.counts, window.capacity)
        };
        let min_observations = MIN_OBSERVATIONS.min(capacity);
        let enough = observations >= min_observations;
        let mut all: Vec<Score> = quantities(&self.reference)
            .zip(counts.iter())
            .map(|((name, binned), counts)| {
                let live: Vec<f64> = (0..binned.bins.count())
                    .map(|b| f64::from(counts[b]) / observations.max(1) as f64)
                    .collect();
                Score {
                    name,
                    psi: enough.then(|| psi(&live, &binned.reference, self.reference.floor)),
                    bins: (0..binned.bins.count())
                        .map(|b| BinShare {
                            label: binned.bins.label(b),
                            live: enough.then_some(live[b]),
                            reference: binned.reference[b],
                        })
                        .collect(),
                }
            })
            .collect();
        let prediction = all.pop().expect("the prediction is the last quantity");
        Scores {
            window: capacity,
            observations,
            min_observations,
            features: all,
            prediction,
        }
    }
}

/// Sets `churn_feature_drift_psi` and `churn_prediction_drift_psi` from the
/// serving model's monitor, or removes them while there are too few
/// observations, or no monitor (drift off, or no reference).
pub fn export(monitor: Option<&Monitor>, metrics: &Metrics) {
    metrics.feature_psi.reset();
    metrics.prediction_psi.reset();
    let Some(scores) = monitor.map(Monitor::scores) else {
        return;
    };
    for score in &scores.features {
        if let Some(psi) = score.psi {
            metrics.feature_psi.with_label_values(&[score.name]).set(psi);
        }
    }
    if let Some(psi) = scores.prediction.psi {
        metrics.prediction_psi.with_label_values::<&str>(&[]).set(psi);
    }
}

impl Window {
    fn add(&mut self, row: &RowBins, add: bool) {
        for (q, &b) in row.iter().enumerate() {
            if b != NONE {
                let count = &mut self.counts[q][b as usize];
                *count = if add { *count + 1 } else { count.saturating_sub(1) };
            }
        }
    }
}

/// `(name, bins)` of every quantity, features first.
fn quantities(reference: &Reference) -> impl Iterator<Item = (&'static str, &Binned)> {
    Feature::ALL
        .iter()
        .map(|f| f.api_name())
        .zip(&reference.features)
        .chain([("prediction", &reference.prediction)])
}

/// Bins as labels sort in order: `00`, `01`, …
fn bin_label(b: usize) -> String {
    format!("{b:02}")
}

#[cfg(test)]
mod tests;
