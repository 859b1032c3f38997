//! User names, checked on the client before they go into a guest script.

use super::RemedyError;
use std::fmt;

/// A user name lifeline accepts: what useradd accepts by default on every distribution we
/// know (a letter or `_` first, then letters, digits, `_`, `.`, `-`; at most 32 characters),
/// and not all capitals: sudoers reads such a word (`ALL`, `ADMINS`) as an alias, so
/// `user add ALL --sudo` would give every user root. Nothing else can reach a shell or a
/// sudoers line.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserName(String);

impl UserName {
    pub fn new(name: &str) -> Result<Self, RemedyError> {
        let invalid = |why: &str| RemedyError::UserName {
            name: name.to_string(),
            why: why.to_string(),
        };
        let first = name.chars().next().ok_or_else(|| invalid("it is empty"))?;
        if name.len() > 32 {
            return Err(invalid("it is longer than 32 characters"));
        }
        if !(first.is_ascii_alphabetic() || first == '_') {
            return Err(invalid("it must start with a letter or _"));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(invalid(&format!(
                "{c:?} is not allowed (letters, digits, _ . - only)"
            )));
        }
        if name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(invalid(
                "sudoers reads a name of capitals, digits and _ only as an alias (ALL, ADMINS): \
                 use at least one small letter",
            ));
        }
        Ok(UserName(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_names_pass_and_shell_syntax_does_not() {
        for ok in ["azureuser", "_svc", "a.b-c_1", "Admin"] {
            assert!(UserName::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "-rf",
            "1user",
            "a b",
            "a'b",
            "a;b",
            "root$(id)",
            &"x".repeat(33),
            "ALL",
            "ADMINS_2",
            "_",
        ] {
            assert!(UserName::new(bad).is_err(), "{bad:?}");
        }
    }
}
