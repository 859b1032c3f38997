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

    /// `body` run locally after the runtime; the scratch root is removed.
    fn local(body: &str) -> String {
        let (dir, out) = crate::remedy::plan::run_locally(&[], body);
        std::fs::remove_dir_all(dir).ok();
        out
    }

    #[test]
    fn a_path_is_recorded_once_with_its_mode_owner_and_checksum_and_links_are_refused() {
        let out = local(
            "printf 'x\\n' >\"$T/f\"; chmod 640 \"$T/f\"; mkdir -m 751 \"$T/d\"; ln -s f \"$T/l\"\n\
             ll_next \"$T/nowhere\"\n\
             ll_backup \"$T/f\" \"$T/d\" \"$T/gone\" \"$T/f\"; echo \"status $?\"\n\
             ll_next \"$LL_BDIR\"; ll_sha256 \"$T/f\"; echo\n\
             ll_selinux && echo selinux || echo \"label $(ll_label \"$T/f\")\"\n\
             tail -n 3 \"$LL_BDIR/manifest\" | cut -f1-6,7 | sed \"s#$T#T#\"\n\
             cmp \"$LL_SDIR/paths\" \"$LL_BDIR/paths\" && cmp \"$T/f\" \"$LL_BDIR/files/1\" && echo same\n\
             ll_record \"$LL_BDIR\" \"$T/l\"; echo \"link $? $LL_STEP_ERR\" | sed \"s#$T#T#\"\n\
             ll_record \"$LL_BDIR\" /dev/null; echo \"device $? $LL_STEP_ERR\"",
        );
        let sha = "73cb3858a687a8494ca3323053016282f3dad39d42cf62ca4e79dda2aac7d9ac";
        let lines: Vec<&str> = out
            .lines()
            .filter(|l| !l.starts_with("ll\tbackup\t"))
            .collect();
        assert_eq!(lines[..3], ["1", "status 0", "4"], "{out}");
        assert_eq!(lines[3], sha);
        if !std::path::Path::new("/sys/fs/selinux/enforce").exists() {
            assert_eq!(lines[4], "label -");
        }
        assert_eq!(lines[5], format!("file\t1\t640\t0\t0\t-\t{sha}"));
        assert_eq!(lines[6], "meta\t2\t751\t0\t0\t-\t-");
        assert_eq!(lines[7], "absent\t3\t-\t-\t-\t-\t-");
        assert_eq!(
            lines[8..],
            [
                "same",
                "link 1 T/l is a symbolic link: lifeline does not change paths through links",
                "device 1 /dev/null is neither a regular file nor a directory",
            ]
        );
    }

    #[test]
    fn restoring_puts_back_what_differs_last_first_and_refuses_a_damaged_copy() {
        let out = local(
            "printf 'x\\n' >\"$T/f\"; chmod 640 \"$T/f\"; mkdir -m 755 \"$T/d\"\n\
             ll_backup \"$T/f\" \"$T/d\" \"$T/new\" >/dev/null\n\
             ll_entries \"$LL_BDIR\" | cut -f1 | tr '\\n' ' '; echo\n\
             check() { ll_entries \"$LL_BDIR\" >\"$T/e\"\n\
                 while IFS=$LL_TAB read -r kind n mode uid gid label sha path; do\n\
                     ll_entry_holds \"$kind\" \"$mode\" \"$uid\" \"$gid\" \"$label\" \"$sha\" \"$path\" && printf 'holds ' || printf 'differs '\n\
                 done <\"$T/e\"; echo; }\n\
             check\n\
             printf 'y\\n' >\"$T/f\"; chmod 700 \"$T/d\"; : >\"$T/new\"; check\n\
             ll_restore_all \"$LL_BDIR\" restored | cut -f2,4; echo \"status $? $(cat \"$T/f\") $(stat -c %a \"$T/f\" \"$T/d\" | tr '\\n' ' ')\"\n\
             [ -e \"$T/new\" ] || echo 'new is gone'; check\n\
             printf 'z\\n' >\"$LL_BDIR/files/1\"; printf 'y\\n' >\"$T/f\"\n\
             ll_restore_all \"$LL_BDIR\" restored | cut -f2,4; echo \"$(cat \"$T/f\")\"\n\
             : >\"$T/extra\"; ll_restore_entry \"$LL_BDIR\" undone absent 9 - - - - - \"$T/extra\" | cut -f2,4",
        );
        assert_eq!(
            out,
            "absent meta file \nholds holds holds \ndiffers differs differs \n\
             restored\tremoved: it did not exist before\n\
             restored\towner, mode and label as recorded\n\
             restored\tcontent, owner, mode and label as recorded\n\
             status 0 x 640 755 \nnew is gone\nholds holds holds \n\
             failed\tthe backup copy \n\
             y\nundone\tremoved: it did not exist before\n"
                .replace("failed\tthe backup copy \n", &failed_line(&out)),
            "{out}"
        );
        assert!(out.contains("(checksum differs)"), "{out}");
    }

    /// The "damaged copy" record as cut prints it (its path is the scratch root's).
    fn failed_line(out: &str) -> String {
        out.lines()
            .find(|l| l.starts_with("failed\t"))
            .map(|l| format!("{l}\n"))
            .unwrap_or_default()
    }
}
