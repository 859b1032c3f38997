//! `operations = [...]`: each entry checked against what its operation takes, so a playbook
//! that would stop halfway through a fleet for a typo is refused before the first console.

use super::Operation;
use super::error::PlaybookError;
use super::raw::{OperationEntry, RawOperation};
use super::source::Source;
use crate::remedy::UserName;
use std::path::PathBuf;
use toml::Spanned;

/// Builds one operation from its entry; the keys have already been checked against the list.
type Build = fn(&Source, &Spanned<OperationEntry>) -> Result<Operation, PlaybookError>;

/// Every operation a playbook can name, the keys it takes besides `op`, and how it is built.
const OPERATIONS: [(&str, &[&str], Build); 6] = [
    ("rescue", &[], |_, _| Ok(Operation::Rescue)),
    ("reset-ssh", &["keep_ports"], |_, entry| {
        Ok(Operation::ResetSsh {
            keep_ports: flag(&entry.get_ref().0.keep_ports),
        })
    }),
    (
        "reset-password",
        &["user", "new_password_env", "new_password_file"],
        |source, entry| {
            Ok(Operation::ResetPassword {
                user: user(source, entry)?,
                password: new_password(source, &entry.get_ref().0)?.ok_or_else(|| {
                    needs(
                        source,
                        entry,
                        "the new password: new_password_env = \"VAR\" or new_password_file = \"PATH\"",
                    )
                })?,
            })
        },
    ),
    ("reset-key", &["user", "ssh_key_file"], |source, entry| {
        Ok(Operation::ResetKey {
            user: user(source, entry)?,
            ssh_key_file: key_file(source, &entry.get_ref().0)?.ok_or_else(|| {
                needs(source, entry, "the public key: ssh_key_file = \"PATH.pub\"")
            })?,
        })
    }),
    (
        "add-user",
        &[
            "user",
            "sudo",
            "ssh_key_file",
            "new_password_env",
            "new_password_file",
        ],
        |source, entry| {
            let raw = &entry.get_ref().0;
            Ok(Operation::AddUser {
                user: user(source, entry)?,
                sudo: flag(&raw.sudo),
                ssh_key_file: key_file(source, raw)?,
                password: new_password(source, raw)?,
            })
        },
    ),
    ("remove-user", &["user"], |source, entry| {
        Ok(Operation::RemoveUser {
            user: user(source, entry)?,
        })
    }),
];

/// The operations of a list, which must not be empty.
pub(super) fn operations(
    source: &Source,
    list: &Spanned<Vec<Spanned<OperationEntry>>>,
) -> Result<Vec<Operation>, PlaybookError> {
    if list.get_ref().is_empty() {
        return Err(source.error(
            list.span(),
            "`operations` is empty; list what to do, for example operations = [\"rescue\"]",
        ));
    }
    list.get_ref()
        .iter()
        .map(|entry| operation(source, entry))
        .collect()
}

fn operation(source: &Source, entry: &Spanned<OperationEntry>) -> Result<Operation, PlaybookError> {
    let raw = &entry.get_ref().0;
    let Some((name, takes, build)) = OPERATIONS.iter().find(|(name, ..)| *name == raw.op) else {
        let known: Vec<&str> = OPERATIONS.iter().map(|(name, ..)| *name).collect();
        return Err(source.error(
            entry.span(),
            format!(
                "{:?} is not an operation; the operations are {}",
                raw.op,
                known.join(", ")
            ),
        ));
    };
    if let Some((key, span)) = raw.keys().into_iter().find(|(key, _)| !takes.contains(key)) {
        let takes = match takes {
            [] => "no other keys".to_string(),
            keys => keys.join(", "),
        };
        return Err(source.error(
            span,
            format!("{name} does not take `{key}` (it takes {takes})"),
        ));
    }
    build(source, entry)
}

/// The account the operation changes, checked by the same rules as on the command line: it
/// ends up in a guest script, so nothing but an ordinary user name may get there.
fn user(source: &Source, entry: &Spanned<OperationEntry>) -> Result<String, PlaybookError> {
    let raw = &entry.get_ref().0;
    let value = raw.user.as_ref().ok_or_else(|| {
        needs(
            source,
            entry,
            "`user`, the account it changes, e.g. user = \"alice\"",
        )
    })?;
    UserName::new(value.get_ref())
        .map(|name| name.to_string())
        .map_err(|e| source.error(value.span(), e.to_string()))
}

fn new_password(
    source: &Source,
    raw: &RawOperation,
) -> Result<Option<super::SecretSource>, PlaybookError> {
    source.secret(
        ("new_password_env", &raw.new_password_env),
        ("new_password_file", &raw.new_password_file),
    )
}

fn key_file(source: &Source, raw: &RawOperation) -> Result<Option<PathBuf>, PlaybookError> {
    raw.ssh_key_file
        .as_ref()
        .map(|file| source.file(file, "ssh_key_file"))
        .transpose()
}

fn flag(value: &Option<Spanned<bool>>) -> bool {
    value.as_ref().is_some_and(|v| *v.get_ref())
}

/// "OPERATION needs WHAT", at the operation's entry.
fn needs(source: &Source, entry: &Spanned<OperationEntry>, what: &str) -> PlaybookError {
    source.error(
        entry.span(),
        format!("{} needs {what}", entry.get_ref().0.op),
    )
}
