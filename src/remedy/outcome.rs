//! What a plan did, read from the records its guest script prints (see `plan.sh`): each change,
//! each thing found already as wanted, the backup, each step's result, the last `sshd -t`
//! verdict, the service action and the banner check. [`crate::report`] renders this one value as
//! text and JSON.

use super::RemedyError;
use super::backup::BackupId;
use super::service::ServiceAction;
use super::validate::Validation;
use super::verify::PortCheck;
use serde::Serialize;

/// One thing that changed (or was rolled back, or restored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// A path, or an account, unit or firewall named in words.
    pub what: String,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Ok,
    /// The step failed and what it had changed was put back.
    Failed,
    /// An earlier step failed.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    pub title: String,
    pub status: StepStatus,
    pub message: String,
}

/// Where a run's backup is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupLocation {
    pub id: BackupId,
    pub path: String,
}

/// The result of applying a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub operation: String,
    pub steps: Vec<StepResult>,
    pub changes: Vec<Change>,
    /// What was already as the operation wants it.
    pub unchanged: Vec<String>,
    /// What a failed step (or a run after which SSH stopped answering) had changed and was
    /// put back.
    pub rolled_back: Vec<Change>,
    /// What `undo` put back.
    pub restored: Vec<Change>,
    /// Present when something was changed: `lifeline undo --backup ID` takes it back.
    pub backup: Option<BackupLocation>,
    pub validation: Option<Validation>,
    pub service: Vec<ServiceAction>,
    /// The banner check on every configured port, after the last service action.
    pub verification: Vec<PortCheck>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    pub errors: Vec<String>,
    /// Anything the script printed that was not a record (a tool's stray output).
    pub other_output: Vec<String>,
    /// The guest script's exit status: 0 when every step succeeded and SSH answers.
    pub exit_status: i32,
}

impl Outcome {
    pub(super) fn parse(
        operation: &str,
        output: &[u8],
        exit_status: i32,
    ) -> Result<Outcome, RemedyError> {
        let text = String::from_utf8_lossy(output);
        let mut outcome = Outcome {
            operation: operation.to_string(),
            steps: Vec::new(),
            changes: Vec::new(),
            unchanged: Vec::new(),
            rolled_back: Vec::new(),
            restored: Vec::new(),
            backup: None,
            validation: None,
            service: Vec::new(),
            verification: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
            errors: Vec::new(),
            other_output: Vec::new(),
            exit_status,
        };
        let mut records = 0;
        for line in text.lines() {
            let Some(record) = line.strip_prefix("ll\t") else {
                if !line.trim().is_empty() {
                    outcome.other_output.push(line.to_string());
                }
                continue;
            };
            records += 1;
            outcome.add(record.split('\t').collect());
        }
        if records == 0 {
            return Err(RemedyError::NoResult {
                exit_status,
                output: text.into_owned(),
            });
        }
        Ok(outcome)
    }

    fn add(&mut self, fields: Vec<&str>) {
        let field = |i: usize| fields.get(i).copied().unwrap_or_default().to_string();
        let change = || Change {
            what: field(1),
            detail: field(2),
        };
        match fields[0] {
            "changed" => self.changes.push(change()),
            "unchanged" => self.unchanged.push(field(1)),
            "rollback" => self.rolled_back.push(change()),
            "restored" => self.restored.push(change()),
            "failed" => self.errors.push(format!("{}: {}", field(1), field(2))),
            "error" => self.errors.push(field(1)),
            "note" => self.notes.push(field(1)),
            "warning" => self.warnings.push(field(1)),
            "backup" => {
                if let Ok(id) = BackupId::parse(&field(1)) {
                    self.backup = Some(BackupLocation { id, path: field(2) });
                }
            }
            "step" => self.steps.push(StepResult {
                title: field(1),
                status: match fields.get(2).copied() {
                    Some("ok") => StepStatus::Ok,
                    Some("skipped") => StepStatus::Skipped,
                    _ => StepStatus::Failed,
                },
                message: field(3),
            }),
            "validate" => {
                self.validation = Some(Validation {
                    ok: field(1) == "ok",
                    message: field(2),
                })
            }
            "service" => {
                // A new round of verification follows every service action.
                self.verification.clear();
                self.service.push(ServiceAction {
                    unit: field(1),
                    status: field(2),
                    message: field(3),
                });
            }
            "verify" => self.verification.push(PortCheck {
                port: field(1),
                address: field(2),
                ok: field(3) == "ok",
                answer: field(4),
            }),
            _ => self.other_output.push(fields.join("\t")),
        }
    }

    /// Whether the run changed anything that stayed changed (rolled back changes do not count).
    pub fn changed(&self) -> bool {
        let kept = |c: &&Change| !self.rolled_back.iter().any(|r| r.what == c.what);
        self.changes.iter().any(|c| kept(&c)) || !self.restored.is_empty()
    }

    /// Whether SSH answered on every configured port at the end.
    pub fn ssh_verified(&self) -> bool {
        !self.verification.is_empty() && self.verification.iter().all(|p| p.ok)
    }

    /// Every step succeeded where no init runs (a break-in shell): sshd was not started, so
    /// there was nothing to check yet.
    pub fn waits_for_init(&self) -> bool {
        self.exit_status == 0
            && self.steps.iter().all(|s| s.status == StepStatus::Ok)
            && self.verification.is_empty()
            && self.service.iter().any(|s| s.status == "skipped")
    }

    /// Every step succeeded and SSH answers.
    pub fn succeeded(&self) -> bool {
        self.exit_status == 0
            && self.steps.iter().all(|s| s.status == StepStatus::Ok)
            && self.ssh_verified()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_become_an_outcome() {
        let output = b"ll\tbackup\t20261121T095012Z\t/var/backups/lifeline/20261121T095012Z\n\
ll\tchanged\t/etc/ssh/sshd_config\trewritten\n\
ll\tunchanged\t/etc/ssh/sshd_config.d/x.conf\n\
ll\tstep\treset\tok\n\
ll\tvalidate\tok\n\
noise from a tool\n\
ll\tservice\tssh.service\trestarted\n\
ll\tverify\t22\t127.0.0.1\tok\tSSH-2.0-OpenSSH_9.2p1\n";
        let outcome = Outcome::parse("reset-ssh", output, 0).unwrap();
        assert!(outcome.succeeded() && outcome.changed() && outcome.ssh_verified());
        assert_eq!(
            outcome.backup.as_ref().unwrap().id.as_str(),
            "20261121T095012Z"
        );
        assert_eq!(outcome.other_output, ["noise from a tool"]);
        assert_eq!(outcome.verification[0].answer, "SSH-2.0-OpenSSH_9.2p1");
        assert!(
            outcome
                .to_string()
                .contains("changed: /etc/ssh/sshd_config: rewritten")
        );
    }

    #[test]
    fn a_run_with_no_init_is_done_and_waits_for_the_boot() {
        let output = b"ll\tbackup\t20261206T152600Z\t/var/backups/lifeline/20261206T152600Z\n\
ll\tchanged\t/etc/fstab\trewritten\n\
ll\tstep\tadd nofail\tok\n\
ll\tservice\t-\tskipped\tno systemd and no init script here\n";
        let outcome = Outcome::parse("rescue", output, 0).unwrap();
        assert!(outcome.waits_for_init() && !outcome.succeeded());
        let text = outcome.to_string();
        assert!(
            text.starts_with("rescue: done, SSH not checked (no init runs here), changes made"),
            "{text}"
        );
        let failed = Outcome::parse("rescue", output, 1).unwrap();
        assert!(!failed.waits_for_init());
    }

    #[test]
    fn a_second_round_of_verification_replaces_the_first() {
        let output = b"ll\tservice\tssh.service\trestarted\n\
ll\tverify\t22\t127.0.0.1\tfailed\tno answer\n\
ll\tservice\tssh.service\trestarted\n\
ll\tverify\t2222\t127.0.0.1\tok\tSSH-2.0-x\n";
        let outcome = Outcome::parse("reset-ssh", output, 1).unwrap();
        assert_eq!(outcome.verification.len(), 1);
        assert!(outcome.ssh_verified() && !outcome.succeeded());
    }

    #[test]
    fn output_without_records_is_an_error() {
        assert!(matches!(
            Outcome::parse("x", b"sh: 1: cannot open\n", 2),
            Err(RemedyError::NoResult { exit_status: 2, .. })
        ));
    }
}
