//! OpenAPI document generated from the handlers and types, and the Swagger
//! UI at `/docs`, whose assets are compiled into the binary (nothing is
//! fetched from the internet).

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::{drift, health, metrics, model, predict, schema, v2};

pub const TITLE: &str = "Churn Prediction API";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Churn Prediction API",
        description = "Bank customer churn prediction served from an ONNX-exported scikit-learn pipeline. \
                       Error bodies follow FastAPI: `{\"detail\": ...}`; Open Inference Protocol routes use `{\"error\": ...}`."
    ),
    paths(
        predict::predict, predict::predict_batch, model::model, drift::drift,
        health::health, health::live, health::ready, metrics::metrics,
        v2::server_metadata, v2::live, v2::ready, v2::model_metadata, v2::model_ready, v2::infer,
    ),
    components(schemas(schema::ErrorBody, schema::V2ErrorBody)),
    modifiers(&Security),
    tags(
        (name = "prediction", description = "Churn predictions"),
        (name = "model", description = "The model being served"),
        (name = "operations", description = "Probes and metrics"),
        (name = "open-inference-protocol", description = "KServe / Triton V2 REST protocol"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new(super::auth::API_KEY_HEADER))),
        );
    }
}

pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}

/// `/docs` (Swagger UI) and `/openapi.json`.
pub fn swagger_ui() -> SwaggerUi {
    // validator_url "none": Swagger UI would otherwise load a badge from
    // validator.swagger.io, and this page must work offline.
    let config = Config::from("/openapi.json")
        .validator_url("none")
        .try_it_out_enabled(true);
    SwaggerUi::new("/docs").url("/openapi.json", openapi()).config(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_is_openapi_3_1_and_lists_every_route() {
        let spec = serde_json::to_value(openapi()).unwrap();
        assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
        assert_eq!(spec["info"]["title"], TITLE);
        for path in [
            "/api/v1/predict",
            "/api/v1/predict/batch",
            "/api/v1/model",
            "/health",
            "/metrics",
            "/v2/models/{name}/infer",
        ] {
            assert!(spec["paths"].get(path).is_some(), "{path} missing");
        }
    }
}
