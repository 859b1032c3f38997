//! The rescue report as a person reads it: the verdict, what was found, the plan of a dry run,
//! Azure's changes, each round's outcome, what is left, and the proof that SSH works.

use crate::login::{LoginCheck, Vantage};
use crate::probe::facts::BannerOutcome;
use crate::rescue::RescueReport;
use crate::rules::Finding;
use std::fmt;

impl fmt::Display for RescueReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fixed_offline = self.offline.as_ref().is_some_and(|o| o.outcome.is_some());
        let verdict = match (self.verified, self.before.is_empty() && !fixed_offline) {
            (true, true) => "SSH works; nothing needed fixing",
            (true, false) if self.changed => "SSH works again",
            (true, false) => "SSH works",
            (false, _) if self.dry_run_script.is_some() => "dry run, nothing changed",
            (false, _) if self.declined => "not confirmed, nothing changed",
            (false, _) => "SSH still FAILS",
        };
        writeln!(f, "rescue of {} for {}: {verdict}", self.target, self.user)?;
        if let Some(access) = &self.access {
            writeln!(f, "access: {access}")?;
        }
        if let Some(offline) = &self.offline {
            let pid1 = offline.pid1.as_deref().unwrap_or("unknown");
            writeln!(
                f,
                "\noffline, before the boot went on (PID 1 was {pid1}; not asked: {}):",
                offline.not_asked.join("; ")
            )?;
            if !offline.judged_after_boot.is_empty() {
                writeln!(
                    f,
                    "  judged after the boot (they read what was not asked): {}",
                    offline.judged_after_boot.join(", ")
                )?;
            }
            for fix in &offline.fixes {
                writeln!(f, "  {}: {}", fix.id, fix.step)?;
            }
            match &offline.outcome {
                Some(outcome) => write!(f, "{}", indent(&outcome.to_string()))?,
                None if offline.fixes.is_empty() => writeln!(f, "  nothing to fix offline")?,
                None => writeln!(f, "  not applied")?,
            }
        }
        if !self.before.is_empty() {
            writeln!(f, "\nfound:")?;
            write_findings(f, &self.before)?;
        }
        if let Some(script) = &self.dry_run_script {
            writeln!(f, "\nplan:")?;
            for fix in &self.plan {
                writeln!(f, "  {}: {}", fix.id, fix.step)?;
            }
            writeln!(f, "\nthe guest script (secrets withheld):\n{script}")?;
        }
        if let Some(source) = &self.keys_restored_from {
            writeln!(f, "\nthe user's public keys are put back from {source}")?;
        }
        for fix in &self.cloud_fixes {
            let state = match (&fix.error, fix.applied) {
                (Some(e), _) => format!("FAILED: {e}"),
                (None, true) => match &fix.undo {
                    Some(undo) => format!("done ({undo} takes it back)"),
                    None => "done".into(),
                },
                (None, false) => "planned".into(),
            };
            writeln!(f, "\nAzure: {}: {} — {state}", fix.id, fix.step)?;
            for warning in &fix.warnings {
                writeln!(f, "  warning: {warning}")?;
            }
            if let Some(operation) = &fix.operation {
                writeln!(f, "  Azure's operation: {}", operation.describe())?;
            }
            if let Some(change) = &fix.address_change {
                let show = |a: &Option<String>| a.clone().unwrap_or_else(|| "none".into());
                writeln!(
                    f,
                    "  the public address is now {} (was {}); `ssh-keygen -R {}` forgets the old one",
                    show(&change.after),
                    show(&change.before),
                    show(&change.before)
                )?;
            }
        }
        for (n, round) in self.rounds.iter().enumerate() {
            writeln!(f, "\nround {}:", n + 1)?;
            write!(f, "{}", indent(&round.outcome.to_string()))?;
        }
        match (self.rounds.is_empty(), self.after.is_empty()) {
            (true, _) => {}
            (false, true) => writeln!(f, "\nafter: no findings")?,
            (false, false) => {
                writeln!(f, "\nafter, still found:")?;
                write_findings(f, &self.after)?;
            }
        }
        if let Some(error) = &self.error {
            writeln!(f, "\nthe rescue stopped: {error}")?;
        }
        if !self.manual.is_empty() {
            writeln!(f, "\nfor you to do (lifeline does not decide these):")?;
            for finding in &self.manual {
                writeln!(f, "  {}: {}", finding.id, finding.fix)?;
            }
        }
        writeln!(f)?;
        for banner in &self.banners {
            match &banner.outcome {
                BannerOutcome::Answered(line) => {
                    writeln!(f, "ssh {}:{} answers: {line}", banner.host, banner.port)?
                }
                other => writeln!(
                    f,
                    "ssh {}:{} does NOT answer: {other:?}",
                    banner.host, banner.port
                )?,
            }
        }
        for check in &self.login {
            write_login(f, check)?;
        }
        for backup in &self.backups {
            writeln!(
                f,
                "backup {} at {} (lifeline undo --backup {} takes it back)",
                backup.id, backup.path, backup.id
            )?;
        }
        Ok(())
    }
}

fn write_login(f: &mut fmt::Formatter<'_>, check: &LoginCheck) -> fmt::Result {
    let from = match check.from {
        Vantage::Here => "from here",
        Vantage::Guest => "from inside the guest",
    };
    write!(f, "login as {} at {} {from}", check.user, check.address)?;
    if let Some(key) = &check.host_key {
        let known = match key.matches_probe {
            Some(true) => ", the guest's own",
            Some(false) => ", NOT the guest's",
            None => "",
        };
        write!(
            f,
            " (host key {} {}{known})",
            key.algorithm, key.fingerprint
        )?;
    }
    writeln!(f, ":")?;
    for attempt in &check.attempts {
        let verdict = if attempt.ok { "ok" } else { "FAILED" };
        writeln!(f, "  {} {verdict}: {}", attempt.method, attempt.detail)?;
    }
    if let Some(error) = &check.error {
        writeln!(f, "  not proven: {error}")?;
    }
    Ok(())
}

fn write_findings(f: &mut fmt::Formatter<'_>, findings: &[Finding]) -> fmt::Result {
    for finding in findings {
        writeln!(
            f,
            "  {} {}: {}",
            finding.id,
            finding.severity.as_str(),
            finding.title
        )?;
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
