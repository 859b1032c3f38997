//! The playbook's text and place: where a value is written (for messages), and the directory
//! that relative paths in it start from. The small checks every key shares live here too:
//! non-empty text, environment variable names, file paths, secret sources.

use super::SecretSource;
use super::error::PlaybookError;
use super::raw::Text;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The playbook being read: its path and text, and `$HOME` for `~/` paths.
pub(super) struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    pub home: Option<PathBuf>,
}

impl Source<'_> {
    /// An error at the start of `span` (a byte range of the text, as the TOML parser gives).
    pub fn error(&self, span: Range<usize>, message: impl Into<String>) -> PlaybookError {
        let (line, column) = self.position(span.start);
        PlaybookError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }

    /// The 1-based line of a byte offset, for messages that point at a second place.
    pub fn line(&self, offset: usize) -> usize {
        self.position(offset).0
    }

    /// 1-based line and column (in characters, as editors count them) of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = (0..=offset.min(self.text.len()))
            .rev()
            .find(|&i| self.text.is_char_boundary(i))
            .unwrap_or(0);
        let before = &self.text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = before.matches('\n').count() + 1;
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    /// The value of `key`, refused when it is empty: an empty name names nothing.
    pub fn text(&self, value: &Spanned<String>, key: &str) -> Result<String, PlaybookError> {
        let text = value.get_ref().trim();
        if text.is_empty() {
            return Err(self.error(value.span(), format!("`{key}` is empty")));
        }
        Ok(text.to_string())
    }

    /// An environment variable's name. Only the name is kept: the variable is read when the
    /// playbook runs, so a playbook can be checked on a machine that does not have it.
    pub fn env_name(&self, value: &Spanned<String>, key: &str) -> Result<String, PlaybookError> {
        let name = value.get_ref();
        let mut chars = name.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Ok(name.clone());
        }
        let hint = match name.strip_prefix('$') {
            Some(bare) => format!("; write {bare:?} without the $"),
            None => String::new(),
        };
        Err(self.error(
            value.span(),
            format!(
                "`{key}` names an environment variable, and {name:?} is not a variable name \
                 (letters, digits and _, not starting with a digit){hint}"
            ),
        ))
    }

    /// A file named in the playbook: `~/` is the user's home, and a relative path starts from
    /// the playbook's own directory, so the playbook works from whatever directory it is run.
    pub fn file(&self, value: &Spanned<String>, key: &str) -> Result<PathBuf, PlaybookError> {
        let raw = self.text(value, key)?;
        let at = |message: String| self.error(value.span(), message);
        if let Some(rest) = raw.strip_prefix('~') {
            let Some(rest) = rest.strip_prefix('/').or(rest.is_empty().then_some("")) else {
                return Err(at(format!(
                    "`{key}`: only ~/ (your own home) is expanded; write {raw:?} as a full path"
                )));
            };
            let home = self
                .home
                .as_ref()
                .ok_or_else(|| at(format!("`{key}` starts with ~/ but HOME is not set")))?;
            return Ok(home.join(rest));
        }
        let base = self.path.parent().unwrap_or(Path::new(""));
        Ok(base.join(raw))
    }

    /// Where a secret comes from: `env_key` (a variable) or `file_key` (a file), not both.
    pub fn secret(
        &self,
        (env_key, env): (&str, &Text),
        (file_key, file): (&str, &Text),
    ) -> Result<Option<SecretSource>, PlaybookError> {
        match (env, file) {
            (Some(_), Some(file)) => Err(self.error(
                file.span(),
                format!("`{env_key}` and `{file_key}` both say where the secret is; keep one"),
            )),
            (Some(env), None) => Ok(Some(SecretSource::Env(self.env_name(env, env_key)?))),
            (None, Some(file)) => Ok(Some(SecretSource::File(self.file(file, file_key)?))),
            (None, None) => Ok(None),
        }
    }
}
