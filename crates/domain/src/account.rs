//! Account rules: email normalisation, password policy, tenant names.

use crate::validation::{FieldError, FieldErrors};

pub const PASSWORD_MIN_CHARS: usize = 12;
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
        if let Err(message) = check_password(password, &[&email, tenant_name]) {
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

/// The password policy (OWASP ASVS level 2, NIST SP 800-63B): at least 12 characters, no
/// composition rules, and not guessable: zxcvbn's estimate, which knows common passwords,
/// keyboard patterns, dictionary words, dates and the account's own names (`context`),
/// must reach "safely unguessable" (score 3 of 4). Not so long that hashing is a DoS.
pub fn check_password(password: &str, context: &[&str]) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        return Err(format!("must be at least {PASSWORD_MIN_CHARS} characters"));
    }
    if chars > PASSWORD_MAX_CHARS {
        return Err(format!("must be at most {PASSWORD_MAX_CHARS} characters"));
    }
    // The account's names count whole and word by word ("owner@acme.example" → "acme").
    let words: Vec<String> = context
        .iter()
        .flat_map(|c| {
            std::iter::once(c.to_lowercase()).chain(
                c.split(|ch: char| !ch.is_alphanumeric())
                    .filter(|w| w.len() >= 3)
                    .map(str::to_lowercase),
            )
        })
        .collect();
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &words);
    if estimate.score() < zxcvbn::Score::Three {
        let why = estimate
            .feedback()
            .and_then(|f| f.warning())
            .map(|w| format!(" ({})", w.to_string().trim_end_matches('.').to_lowercase()))
            .unwrap_or_default();
        return Err(format!(
            "is too easy to guess{why}: try a longer phrase of unrelated words"
        ));
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
        assert!(check_password("short1", &[]).is_err());
        assert!(check_password("password12", &[]).is_err(), "too short");
        for guessable in [
            "password1234",
            "qwerty123456",
            "1234567890123",
            "aaaaaaaaaaaaaaaa",
        ] {
            let why = check_password(guessable, &[]).unwrap_err();
            assert!(
                why.starts_with("is too easy to guess"),
                "{guessable}: {why}"
            );
        }
        // The account's own names do not make a password.
        let names = ["owner@acme.example", "Acme Shop"];
        assert!(check_password("acme shop acme", &names).is_err());
        assert!(
            check_password("acme shop acme", &[]).is_ok(),
            "only the account's names"
        );
        assert!(check_password(&"a1".repeat(65), &[]).is_err());
        assert!(check_password("correct horse 9", &[]).is_ok());
        assert!(check_password("a long enough password", &[]).is_ok());
    }

    #[test]
    fn registration_reports_every_bad_field() {
        let errors = Registration::parse(" ", "nope", "x").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["tenant_name", "email", "password"]);
    }

    #[test]
    fn registration_normalises() {
        let r = Registration::parse("  Acme  ", "Owner@Acme.io", "correct horse 9").unwrap();
        assert_eq!(r.tenant_name, "Acme");
        assert_eq!(r.email, "owner@acme.io");
    }
}

/// What a member (or an API key) of a tenant may do; each role may do all the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Figures and lists, with customers' personal data masked.
    Viewer,
    /// Every figure and list, and exports.
    Analyst,
    /// Also stores, syncs, replays, members, invitations and API keys.
    Admin,
    /// Also the tenant itself: deleting it, handing it over.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Viewer, Role::Analyst, Role::Admin, Role::Owner];

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }
}

#[cfg(test)]
mod role_tests {
    use super::Role;

    #[test]
    fn roles_are_ordered_and_named() {
        assert!(Role::Viewer < Role::Analyst && Role::Analyst < Role::Admin);
        assert!(Role::Admin < Role::Owner);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.name()), Some(role));
        }
        assert_eq!(Role::parse("superuser"), None);
    }
}
