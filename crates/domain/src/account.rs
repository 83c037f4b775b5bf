//! Account rules: email normalisation, password policy, tenant names.

use crate::validation::{FieldError, FieldErrors};

pub const PASSWORD_MIN_CHARS: usize = 10;
/// Argon2 accepts longer input, but an unbounded password is a cheap way to burn our CPU.
pub const PASSWORD_MAX_CHARS: usize = 128;
pub const TENANT_NAME_MAX_CHARS: usize = 100;
const EMAIL_MAX_CHARS: usize = 254;

/// A validated sign-up request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub tenant_name: String,
    pub email: String,
    pub password: String,
}

impl Registration {
    /// Normalises and checks every field, reporting all problems together.
    pub fn parse(tenant_name: &str, email: &str, password: &str) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let tenant_name = tenant_name.trim();
        if tenant_name.is_empty() {
            errors.add("tenant_name", "must not be empty");
        } else if tenant_name.chars().count() > TENANT_NAME_MAX_CHARS {
            errors.add(
                "tenant_name",
                format!("must be at most {TENANT_NAME_MAX_CHARS} characters"),
            );
        }
        let email = match normalize_email(email) {
            Ok(email) => email,
            Err(message) => {
                errors.add("email", message);
                String::new()
            }
        };
        if let Err(message) = check_password(password) {
            errors.add("password", message);
        }
        errors.finish()?;
        Ok(Self {
            tenant_name: tenant_name.to_owned(),
            email,
            password: password.to_owned(),
        })
    }
}

/// Trims and lower-cases an address and checks its shape. Lower-casing the local part is
/// technically lossy, but every mail provider we will meet treats it case-insensitively,
/// and two accounts differing only by case would be a support nightmare.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("must not be empty");
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return Err("is too long");
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("must be an email address like name@example.com");
    };
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || !domain_ok || email.chars().any(char::is_whitespace) {
        return Err("must be an email address like name@example.com");
    }
    Ok(email)
}

/// The password policy: long enough to resist guessing, not so long it costs us a DoS.
/// Length beats composition rules (NIST SP 800-63B), so we only ask for some variety.
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(format!("must be at least {PASSWORD_MIN_CHARS} characters"));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"));
    }
    let has_letter = password.chars().any(char::is_alphabetic);
    let has_other = password.chars().any(|c| !c.is_alphabetic());
    if !has_letter || !has_other {
        return Err("must mix letters with digits or symbols".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(
            normalize_email("  Ann.Lee@Example.COM ").as_deref(),
            Ok("ann.lee@example.com")
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "a b@example.com",
            "ann@.com",
            "ann@example..com",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn password_policy() {
        assert!(check_password("short1").is_err());
        assert!(check_password("onlyletterslong").is_err());
        assert!(check_password("1234567890123").is_err());
        assert!(check_password(&"a1".repeat(65)).is_err());
        assert!(check_password("correct horse 9").is_ok());
    }

    #[test]
    fn registration_reports_every_bad_field() {
        let errors = Registration::parse(" ", "nope", "x").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["tenant_name", "email", "password"]);
    }

    #[test]
    fn registration_normalises() {
        let r = Registration::parse("  Acme  ", "Owner@Acme.io", "s3cure-enough").unwrap();
        assert_eq!(r.tenant_name, "Acme");
        assert_eq!(r.email, "owner@acme.io");
    }
}
