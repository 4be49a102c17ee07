//! The account rules people type against: the username (every user has one, chosen at
//! registration, unique in the organization whatever its case) and the password. Checked the
//! same way by the server and, as people type, by the apps.

/// Shortest and longest username.
pub const USERNAME_MIN: usize = 3;
pub const USERNAME_MAX: usize = 32;

/// The one sentence every refusal shows.
pub const USERNAME_RULE: &str = "A username has 3 to 32 characters: letters a-z, digits 0-9, \
     dots, underscores and dashes, for example jane.doe";

/// Checks a username and returns it trimmed and in lower case; the error is a sentence a
/// person can act on.
///
/// ```
/// use access_domain::normalize_username;
/// assert_eq!(normalize_username(" Jane.Doe ").unwrap(), "jane.doe");
/// assert!(normalize_username("jd").unwrap_err().contains("3 to 32"));
/// assert!(normalize_username("jane doe").is_err());
/// ```
pub fn normalize_username(raw: &str) -> Result<String, String> {
    let name = raw.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Err(format!("Choose a username. {USERNAME_RULE}."));
    }
    let n = name.chars().count();
    if !(USERNAME_MIN..=USERNAME_MAX).contains(&n) {
        return Err(format!(
            "The username {:?} has {n} characters. {USERNAME_RULE}.",
            raw.trim()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(*c)))
    {
        return Err(format!(
            "The username may not contain {bad:?}. {USERNAME_RULE}."
        ));
    }
    Ok(name)
}

/// Shortest and longest password, in characters and in bytes.
pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_BYTES: usize = 1024;

/// Checks a new password (registration, reset); the error is a sentence a person can act on.
///
/// ```
/// use access_domain::check_password;
/// assert!(check_password("correct-horse").is_ok());
/// assert!(check_password("short").unwrap_err().contains("at least 8"));
/// ```
pub fn check_password(password: &str) -> Result<(), String> {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        return Err(format!(
            "The password must be at least {PASSWORD_MIN_CHARS} characters long."
        ));
    }
    if password.len() > PASSWORD_MAX_BYTES {
        return Err(format!(
            "The password must be at most {PASSWORD_MAX_BYTES} bytes long."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_folded_and_checked() {
        assert_eq!(normalize_username("ADA_l-1.x").unwrap(), "ada_l-1.x");
        assert_eq!(normalize_username(&"a".repeat(32)).unwrap().len(), 32);
        for bad in ["", "  ", "ab", &"a".repeat(33), "jane doe", "jäne", "a@b.c"] {
            let e = normalize_username(bad).unwrap_err();
            assert!(e.contains("3 to 32"), "{bad}: {e}");
        }
    }
}
