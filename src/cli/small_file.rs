//! Files the operator names on the command line (a password file, a key file), read up to a
//! size their job needs: a path given by mistake (a disk image, `/dev/zero`) is refused after
//! `limit` bytes instead of being read whole.

use super::UsageError;
use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::Path;

/// The file as text, or a usage error naming the file and the limit when it is larger.
pub fn read(path: &Path, what: &str, limit: usize) -> Result<String> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("could not read the {what} {}", path.display()))?;
    let mut text = String::new();
    file.take(limit as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("could not read the {what} {}", path.display()))?;
    if text.len() > limit {
        bail!(UsageError(format!(
            "the {what} {} is larger than {limit} bytes; is it the right file?",
            path.display()
        )));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of this test's own, under the temp directory.
    fn written(name: &str, text: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!("ll-small-{name}-{}", std::process::id()));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_file_at_the_limit_is_read() {
        let path = written("at", "abcd");
        assert_eq!(read(&path, "key file", 4).unwrap(), "abcd");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_file_past_the_limit_is_a_usage_error_that_quotes_nothing() {
        let path = written("past", "secret!");
        let err = read(&path, "password file", 4).unwrap_err();
        std::fs::remove_file(path).unwrap();
        assert!(err.downcast_ref::<UsageError>().is_some(), "{err:#}");
        let said = format!("{err:#}");
        assert!(said.contains("larger than 4 bytes"), "{said}");
        assert!(!said.contains("secret"), "{said}");
    }

    #[test]
    fn an_endless_file_stops_at_the_limit() {
        let err = read(Path::new("/dev/zero"), "key file", 1 << 20).unwrap_err();
        assert!(format!("{err:#}").contains("larger than"), "{err:#}");
    }
}
