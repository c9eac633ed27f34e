use serde_json::json;

use super::*;
use crate::domain::{Coercion, FeatureValue, parse_customer};

#[test]
fn psi_matches_hand_computed_values() {
    // 0.25·ln(0.5/0.25) + (−0.25)·ln(0.5/0.75)
    let expected = 0.25 * 2f64.ln() + 0.25 * 1.5f64.ln();
    assert!((psi(&[0.5, 0.5], &[0.25, 0.75], 1e-4) - expected).abs() < 1e-15);
    assert_eq!(psi(&[0.2, 0.3, 0.5], &[0.2, 0.3, 0.5], 1e-4), 0.0);
    // An empty live bin counts as the floor: (1e-4 − 0.5)·ln(1e-4/0.5) + 0.5·ln(1/0.5).
    let expected = (1e-4 - 0.5) * (1e-4f64 / 0.5).ln() + 0.5 * 2f64.ln();
    assert!((psi(&[0.0, 1.0], &[0.5, 0.5], 1e-4) - expected).abs() < 1e-15);
}

#[test]
fn a_value_on_an_edge_belongs_to_the_bin_above_it() {
    let bins = Bins::Edges(vec![10.0, 20.0]);
    let of = |n: f64| bins.of(FeatureValue::Number(n));
    assert_eq!(
        [of(-5.0), of(9.999), of(10.0), of(19.999), of(20.0), of(1e9)],
        [Some(0), Some(0), Some(1), Some(1), Some(2), Some(2)]
    );
    assert_eq!(of(f64::NAN), None);
    assert_eq!(
        (bins.label(0), bins.label(1), bins.label(2)),
        ("< 10".into(), "[10, 20)".into(), ">= 20".into())
    );
    let values = Bins::Values(vec![FeatureValue::Category("France"), FeatureValue::Category("Spain")]);
    assert_eq!(values.of(FeatureValue::Category("Spain")), Some(1));
    assert_eq!(values.of(FeatureValue::Category("Germany")), None);
}

fn shipped_reference() -> Reference {
    let metadata: serde_json::Value =
        serde_json::from_str(include_str!("../../models/churn_pipeline.json")).expect("the shipped metadata");
    Reference::parse(&metadata["drift"]).expect("the shipped reference is valid")
}

#[test]
fn the_shipped_reference_bins_every_feature_within_the_cardinality_bound() {
    let reference = shipped_reference();
    let counts: Vec<usize> = reference.features.iter().map(|b| b.bins.count()).collect();
    assert_eq!(counts, [10, 3, 2, 10, 11, 7, 4, 2, 2, 10]);
    assert_eq!(reference.prediction.bins.count(), 10);
}

#[test]
fn malformed_references_are_refused_naming_the_feature() {
    let mut drift = serde_json::from_str::<serde_json::Value>(include_str!("../../models/churn_pipeline.json"))
        .unwrap()["drift"]
        .clone();
    drift["features"][0]["edges"] = json!([600.0, 500.0]);
    assert!(Reference::parse(&drift).unwrap_err().contains("CreditScore"));
    drift["features"][0]["edges"] = json!([500.0, 600.0]);
    assert!(
        Reference::parse(&drift).unwrap_err().contains("3 bins"),
        "10 shares for 3 bins"
    );
    drift["features"][0]["reference"] = json!([0.5, 0.4, 0.2]);
    assert!(Reference::parse(&drift).unwrap_err().contains("sum to 1"));
    drift["features"][0]["reference"] = json!([0.5, 0.3, 0.2]);
    Reference::parse(&drift).expect("valid again");
    drift["features"][1]["values"] = json!(["France", "Atlantis", "Spain"]);
    assert!(Reference::parse(&drift).unwrap_err().contains("Geography"));
}

fn customer(age: u32) -> Customer {
    let body = json!({
        "credit_score": 650, "geography": "Germany", "gender": "Male", "age": age, "tenure": 3,
        "balance": 0.0, "num_of_products": 2, "has_cr_card": 1, "is_active_member": 0,
        "estimated_salary": 50000.0
    });
    parse_customer(&body, &[], Coercion::Strict).unwrap()
}

#[test]
fn the_window_keeps_the_last_rows_and_scores_appear_only_with_enough_of_them() {
    let monitor = Monitor::new(shipped_reference(), 3, &Metrics::new());
    let record = |age: u32, p: f64| {
        let c = customer(age);
        let bins = monitor.bins(std::iter::once(&c));
        monitor.record(bins, std::iter::once(p));
    };
    record(20, 0.01);
    record(20, 0.01);
    assert!(
        monitor.scores().features[0].psi.is_none(),
        "2 of 3 observations: no score yet"
    );
    for _ in 0..3 {
        record(90, 0.9);
    }
    let scores = monitor.scores();
    assert_eq!((scores.window, scores.observations), (3, 3));
    let age = &scores.features[Feature::Age as usize];
    let live: Vec<f64> = age.bins.iter().map(|b| b.live.unwrap()).collect();
    assert_eq!(live.last(), Some(&1.0), "only the age-90 rows are left in the window");
    let reference: Vec<f64> = age.bins.iter().map(|b| b.reference).collect();
    assert!((age.psi.unwrap() - psi(&live, &reference, 1e-4)).abs() < 1e-15);
    assert!(scores.prediction.psi.unwrap() > 1.0, "every prediction in the top bin");
}

#[test]
fn the_metrics_carry_counts_per_bin_and_psi_only_with_enough_observations() {
    let metrics = Metrics::new();
    let monitor = Monitor::new(shipped_reference(), 1000, &metrics);
    monitor.publish(&metrics);
    let c = customer(40);
    for _ in 0..99 {
        monitor.record(monitor.bins(std::iter::once(&c)), std::iter::once(0.5));
    }
    export(Some(&monitor), &metrics);
    let text = metrics.render();
    // Age 40 is on an edge: it counts in the bin above it, [40, 43).
    assert!(
        text.contains(r#"churn_drift_observations_total{bin="06",feature="age"} 99"#),
        "{text}"
    );
    assert!(text.contains(r#"churn_drift_reference_share{bin="06",feature="age",range="[40, 43)"}"#));
    assert!(
        !text.contains("churn_feature_drift_psi{"),
        "absent below 100 observations"
    );
    assert!(text.contains(r#"churn_drift_reference_share{bin="00",feature="geography",range="France"}"#));
    monitor.record(monitor.bins(std::iter::once(&c)), std::iter::once(0.5));
    export(Some(&monitor), &metrics);
    let text = metrics.render();
    assert!(
        text.contains(r#"churn_feature_drift_psi{feature="age"}"#) && text.contains("churn_prediction_drift_psi "),
        "{text}"
    );
}
