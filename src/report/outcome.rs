//! A remedy's outcome as a person reads it: the verdict, each step, what changed or was put
//! back, the service, the banner check, and the backup that takes the run back.

use crate::remedy::{Outcome, StepStatus};
use std::fmt;

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.succeeded() {
            "done"
        } else if self.waits_for_init() {
            "done, SSH not checked (no init runs here)"
        } else {
            "FAILED"
        };
        let what = if self.changed() {
            "changes made"
        } else if self.rolled_back.is_empty() && self.succeeded() {
            "nothing needed changing"
        } else if self.rolled_back.is_empty() {
            // SSH is still down: never say nothing was needed.
            "nothing changed"
        } else {
            "what it changed was put back"
        };
        writeln!(f, "{}: {verdict}, {what}", self.operation)?;
        for step in &self.steps {
            let mark = match step.status {
                StepStatus::Ok => "ok",
                StepStatus::Failed => "FAILED",
                StepStatus::Skipped => "skipped",
            };
            write!(f, "  [{mark}] {}", step.title)?;
            if step.message.is_empty() {
                writeln!(f)?;
            } else {
                writeln!(f, ": {}", step.message)?;
            }
        }
        for (label, list) in [
            ("changed", &self.changes),
            ("rolled back", &self.rolled_back),
            ("restored", &self.restored),
        ] {
            for c in list {
                writeln!(f, "  {label}: {}: {}", c.what, c.detail)?;
            }
        }
        for service in &self.service {
            writeln!(
                f,
                "  service: {} {} {}",
                service.unit, service.status, service.message
            )?;
        }
        for port in &self.verification {
            let state = if port.ok {
                "answers"
            } else {
                "does NOT answer"
            };
            writeln!(
                f,
                "  ssh on {}:{} {state}: {}",
                port.address, port.port, port.answer
            )?;
        }
        for (label, list) in [
            ("warning", &self.warnings),
            ("error", &self.errors),
            ("note", &self.notes),
        ] {
            for text in list {
                writeln!(f, "  {label}: {text}")?;
            }
        }
        if let Some(backup) = &self.backup {
            writeln!(
                f,
                "  backup: {} (lifeline undo --backup {} takes this run back)",
                backup.path, backup.id
            )?;
        }
        Ok(())
    }
}
