//! `lifeline undo`: a backup put back exactly (the guest side is `undo.sh`): each file's bytes,
//! mode, owner and SELinux label, each path that did not exist removed (a directory only when
//! empty), last change first. What undo replaces is itself backed up, so an undo can be undone.
//! Like every step, it is validated by `sshd -t` when it touches sshd's configuration: undo
//! never installs a configuration sshd rejects (it rolls itself back instead, and says why).
//! [`list_backups`] lists them.

use crate::posix_sh::quote;
use crate::remedy::RemedyError;
use crate::remedy::backup::{self, Backup, BackupId};
use crate::remedy::plan::{Plan, library_script, run_script};
use crate::shell::Session;

pub(super) const SCRIPT: &str = include_str!("undo.sh");

#[derive(Debug, Clone, Default)]
pub struct Undo {
    /// The backup to restore; the latest one when `None`.
    pub backup: Option<BackupId>,
}

impl Undo {
    pub fn plan(&self) -> Plan {
        let (title, id) = match &self.backup {
            Some(id) => (format!("restore backup {id}"), id.as_str()),
            None => ("restore the latest backup".to_string(), ""),
        };
        Plan::new("undo")
            .library(SCRIPT)
            .step(title, format!("ll_undo {}", quote(id)))
    }
}

/// The backups on the guest, oldest first (one round trip).
pub async fn list_backups(session: &mut Session) -> Result<Vec<Backup>, RemedyError> {
    let out = run_script(
        session,
        &library_script(&[backup::SCRIPT, SCRIPT], "ll_list_backups"),
    )
    .await?;
    let text = out.text();
    Ok(text
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line
                .strip_prefix("ll\tbackup-entry\t")?
                .split('\t')
                .collect();
            Some(Backup {
                id: BackupId::parse(fields.first()?).ok()?,
                operation: fields.get(1)?.to_string(),
                created: fields.get(2)?.to_string(),
                paths: fields
                    .get(3)?
                    .split_whitespace()
                    .map(String::from)
                    .collect(),
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::SCRIPT;
    use crate::remedy::plan::run_locally;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_are_backed_up_and_undo_puts_them_back_byte_for_byte() {
        let (dir, out) = run_locally(
            &[SCRIPT],
            r#"printf 'old\r\nbytes' >"$T/f" && chmod 640 "$T/f"
printf 'new\n' >"$T/new" && printf 'fresh\n' >"$T/fresh"
ll_put "$T/f" 0600 0:0 <"$T/new"
ll_put "$T/g" 0600 0:0 <"$T/fresh"
ll_put "$T/f" 0600 0:0 <"$T/new"
LL_BDIR= LL_SDIR=$LL_RUN/second && mkdir "$LL_SDIR"
sleep 1
ll_undo '' && ll_emit undone"#,
        );
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.iter().any(|l| l.ends_with("/f\trewritten")), "{out}");
        assert!(lines.iter().any(|l| l.ends_with("/g\tcreated")), "{out}");
        assert!(
            lines
                .iter()
                .any(|l| *l == format!("ll\tunchanged\t{}/f", dir.display())),
            "{out}"
        );
        assert!(lines.last() == Some(&"ll\tundone"), "{out}");
        assert_eq!(std::fs::read(dir.join("f")).unwrap(), b"old\r\nbytes");
        let mode = std::fs::metadata(dir.join("f"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o640);
        assert!(!dir.join("g").exists(), "a created file is removed: {out}");
        // The undo was itself backed up: the state it replaced is in a second backup.
        let backups: Vec<_> = std::fs::read_dir(dir.join("backups")).unwrap().collect();
        assert_eq!(backups.len(), 2, "{out}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn backups_are_listed_with_their_operation_time_and_paths() {
        let (dir, out) = run_locally(
            &[SCRIPT],
            "ll_list_backups; echo 'none yet'\n\
             printf 'x\\n' >\"$T/f\"; printf 'y\\n' >\"$T/new\"; ll_put \"$T/f\" 0600 0:0 <\"$T/new\" >/dev/null\n\
             ll_manifest_field \"$LL_BDIR\" operation; ll_manifest_field \"$LL_BDIR\" nothing; echo\n\
             mkdir \"$LL_BACKUP_ROOT/not-a-backup\"\n\
             ll_list_backups | cut -f1,2,4,6 | sed \"s#$T#T#g\"",
        );
        std::fs::remove_dir_all(dir).ok();
        assert_eq!(
            out, "none yet\ntest\n\nll\tbackup-entry\ttest\tT/f \n",
            "{out}"
        );
    }
}
