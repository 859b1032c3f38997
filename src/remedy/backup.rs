//! Backups on the guest. Every path a run changes is first recorded under
//! `/var/backups/lifeline/<id>/`: a copy of each file with its mode, owner, SELinux label and
//! SHA-256 in a manifest, and the paths that did not exist, so that `undo` can remove them. The
//! id is the UTC time of the run; a run that changes nothing leaves no backup. The guest side
//! (recording and restoring) is `backup.sh`; undoing and listing are in `ops/undo.rs`.

use super::RemedyError;
use serde::Serialize;
use std::fmt;

pub(super) const SCRIPT: &str = include_str!("backup.sh");

/// Where backups live on the guest.
pub const BACKUP_ROOT: &str = "/var/backups/lifeline";

/// A backup's id: the UTC time it was made, `20261121T095012Z`, with `-N` appended when two
/// runs fell into the same second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupId(String);

impl BackupId {
    pub fn parse(id: &str) -> Result<Self, RemedyError> {
        let (time, suffix) = id.split_once('-').unwrap_or((id, "1"));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        // Compared as bytes: a guest or a user can put any character anywhere, and a string
        // index inside one would panic.
        let t = time.as_bytes();
        let well_formed = t.len() == 16
            && t[..8].iter().all(u8::is_ascii_digit)
            && t[8] == b'T'
            && t[9..15].iter().all(u8::is_ascii_digit)
            && t[15] == b'Z'
            && digits(suffix);
        if well_formed {
            Ok(BackupId(id.to_string()))
        } else {
            Err(RemedyError::BackupId(id.to_string()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The backup's directory on the guest.
    pub fn path(&self) -> String {
        format!("{BACKUP_ROOT}/{}", self.0)
    }
}

impl fmt::Display for BackupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A backup on the guest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Backup {
    pub id: BackupId,
    /// The operation that made it (`reset-ssh`, `user add`, `undo 2026…`).
    pub operation: String,
    /// When, in UTC (RFC 3339).
    pub created: String,
    /// The paths it holds, in the order undo restores them.
    pub paths: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_ids_are_times() {
        for ok in ["20261121T095012Z", "20261121T095012Z-2"] {
            assert_eq!(BackupId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "latest",
            "1234567é1234567",
            "12345678T12345é",
            "20261121T095012",
            "../../etc",
            "20261121T095012Z-",
            "2026112xT095012Z",
        ] {
            assert!(BackupId::parse(bad).is_err(), "{bad}");
        }
    }
}
