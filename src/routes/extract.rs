//! A JSON extractor whose rejections use the service's error shape (axum's
//! own would answer with plain text).

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::AppError;

#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// Query parameters, with rejections in the service's error shape.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);
