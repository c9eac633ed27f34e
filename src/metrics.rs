//! Prometheus metrics, one registry per application instance (so that test
//! servers in one process do not share counters).

use crate::domain::{Outcome, RiskLevel};
use prometheus::core::Collector;
use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder, exponential_buckets, linear_buckets,
};

pub struct Metrics {
    registry: Registry,
    pub requests: RequestMetrics,
    pub inference_duration: Histogram,
    pub batch_rows: Histogram,
    pub queue_wait: Histogram,
    pub rejected: IntCounterVec,
    pub model_info: IntGaugeVec,
    /// Reloads by trigger (`signal`, `api`, `poll`) and result (`success`,
    /// `unchanged`, `failed`).
    pub model_reloads: IntCounterVec,
    /// Drift (`crate::drift`): values seen per feature (or `prediction`) and bin.
    pub drift_observations: IntCounterVec,
    /// The serving model's training share per feature and bin.
    pub drift_reference: GaugeVec,
    /// PSI over the drift window, per feature; absent below the minimum.
    pub feature_psi: GaugeVec,
    pub prediction_psi: GaugeVec,
}

/// What the HTTP handlers record for every request.
pub struct RequestMetrics {
    /// `predictions` by [outcome][risk level], resolved once: a batch of 1000
    /// rows would otherwise hash the labels 1000 times.
    prediction_counts: Vec<Vec<IntCounter>>,
    pub http_requests: IntCounterVec,
    pub http_duration: HistogramVec,
    pub http_in_flight: IntGauge,
    pub predictions: IntCounterVec,
    pub probability: Histogram,
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets)).expect("valid histogram")
}

/// 100 µs .. 6.5 s
fn latency_buckets() -> Vec<f64> {
    exponential_buckets(0.0001, 2.0, 17).expect("valid buckets")
}

/// Request latency: fine below a millisecond, where this service answers,
/// and an edge on each latency SLO (p50 50 ms, p95 150 ms, p99 300 ms) so
/// that `histogram_quantile` and the SLO alerts are exact there.
pub const HTTP_LATENCY_BUCKETS: [f64; 18] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0,
];

impl Metrics {
    pub fn new() -> Self {
        let m = Metrics {
            registry: Registry::new(),
            requests: RequestMetrics::new(),
            inference_duration: histogram(
                "churn_inference_duration_seconds",
                "Duration of one ONNX Runtime call (one batch).",
                latency_buckets(),
            ),
            batch_rows: histogram(
                "churn_inference_batch_rows",
                "Rows per ONNX Runtime call.",
                exponential_buckets(1.0, 2.0, 12).expect("valid buckets"),
            ),
            queue_wait: histogram(
                "churn_inference_queue_wait_seconds",
                "Time a request waited for an inference worker.",
                latency_buckets(),
            ),
            rejected: IntCounterVec::new(
                Opts::new(
                    "churn_requests_rejected_total",
                    "Requests rejected before inference, by reason.",
                ),
                &["reason"],
            )
            .expect("valid counter"),
            model_info: IntGaugeVec::new(
                Opts::new("churn_model_info", "The model being served (value is always 1)."),
                &["name", "version", "sha256"],
            )
            .expect("valid gauge"),
            model_reloads: IntCounterVec::new(
                Opts::new(
                    "churn_model_reload_total",
                    "Looks at the model source for a new model, by trigger and result.",
                ),
                &["trigger", "result"],
            )
            .expect("valid counter"),
            drift_observations: IntCounterVec::new(
                Opts::new(
                    "churn_drift_observations_total",
                    "Values seen per feature (or prediction) and bin of the serving model's reference.",
                ),
                &["feature", "bin"],
            )
            .expect("valid counter"),
            drift_reference: GaugeVec::new(
                Opts::new(
                    "churn_drift_reference_share",
                    "The serving model's training share per feature (or prediction) and bin; range names the bin.",
                ),
                &["feature", "bin", "range"],
            )
            .expect("valid gauge"),
            feature_psi: GaugeVec::new(
                Opts::new(
                    "churn_feature_drift_psi",
                    "Population Stability Index of each feature over the drift window (absent below the minimum).",
                ),
                &["feature"],
            )
            .expect("valid gauge"),
            prediction_psi: GaugeVec::new(
                Opts::new(
                    "churn_prediction_drift_psi",
                    "Population Stability Index of the predicted probability over the drift window.",
                ),
                &[],
            )
            .expect("valid gauge"),
        };
        m.register_all();
        m
    }

    fn register_all(&self) {
        let collectors: Vec<Box<dyn Collector>> = vec![
            Box::new(self.inference_duration.clone()),
            Box::new(self.batch_rows.clone()),
            Box::new(self.queue_wait.clone()),
            Box::new(self.rejected.clone()),
            Box::new(self.model_info.clone()),
            Box::new(self.model_reloads.clone()),
            Box::new(self.drift_observations.clone()),
            Box::new(self.drift_reference.clone()),
            Box::new(self.feature_psi.clone()),
            Box::new(self.prediction_psi.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
            Box::new(self.requests.http_requests.clone()),
            Box::new(self.requests.http_duration.clone()),
            Box::new(self.requests.http_in_flight.clone()),
            Box::new(self.requests.predictions.clone()),
            Box::new(self.requests.probability.clone()),
        ];
        for c in collectors {
            self.registry.register(c).expect("metric names are unique");
        }
        // Rejections show as 0 before the first one, so alerts and rate() work.
        self.rejected.with_label_values(&["overloaded"]);
    }

    pub fn render(&self) -> String {
        let families = self.registry.gather();
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&families, &mut buf)
            .expect("text encoding cannot fail");
        String::from_utf8(buf).expect("prometheus text is UTF-8")
    }
}

impl RequestMetrics {
    fn new() -> Self {
        let mut m = RequestMetrics {
            prediction_counts: Vec::new(),
            http_requests: IntCounterVec::new(
                Opts::new(
                    "churn_http_requests_total",
                    "HTTP requests by method, route template and status.",
                ),
                &["method", "route", "status"],
            )
            .expect("valid counter"),
            http_duration: HistogramVec::new(
                HistogramOpts::new("churn_http_request_duration_seconds", "HTTP request latency by route.")
                    .buckets(HTTP_LATENCY_BUCKETS.to_vec()),
                &["method", "route"],
            )
            .expect("valid histogram"),
            http_in_flight: IntGauge::new("churn_http_requests_in_flight", "HTTP requests being served.")
                .expect("valid gauge"),
            predictions: IntCounterVec::new(
                Opts::new("churn_predictions_total", "Predictions by outcome and risk level."),
                &["outcome", "risk_level"],
            )
            .expect("valid counter"),
            probability: histogram(
                "churn_prediction_probability",
                "Predicted churn probabilities (for drift dashboards).",
                linear_buckets(0.05, 0.05, 20).expect("valid buckets"),
            ),
        };
        // Every outcome and risk level shows as 0 from the start, so rate()
        // and dashboards work before the first prediction of each kind.
        m.prediction_counts = [Outcome::Churn, Outcome::NoChurn]
            .iter()
            .map(|o| {
                let risks = [RiskLevel::Low, RiskLevel::Medium, RiskLevel::High];
                risks
                    .iter()
                    .map(|r| m.predictions.with_label_values(&[o.as_str(), r.as_str()]))
                    .collect()
            })
            .collect();
        m
    }

    pub fn record_prediction(&self, outcome: Outcome, risk: RiskLevel, probability: f64) {
        self.prediction_counts[outcome as usize][risk as usize].inc();
        self.probability.observe(probability);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_outcome_and_risk_level_is_exported_before_the_first_prediction() {
        let metrics = Metrics::new();
        metrics.requests.record_prediction(Outcome::Churn, RiskLevel::High, 0.9);
        let text = metrics.render();
        assert!(
            text.contains("churn_predictions_total{outcome=\"churn\",risk_level=\"HIGH\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("churn_predictions_total{outcome=\"no_churn\",risk_level=\"LOW\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("churn_prediction_probability_count 1\n"), "{text}");
    }

    #[test]
    fn the_latency_histogram_has_an_edge_on_each_slo_and_resolves_below_a_millisecond() {
        for slo in [0.05, 0.15, 0.3] {
            assert!(HTTP_LATENCY_BUCKETS.contains(&slo), "no bucket edge at {slo} s");
        }
        assert!(HTTP_LATENCY_BUCKETS.iter().filter(|&&b| b < 0.001).count() >= 3);
        assert!(HTTP_LATENCY_BUCKETS.windows(2).all(|w| w[0] < w[1]));
    }
}
