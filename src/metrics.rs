//! Prometheus metrics, one registry per application instance (so that test
//! servers in one process do not share counters).

use std::sync::{Arc, Mutex};

use crate::domain::{Outcome, RiskLevel};
use prometheus::core::Collector;
use prometheus::proto::{Metric, MetricFamily};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder, exponential_buckets, linear_buckets,
};

pub struct Metrics {
    registry: Registry,
    /// One set per HTTP thread, summed when rendered (see [`RequestMetrics`]).
    threads: Mutex<Vec<Arc<RequestMetrics>>>,
    pub inference_duration: Histogram,
    pub batch_rows: Histogram,
    pub queue_wait: Histogram,
    pub rejected: IntCounterVec,
    pub model_info: IntGaugeVec,
}

/// What the HTTP handlers record for every request, owned by one HTTP thread.
///
/// Why per thread: with two HTTP threads on 2 cores, every request's counter,
/// histogram and gauge updates (some twenty atomic writes) bounced their cache
/// lines between the cores. Skipping them raised single predictions at 64
/// connections by ~10 % when the vCPUs shared a cache and by 15-50 % when
/// they did not. Each thread now writes only its own lines; a scrape sums them.
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

impl Metrics {
    pub fn new() -> Self {
        let m = Metrics {
            registry: Registry::new(),
            threads: Mutex::new(Vec::new()),
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
        };
        m.register_all();
        m
    }

    /// A new set of request metrics for one HTTP thread, included in
    /// [`Metrics::render`] from now on.
    pub fn for_thread(&self) -> Arc<RequestMetrics> {
        let set = Arc::new(RequestMetrics::new());
        self.threads.lock().unwrap_or_else(|e| e.into_inner()).push(set.clone());
        set
    }

    fn register_all(&self) {
        let collectors: Vec<Box<dyn Collector>> = vec![
            Box::new(self.inference_duration.clone()),
            Box::new(self.batch_rows.clone()),
            Box::new(self.queue_wait.clone()),
            Box::new(self.rejected.clone()),
            Box::new(self.model_info.clone()),
            Box::new(prometheus::process_collector::ProcessCollector::for_self()),
        ];
        for c in collectors {
            self.registry.register(c).expect("metric names are unique");
        }
        // Rejections show as 0 before the first one, so alerts and rate() work.
        self.rejected.with_label_values(&["overloaded"]);
    }

    pub fn render(&self) -> String {
        let mut families = self.registry.gather();
        let threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        families.extend(sum_by_name(threads.iter().flat_map(|t| t.collect())));
        drop(threads);
        families.sort_by(|a, b| a.name().cmp(b.name()));
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
                    .buckets(latency_buckets()),
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

    fn collect(&self) -> Vec<MetricFamily> {
        let collectors: [&dyn Collector; 5] = [
            &self.http_requests,
            &self.http_duration,
            &self.http_in_flight,
            &self.predictions,
            &self.probability,
        ];
        collectors.iter().flat_map(|c| c.collect()).collect()
    }
}

/// Merges the families of the same name (one per HTTP thread) into one,
/// adding up the samples that have the same labels. Families without
/// samples are left out, as `Registry::gather` does.
fn sum_by_name(families: impl IntoIterator<Item = MetricFamily>) -> Vec<MetricFamily> {
    let mut merged: Vec<MetricFamily> = Vec::new();
    for family in families {
        match merged.iter_mut().find(|m| m.name() == family.name()) {
            Some(into) => family.get_metric().iter().for_each(|metric| add_sample(into, metric)),
            None => merged.push(family),
        }
    }
    merged.retain(|f| !f.get_metric().is_empty());
    for family in &mut merged {
        family.mut_metric().sort_by(|a, b| label_values(a).cmp(label_values(b)));
    }
    merged
}

fn label_values(metric: &Metric) -> impl Iterator<Item = &str> {
    metric.get_label().iter().map(|l| l.value())
}

fn add_sample(family: &mut MetricFamily, sample: &Metric) {
    let same = family
        .mut_metric()
        .iter_mut()
        .find(|m| m.get_label() == sample.get_label());
    let Some(into) = same else {
        return family.mut_metric().push(sample.clone());
    };
    if let Some(c) = into.counter.as_mut() {
        c.set_value(c.value() + sample.get_counter().value());
    }
    if let Some(g) = into.gauge.as_mut() {
        g.set_value(g.value() + sample.get_gauge().value());
    }
    if let Some(h) = into.histogram.as_mut() {
        let from = sample.get_histogram();
        h.set_sample_count(h.sample_count() + from.sample_count());
        h.set_sample_sum(h.sample_sum() + from.sample_sum());
        // Same bucket bounds: every thread's histogram is built by `new`.
        for (bucket, add) in h.bucket.iter_mut().zip(&from.bucket) {
            bucket.set_cumulative_count(bucket.cumulative_count() + add.cumulative_count());
        }
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

    fn sample(text: &str, line_start: &str) -> Option<f64> {
        let line = text.lines().find(|l| l.starts_with(line_start))?;
        line.rsplit(' ').next()?.parse().ok()
    }

    #[test]
    fn each_threads_request_metrics_are_summed_into_one_series() {
        let metrics = Metrics::new();
        let (a, b) = (metrics.for_thread(), metrics.for_thread());
        a.http_requests.with_label_values(&["GET", "/health", "200"]).inc();
        b.http_requests.with_label_values(&["GET", "/health", "200"]).inc_by(2);
        b.http_requests.with_label_values(&["GET", "/metrics", "200"]).inc();
        a.http_duration.with_label_values(&["GET", "/health"]).observe(0.00005);
        b.http_duration.with_label_values(&["GET", "/health"]).observe(1.0);
        a.http_in_flight.inc();
        b.http_in_flight.inc();
        a.record_prediction(Outcome::Churn, RiskLevel::High, 0.9);
        b.record_prediction(Outcome::Churn, RiskLevel::High, 0.8);

        let text = metrics.render();
        let value = |start: &str| sample(&text, start).unwrap_or_else(|| panic!("no {start} in:\n{text}"));
        let health = r#"churn_http_requests_total{method="GET",route="/health",status="200"}"#;
        assert_eq!(value(health), 3.0);
        assert_eq!(value(r#"churn_http_requests_total{method="GET",route="/metrics""#), 1.0);
        let duration = r#"churn_http_request_duration_seconds_bucket{method="GET",route="/health","#;
        assert_eq!(value(&format!("{duration}le=\"0.0001\"}}")), 1.0);
        assert_eq!(value(&format!("{duration}le=\"+Inf\"}}")), 2.0);
        assert_eq!(value("churn_http_request_duration_seconds_count{"), 2.0);
        assert_eq!(value("churn_http_request_duration_seconds_sum{"), 1.00005);
        assert_eq!(value("churn_http_requests_in_flight "), 2.0);
        assert_eq!(
            value(r#"churn_predictions_total{outcome="churn",risk_level="HIGH"}"#),
            2.0
        );
        assert_eq!(
            value(r#"churn_predictions_total{outcome="no_churn",risk_level="LOW"}"#),
            0.0
        );
        assert_eq!(value("churn_prediction_probability_count "), 2.0);
        // One family each: merged, not listed once per thread.
        assert_eq!(text.matches("# TYPE churn_http_requests_total ").count(), 1, "{text}");
        assert_eq!(text.matches("# TYPE churn_prediction_probability ").count(), 1);
        assert_eq!(text.matches(health).count(), 1);
    }

    #[test]
    fn families_without_samples_are_left_out_as_the_registry_does() {
        let metrics = Metrics::new();
        metrics.for_thread();
        let text = metrics.render();
        assert!(!text.contains("churn_http_requests_total"), "{text}");
        assert!(text.contains("# TYPE churn_http_requests_in_flight gauge"), "{text}");
    }
}
