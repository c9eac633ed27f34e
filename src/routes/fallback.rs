//! JSON answers for unknown routes and wrong methods.

use crate::error::AppError;

pub async fn not_found() -> AppError {
    AppError::NotFound
}

pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
