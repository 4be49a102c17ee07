//! Checks of what people type, shared by the handlers, the services and the operator's
//! commands: each answers the API's validation error with a sentence a person can act on.

use crate::error::{ApiError, ApiResult};

/// Trims a display name and checks it: 1 to `max` characters, no control characters.
pub fn clean_name(raw: &str, what: &str, max: usize) -> ApiResult<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(ApiError::validation(format!("{what} must not be empty.")));
    }
    if name.chars().count() > max {
        return Err(ApiError::validation(format!(
            "{what} must be at most {max} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::validation(format!(
            "{what} must not contain control characters."
        )));
    }
    Ok(name.to_string())
}

/// Checks the shape of an email address (one `@`, a dot in the domain, no spaces).
pub fn clean_email(raw: &str) -> ApiResult<String> {
    let email = raw.trim();
    let ok = email.len() <= 254
        && email.split('@').count() == 2
        && email.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !d.ends_with('.')
        })
        && !email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"(),;:[]\\".contains(c));
    if ok {
        Ok(email.to_string())
    } else {
        Err(ApiError::validation(format!(
            "{email:?} is not a valid email address, e.g. name@example.com."
        )))
    }
}

/// Checks a phone number with the `+1` rule the apps apply as people type, and answers
/// it in E.164 (`+15551234567`).
pub fn clean_phone(raw: &str) -> ApiResult<String> {
    access_domain::normalize_phone(raw).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            access_domain::api::error_codes::INVALID_PHONE,
            e.to_string(),
        )
    })
}
