//! SSH public keys as a user hands them over (the contents of an `id_*.pub` file), checked on
//! the client: the key type is one OpenSSH knows and the base64 blob really is a key of that
//! type. The guest checks them again with `ssh-keygen -l` when it has one.

use super::RemedyError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// One or more `authorized_keys` lines: `TYPE BASE64 [COMMENT]`, without options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeys(Vec<String>);

impl PublicKeys {
    /// Parses the text of a public key file; blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Self, RemedyError> {
        let mut keys = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            check_line(line).map_err(|why| RemedyError::PublicKey {
                line: index + 1,
                why,
            })?;
            keys.push(line.to_string());
        }
        if keys.is_empty() {
            return Err(RemedyError::PublicKey {
                line: 0,
                why: "there is no key in it".into(),
            });
        }
        Ok(PublicKeys(keys))
    }

    pub fn lines(&self) -> &[String] {
        &self.0
    }
}

fn check_line(line: &str) -> Result<(), String> {
    if line.contains("PRIVATE KEY") {
        return Err("this is a private key; give the .pub file".into());
    }
    if line.starts_with("---- BEGIN SSH2") {
        return Err("an RFC 4716 key; convert it with ssh-keygen -i -f FILE first".into());
    }
    if line.chars().any(|c| c.is_control() && c != '\t') {
        return Err("it contains control characters".into());
    }
    let mut fields = line.split_whitespace();
    let kind = fields.next().unwrap_or_default();
    if !["ssh-", "ecdsa-", "sk-"]
        .iter()
        .any(|p| kind.starts_with(p))
    {
        // The word itself is not quoted: a password file given by mistake would be printed.
        return Err(
            "the first word is not an OpenSSH key type (ssh-…, ecdsa-…, sk-…); options before the key are not accepted"
                .into(),
        );
    }
    let blob = fields
        .next()
        .ok_or_else(|| format!("the {kind} key has no base64 part"))?;
    let bytes = STANDARD
        .decode(blob)
        .map_err(|e| format!("the key's base64 part does not decode: {e}"))?;
    // The blob starts with its own type as an SSH string: a 4-byte length, then the name.
    let named = bytes
        .get(..4)
        .map(|n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]) as usize)
        .and_then(|n| bytes.get(4..4 + n));
    if named != Some(kind.as_bytes()) {
        return Err(format!(
            "the key's base64 part is not a {kind} key (truncated or pasted wrongly?)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED25519: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host";

    #[test]
    fn a_public_key_file_parses() {
        let keys = PublicKeys::parse(&format!("# mine\n\n{ED25519}\n")).unwrap();
        assert_eq!(keys.lines(), [ED25519.to_string()]);
    }

    #[test]
    fn wrong_things_are_refused_with_the_line() {
        let cases = [
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "from=\"10.0.0.1\" ssh-ed25519 AAAA",
            "ssh-ed25519",
            "ssh-ed25519 !!!",
            "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
        ];
        for case in cases {
            match PublicKeys::parse(&format!("\n{case}")) {
                Err(RemedyError::PublicKey { line: 2, .. }) => {}
                other => panic!("{case}: {other:?}"),
            }
        }
        assert!(PublicKeys::parse("# nothing\n").is_err());
    }

    #[test]
    fn a_password_file_given_by_mistake_is_not_quoted_back() {
        let err = PublicKeys::parse("hunter2-secret\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
