//! A JSON extractor whose rejections use the service's error shape (axum's
//! own would answer with plain text).

use axum::extract::FromRequest;

use crate::error::AppError;

#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);
