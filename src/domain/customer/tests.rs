use super::*;

fn valid() -> Value {
    json!({
        "credit_score": 619, "geography": "France", "gender": "Female", "age": 42,
        "tenure": 2, "balance": 0.0, "num_of_products": 1, "has_cr_card": 1,
        "is_active_member": 1, "estimated_salary": 101348.88
    })
}

fn errors_for(body: Value) -> Vec<FieldError> {
    parse_customer(&body, &[Loc::from("body")], Coercion::Lax).unwrap_err()
}

#[test]
fn valid_customer_parses() {
    let c = parse_customer(&valid(), &[], Coercion::Lax).unwrap();
    assert_eq!(c.get(Feature::Geography), FeatureValue::Category("France"));
    assert_eq!(c.get(Feature::EstimatedSalary), FeatureValue::Number(101348.88));
    assert_eq!(c.customer_id, None);
}

#[test]
fn data_set_column_names_are_aliases() {
    let body = json!({
        "CreditScore": 619, "Geography": "France", "Gender": "Female", "Age": 42,
        "Tenure": 2, "Balance": 0.0, "NumOfProducts": 1, "HasCrCard": 1,
        "IsActiveMember": 1, "EstimatedSalary": 101348.88
    });
    assert_eq!(
        parse_customer(&body, &[], Coercion::Lax).unwrap(),
        parse_customer(&valid(), &[], Coercion::Lax).unwrap()
    );
}

#[test]
fn flags_accept_booleans() {
    let mut body = valid();
    body["has_cr_card"] = json!(true);
    body["is_active_member"] = json!(false);
    let c = parse_customer(&body, &[], Coercion::Lax).unwrap();
    assert_eq!(c.get(Feature::HasCrCard), FeatureValue::Number(1.0));
    assert_eq!(c.get(Feature::IsActiveMember), FeatureValue::Number(0.0));
}

#[test]
fn every_bad_field_is_reported_at_once() {
    let mut body = valid();
    body["age"] = json!(17);
    body["geography"] = json!("Italy");
    body.as_object_mut().unwrap().remove("tenure");
    let errors = errors_for(body);
    let kinds: Vec<_> = errors
        .iter()
        .map(|e| (e.kind, e.loc.last().cloned().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("literal_error", Loc::from("geography")),
            ("greater_than_equal", Loc::from("age")),
            ("missing", Loc::from("tenure")),
        ]
    );
    assert_eq!(errors[0].msg, "Input should be 'France', 'Spain' or 'Germany'");
    assert_eq!(errors[1].msg, "Input should be greater than or equal to 18");
}

#[test]
fn each_range_rule_rejects_just_outside_its_bounds() {
    let cases = [
        ("credit_score", json!(299), "greater_than_equal"),
        ("credit_score", json!(851), "less_than_equal"),
        ("age", json!(101), "less_than_equal"),
        ("tenure", json!(-1), "greater_than_equal"),
        ("tenure", json!(11), "less_than_equal"),
        ("balance", json!(-0.01), "greater_than_equal"),
        ("num_of_products", json!(0), "greater_than_equal"),
        ("num_of_products", json!(5), "less_than_equal"),
        ("has_cr_card", json!(2), "bool_parsing"),
        ("is_active_member", json!("maybe"), "bool_parsing"),
        ("is_active_member", json!(0.5), "bool_type"),
        ("estimated_salary", json!(-1), "greater_than_equal"),
        ("gender", json!("male"), "literal_error"),
        ("age", json!(30.5), "int_from_float"),
        ("age", json!("30.5"), "int_parsing"),
        ("age", json!(null), "int_type"),
        ("balance", json!("lots"), "float_parsing"),
        ("balance", json!([]), "float_type"),
        ("balance", json!("inf"), "finite_number"),
        ("customer_id", json!(12), "string_type"),
    ];
    for (field, value, kind) in cases {
        let mut body = valid();
        body[field] = value.clone();
        let errors = errors_for(body);
        assert_eq!(errors.len(), 1, "{field}={value}");
        assert_eq!(errors[0].kind, kind, "{field}={value}");
        assert_eq!(errors[0].loc, [Loc::from("body"), Loc::from(field)]);
        assert_eq!(errors[0].input, Some(value));
    }
}

#[test]
fn bounds_are_inclusive_and_whole_floats_are_integers() {
    let mut body = valid();
    body["credit_score"] = json!(300);
    body["age"] = json!(100.0);
    body["tenure"] = json!(10);
    assert!(parse_customer(&body, &[], Coercion::Lax).is_ok());
}

#[test]
fn non_object_body_is_one_error() {
    let errors = errors_for(json!([1, 2]));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, "model_attributes_type");
}

#[test]
fn customer_id_is_kept() {
    let mut body = valid();
    body["customer_id"] = json!("C-42");
    assert_eq!(
        parse_customer(&body, &[], Coercion::Lax)
            .unwrap()
            .customer_id
            .as_deref(),
        Some("C-42")
    );
}

/// What FastAPI with pydantic v2 accepts by default (lax mode), and what the
/// strict switch refuses. `tests/parity/` holds both against FastAPI itself.
#[test]
fn lax_mode_coerces_like_pydantic_and_strict_mode_does_not() {
    let cases = [
        ("credit_score", json!("619"), 619.0),
        ("credit_score", json!(" 619.00 "), 619.0),
        ("age", json!(40.0), 40.0),
        ("age", json!("4_0"), 40.0),
        ("tenure", json!(true), 1.0),
        ("balance", json!("1e3"), 1000.0),
        ("balance", json!(false), 0.0),
        ("has_cr_card", json!("yes"), 1.0),
        ("has_cr_card", json!("OFF"), 0.0),
        ("is_active_member", json!(1.0), 1.0),
        ("is_active_member", json!("1"), 1.0),
    ];
    for (field, value, expected) in cases {
        let mut body = valid();
        body[field] = value.clone();
        let feature = Feature::ALL.into_iter().find(|f| f.api_name() == field).unwrap();
        let lax = parse_customer(&body, &[], Coercion::Lax).unwrap_or_else(|e| panic!("{field}={value}: {e:?}"));
        assert_eq!(lax.get(feature), FeatureValue::Number(expected), "{field}={value}");
        let strict = parse_customer(&body, &[], Coercion::Strict);
        let whole_float = value.is_f64();
        assert_eq!(strict.is_ok(), whole_float, "strict {field}={value}");
    }
    let mut body = valid();
    body["age"] = json!("42");
    body["has_cr_card"] = json!("yes");
    let kinds: Vec<_> = parse_customer(&body, &[], Coercion::Strict)
        .unwrap_err()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["int_type", "literal_error"]);
}
