use serde_json::{Value, json};

use super::*;

fn valid() -> Value {
    json!({
        "customer_id": "c1", "credit_score": 619, "geography": "France", "gender": "Female", "age": 42,
        "tenure": 2, "balance": 0.0, "num_of_products": 1, "has_cr_card": true,
        "is_active_member": 1, "estimated_salary": 101348.88
    })
}

/// Both paths must agree on every body, in both modes: same customer, or
/// same errors.
fn agree(body: &Value) {
    for coercion in [Coercion::Lax, Coercion::Strict] {
        let bytes = body.to_string().into_bytes();
        let general = parse_customer(body, &[Loc::from("body")], coercion);
        assert_eq!(customer_from_json(&bytes, coercion), general, "{body}");
        let batch = json!({ "customers": [body, body] });
        assert_eq!(
            batch_from_json(batch.to_string().as_bytes(), 10, coercion),
            parse_batch(&batch, None, 10, coercion),
            "{batch}"
        );
    }
}

#[test]
fn fast_and_general_paths_agree() {
    agree(&valid());
    let aliased = json!({
        "CreditScore": 619, "Geography": "France", "Gender": "Female", "Age": 42, "Tenure": 2,
        "Balance": 0.0, "NumOfProducts": 1, "HasCrCard": 1, "IsActiveMember": 1, "EstimatedSalary": 1.5
    });
    agree(&aliased);
    let mut both_spellings = valid();
    both_spellings["Age"] = json!(99);
    agree(&both_spellings);
    for (field, bad) in [
        ("age", json!(17)),
        ("age", json!(30.5)),
        ("age", json!("30")),
        ("geography", json!("Italy")),
        ("has_cr_card", json!(2)),
        ("has_cr_card", json!("yes")),
        ("balance", json!("1e3")),
        ("balance", json!("nan")),
        ("customer_id", json!(5)),
        ("customer_id", Value::Null),
        ("balance", json!(-1)),
        ("extra", json!({"nested": [1, 2]})),
    ] {
        let mut body = valid();
        body[field] = bad;
        agree(&body);
    }
    let mut missing = valid();
    missing.as_object_mut().unwrap().remove("tenure");
    agree(&missing);
}

/// Bodies written by hand: escapes (the fast path then owns its string),
/// nested values and unusual scalars where the rules expect others.
#[test]
fn fast_and_general_paths_agree_on_raw_bodies() {
    let rest = r#""credit_score": 619, "age": 42, "tenure": 2, "balance": 0, "num_of_products": 1,
        "is_active_member": 1, "estimated_salary": 1e5"#;
    for (fields, valid) in [
        (
            r#""geography": "Fr\u0061nce", "gender": "Female", "has_cr_card": 1"#,
            true,
        ),
        (
            r#""customer_id": "a\"b\\c", "geography": "Spain", "gender": "Male", "has_cr_card": -0.0"#,
            true,
        ),
        (
            r#""customer_id": null, "geography": "Germany", "gender": "Male", "has_cr_card": 1.0"#,
            true,
        ),
        (
            r#""geography": "France\n", "gender": "Female", "has_cr_card": 1"#,
            false,
        ),
        (
            r#""geography": ["France"], "gender": "Female", "has_cr_card": 1"#,
            false,
        ),
        (
            r#""geography": "France", "gender": {"x": [1, {}]}, "has_cr_card": 1"#,
            false,
        ),
        (
            r#""geography": "France", "gender": "Female", "has_cr_card": null"#,
            false,
        ),
        (r#""geography": "France", "gender": "Female", "has_cr_card": "1""#, true),
        (r#""geography": "France", "gender": true, "has_cr_card": 1"#, false),
        (
            r#""customer_id": ["c"], "geography": "France", "gender": "Female", "has_cr_card": 1"#,
            false,
        ),
    ] {
        let body = format!("{{{fields}, {rest}}}");
        // The reporting path's own reading of the body (`report`).
        let value = report_body(body.as_bytes(), 0).unwrap().value;
        let fast = customer_from_json(body.as_bytes(), Coercion::Lax);
        assert_eq!(
            fast,
            parse_customer(&value, &[Loc::from("body")], Coercion::Lax),
            "{body}"
        );
        assert_eq!(fast.is_ok(), valid, "{body}");
    }
    let age = |text: &str| customer_from_json(format!(r#"{{"age": {text}}}"#).as_bytes(), Coercion::Lax).unwrap_err();
    assert!(age("18446744073709551615").iter().any(|e| e.kind == "less_than_equal"));
}

#[test]
fn malformed_json_and_batch_limits_are_reported() {
    let err = customer_from_json(b"{not json", Coercion::Lax).unwrap_err();
    assert_eq!(err[0].kind, "json_invalid");
    let err = customer_from_json(b"", Coercion::Lax).unwrap_err();
    assert_eq!((err[0].kind, &err[0].loc), ("missing", &vec![Loc::from("body")]));
    assert_eq!(
        batch_from_json(br#"{"customers": []}"#, 10, Coercion::Lax).unwrap_err()[0].kind,
        "too_short"
    );
    let three = json!({ "customers": [valid(), valid(), valid()] }).to_string();
    assert_eq!(
        batch_from_json(three.as_bytes(), 2, Coercion::Lax).unwrap_err()[0].kind,
        "too_long"
    );
    assert_eq!(batch_from_json(three.as_bytes(), 3, Coercion::Lax).unwrap().len(), 3);
}

#[test]
fn a_customer_written_as_a_positional_array_is_rejected_not_read_in_field_order() {
    let body = br#"["c1", 619, "France", "Female", 42, 2, 0.0, 1, 1, 1, 101348.88]"#;
    let errors = customer_from_json(body, Coercion::Lax).unwrap_err();
    assert_eq!(errors[0].loc, vec![Loc::from("body")], "{errors:?}");
}

#[test]
fn a_field_given_by_name_and_by_alias_is_read_as_the_reporting_path_reads_it() {
    let body = br#"{"credit_score": 619, "CreditScore": 700, "geography": "France", "gender": "Female",
        "age": 42, "tenure": 2, "balance": 0.0, "num_of_products": 1, "has_cr_card": 1,
        "is_active_member": 1, "estimated_salary": 101348.88}"#;
    let customer = customer_from_json(body, Coercion::Lax).unwrap();
    assert_eq!(customer.get(Feature::CreditScore), FeatureValue::Number(619.0));
}

/// Where FastAPI (Python's json module) says parsing stopped, checked against
/// it by hand for each body; `tests/parity/` checks thousands more.
#[test]
fn a_json_syntax_error_is_located_at_the_character_where_parsing_stopped() {
    let cases: [(&str, usize); 8] = [
        ("{", 1),
        ("{\"a\": \"abc", 6),
        ("{\"ab", 1),
        ("{'age': 40}", 1),
        ("{\"age\": 40,}", 11),
        ("{\"age\" = 40}", 7),
        ("{\"é\": 1} x", 9),
        ("{\"a\": 1,\n \"b\": }", 15),
    ];
    for (body, offset) in cases {
        let errors = customer_from_json(body.as_bytes(), Coercion::Lax).unwrap_err();
        assert_eq!(errors[0].kind, "json_invalid", "{body}");
        assert_eq!(errors[0].loc, [Loc::from("body"), Loc::Index(offset)], "{body}");
    }
}
