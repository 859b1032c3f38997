//! A bulk run as a person reads it (a line per target and per operation, then the count) and
//! as one JSON document: every target's result, with its rescue report or outcome.

use crate::diagnose::Diagnosis;
use crate::remedy::Outcome;
use crate::rescue::RescueReport;
use crate::rules::Finding;
use serde::Serialize;
use std::fmt;

#[derive(Debug, Serialize)]
pub struct BulkReport {
    /// Every target verified (rescue) or changed as asked (other operations).
    pub ok: bool,
    pub parallel: usize,
    pub summary: BulkSummary,
    pub targets: Vec<TargetResult>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct BulkSummary {
    pub targets: usize,
    pub ok: usize,
    pub failed: usize,
}

#[derive(Debug, Serialize)]
pub struct TargetResult {
    pub name: String,
    pub target: String,
    pub ok: bool,
    /// What `lifeline rescue` on this target alone would have exited with.
    pub exit_code: u8,
    /// Why the target could not be worked on at all (console, login, sudo).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub operations: Vec<OperationResult>,
    pub elapsed_ms: u64,
}

#[derive(Debug, Serialize)]
pub struct OperationResult {
    pub operation: &'static str,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rescue: Option<RescueReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diagnosis: Option<BulkDiagnosis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// `--dry-run`: the guest script of a change, secrets withheld.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One target's diagnosis in a bulk run: the verdict and the findings (the facts stay out:
/// two hundred of them would drown the document; `lifeline diagnose` on the one target
/// gives them all).
#[derive(Debug, Serialize)]
pub struct BulkDiagnosis {
    pub healthy: bool,
    pub verdict: String,
    pub findings: Vec<Finding>,
}

impl BulkDiagnosis {
    pub fn of(diagnosis: &Diagnosis) -> BulkDiagnosis {
        BulkDiagnosis {
            healthy: diagnosis.healthy(),
            verdict: super::diagnosis::verdict(diagnosis),
            findings: diagnosis.findings.clone(),
        }
    }
}

impl fmt::Display for BulkReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for target in &self.targets {
            let state = if target.ok { "ok" } else { "FAILED" };
            writeln!(
                f,
                "{}: {state} ({}, {:.1} s)",
                target.name,
                target.target,
                target.elapsed_ms as f64 / 1000.0
            )?;
            if let Some(error) = &target.error {
                writeln!(f, "  {error}")?;
            }
            for op in &target.operations {
                let first = match (&op.rescue, &op.outcome, &op.error, &op.diagnosis) {
                    (Some(r), _, _, _) => r.to_string(),
                    (_, Some(o), _, _) => o.to_string(),
                    (_, _, Some(e), _) => format!("{}: {e}", op.operation),
                    (_, _, _, Some(d)) => d.verdict.clone(),
                    _ => format!("{}: dry run", op.operation),
                };
                writeln!(f, "  {}", first.lines().next().unwrap_or_default())?;
            }
        }
        writeln!(
            f,
            "{} of {} targets ok ({} at a time, {:.1} s)",
            self.summary.ok,
            self.summary.targets,
            self.parallel,
            self.elapsed_ms as f64 / 1000.0
        )
    }
}
