use super::*;

fn from_toml(toml: &str) -> Result<Settings, ConfigError> {
    let figment = Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(toml));
    Settings::from_figment(figment)
}

#[test]
fn shipped_config_file_equals_built_in_defaults() {
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/configs/default.toml");
    let from_file: Settings = Figment::from(Toml::file(file)).extract().expect("default.toml parses");
    assert_eq!(from_file, Settings::default());
}

#[test]
fn http_threads_default_to_half_the_cores_and_inference_workers_to_one_per_core() {
    let auto = from_toml("").unwrap();
    assert_eq!(auto.http_thread_count(), (cores() / 2).max(1));
    assert_eq!(auto.worker_count(), cores());
    let set = from_toml("http_threads = 3\nworkers = 5").unwrap();
    assert_eq!((set.http_thread_count(), set.worker_count()), (3, 5));
}

#[test]
fn key_list_names_every_field() {
    let value = serde_json::to_value(Settings::default()).unwrap();
    let mut fields: Vec<_> = value.as_object().unwrap().keys().cloned().collect();
    let mut keys: Vec<_> = KEYS.iter().map(|k| k.to_string()).collect();
    fields.sort();
    keys.sort();
    assert_eq!(fields, keys);
}

#[test]
fn bad_value_names_the_key() {
    let err = from_toml("port = \"eighty\"").unwrap_err().to_string();
    assert!(err.contains("port"), "{err}");
    let err = from_toml("threshold = 1.5").unwrap_err().to_string();
    assert!(err.contains("`threshold`"), "{err}");
    let err = from_toml("risk_medium = 0.8").unwrap_err().to_string();
    assert!(err.contains("`risk_high`"), "{err}");
}

#[test]
fn unknown_key_in_file_is_rejected() {
    let err = from_toml("treshold = 0.4").unwrap_err().to_string();
    assert!(err.contains("treshold"), "{err}");
}

#[test]
fn cors_origins_must_be_origins() {
    assert!(from_toml("cors_allowed_origins = [\"https://app.example.com\", \"http://localhost:3000\"]").is_ok());
    let err = from_toml("cors_allowed_origins = [\"app.example.com/path\"]")
        .unwrap_err()
        .to_string();
    assert!(err.contains("`cors_allowed_origins`"), "{err}");
}

#[test]
fn api_keys_accept_comma_separated_string() {
    let s = from_toml("api_keys = \"a, b,,c\"").unwrap();
    assert_eq!(s.api_keys, ["a", "b", "c"]);
}

#[test]
fn environment_overrides_file_and_ignores_foreign_variables() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("c.toml", "port = 9000\nthreshold = 0.4")?;
        jail.set_env("PORT", "9100");
        jail.set_env("CHURN_THRESHOLD", "0.35");
        jail.set_env("CHURN_SERVE_PORT", "tcp://10.0.0.1:80");
        let s = Settings::load(Some(Path::new("c.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(s.port, 9100);
        assert_eq!(s.threshold, 0.35);
        Ok(())
    });
}

#[test]
fn explicit_missing_config_file_is_an_error() {
    let err = Settings::load(Some(Path::new("/nonexistent/churn.toml"))).unwrap_err();
    assert!(matches!(err, ConfigError::MissingFile(_)));
}

#[test]
fn host_is_read_like_port_and_a_bad_one_is_named() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("HOST", "127.0.0.1");
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.host, IpAddr::from([127, 0, 0, 1]));
        jail.set_env("HOST", "my-laptop");
        let err = Settings::load(None).unwrap_err().to_string();
        assert!(err.contains("HOST") && !err.contains('\n'), "{err}");
        jail.set_env("CHURN_HOST", "::1");
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.host, "::1".parse::<IpAddr>().unwrap());
        Ok(())
    });
}

#[test]
fn model_sources_are_checked_when_configured() {
    let invalid = |toml: &str| match from_toml(toml) {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("{toml}: {other:?}"),
    };
    assert_eq!(invalid("model_uri = \"https://h/churn.onnx\""), "model_sha256");
    assert_eq!(invalid("model_sha256 = \"abc\""), "model_sha256");
    assert_eq!(invalid("model_uri = \"models:/churn@champion\""), "model_uri");
    assert_eq!(
        invalid("model_uri = \"models:/churn\"\nmlflow_tracking_uri = \"http://m:5000\""),
        "model_uri"
    );
    for bad in ["Churn", "churn_pipeline", "-churn", "churn-", &"a".repeat(64)] {
        assert_eq!(invalid(&format!("model_name = \"{bad}\"")), "model_name", "{bad}");
    }
    let s = from_toml(&format!(
        "model_uri = \"https://h/churn.onnx\"\nmodel_sha256 = \"{}\"\nmodel_name = \"churn-v2\"",
        "ab".repeat(32)
    ))
    .unwrap();
    assert_eq!(s.model_name, "churn-v2");
    from_toml("model_uri = \"models:/churn/3\"\nmlflow_tracking_uri = \"http://127.0.0.1:5000\"").unwrap();
}

#[test]
fn the_model_source_and_admin_keys_are_read_from_plain_and_prefixed_env() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("MODEL_URI", "models:/churn@champion");
        jail.set_env("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000");
        jail.set_env("CHURN_MODEL_POLL_SECS", "30");
        jail.set_env("CHURN_ADMIN_API_KEYS", "a1, a2");
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.model_uri, "models:/churn@champion");
        assert_eq!(s.mlflow_tracking_uri, "http://127.0.0.1:5000");
        assert_eq!(s.model_poll_secs, 30);
        assert_eq!(s.admin_api_keys, ["a1", "a2"]);
        Ok(())
    });
}

#[test]
fn keys_and_hashes_made_of_digits_are_read_as_written() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("API_KEYS", "123456");
        jail.set_env("CHURN_ADMIN_API_KEYS", "true");
        jail.set_env("MODEL_SHA256", "0".repeat(64));
        jail.set_env("CHURN_MODEL_NAME", "0123");
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.api_keys, ["123456"]);
        assert_eq!(s.admin_api_keys, ["true"]);
        assert_eq!(s.model_sha256, "0".repeat(64));
        assert_eq!(s.model_name, "0123");
        jail.set_env("CHURN_API_KEYS", "prefixed");
        let s = Settings::load(None).map_err(|e| e.to_string())?;
        assert_eq!(s.api_keys, ["prefixed"], "the prefixed name wins");
        Ok(())
    });
}
