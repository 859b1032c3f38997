//! What every rule file's tests share: the facts fixtures, and one assertion that a rule fires
//! on its cause, stays quiet on healthy guests, and has a fix that renders into a plan `sh -n`
//! accepts (or, without a fix, leaves the finding to a person).

use super::{Finding, Rule};
use crate::diagnose::{Diagnosis, ProbeCost};
use crate::probe::facts::{Facts, FileStat, Unit};
use crate::remedy::ops::Repair;

/// The healthy captures, one per family of guest, and the live test guests' flavours.
const HEALTHY: [&str; 7] = [
    "debian-12-healthy",
    "debian-13-healthy",
    "debian-13-socket-activated-healthy",
    "debian-12-sysvinit-healthy",
    "rhel-9-healthy",
    "sles-15-healthy",
    "ubuntu-24.04-socket-activated-healthy",
];

/// fixtures/facts/NAME.txt, parsed.
pub(super) fn fixture(name: &str) -> Facts {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/facts")
        .join(format!("{name}.txt"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    crate::probe::parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The healthy Debian 12 capture, changed by `change`: a cause built in code.
pub(super) fn debian_with(change: impl FnOnce(&mut Facts)) -> Facts {
    let mut facts = fixture("debian-12-healthy");
    change(&mut facts);
    facts
}

/// The healthy Debian 12 capture with every `old` replaced by `new` (each must occur): a cause
/// written the way the probe prints it.
pub(crate) fn debian_text(edits: &[(&str, &str)]) -> Facts {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/facts/debian-12-healthy.txt");
    let mut text = std::fs::read_to_string(path).unwrap();
    for (old, new) in edits {
        assert!(text.contains(old), "the healthy capture has no {old:?}");
        text = text.replace(old, new);
    }
    crate::probe::parse(&text).unwrap()
}

/// Where [`debian_text`] adds configuration lines (with [`config_lines`]).
pub(super) const CONFIG: &str = "@config\n";

/// `lines` as the probe lists them, lines 200 on of /etc/ssh/sshd_config, after [`CONFIG`].
pub(super) fn config_lines(lines: &[&str]) -> String {
    let mut text = CONFIG.to_string();
    for (n, line) in lines.iter().enumerate() {
        text.push_str(&format!("/etc/ssh/sshd_config\t{}\t{line}\n", 200 + n));
    }
    text
}

/// The healthy Debian 12 capture where `sshd -T` prints `new` instead of `old`, as `line` of
/// /etc/ssh/sshd_config says.
pub(super) fn debian_config(old: &str, new: &str, line: &str) -> Facts {
    debian_text(&[(old, new), (CONFIG, &config_lines(&[line]))])
}

/// The unit `id` of `facts`.
pub(super) fn unit<'a>(facts: &'a mut Facts, id: &str) -> &'a mut Unit {
    facts.units.iter_mut().find(|u| u.id == id).unwrap()
}

/// What the probe saw of `path` (which must exist in `facts`).
pub(super) fn stat<'a>(facts: &'a mut Facts, path: &str) -> &'a mut FileStat {
    facts.files.get_mut(path).and_then(Option::as_mut).unwrap()
}

/// `rule` fires on `cause` and on no healthy guest; its fix, when it has one, renders a plan
/// that `sh -n` accepts, and without one the finding is left to a person. Returns the finding.
pub(super) fn assert_rule(rule: &'static Rule, cause: &Facts) -> Finding {
    for name in HEALTHY {
        assert_eq!(
            (rule.check)(&fixture(name)),
            None,
            "{} fires on {name}",
            rule.id
        );
    }
    let finding = (rule.check)(cause).unwrap_or_else(|| panic!("{} misses its cause", rule.id));
    assert_eq!(finding.id, rule.id);
    assert!(!finding.fix.is_empty(), "{}: no advice", rule.id);
    let repair = Repair::plan(&Diagnosis {
        facts: cause.clone(),
        findings: vec![finding.clone()],
        cost: ProbeCost::default(),
        cloud: None,
        guest_error: None,
    });
    let fixed = repair.fixes.iter().any(|(f, _)| f.id == rule.id);
    let has_fix = finding.fix_on(cause).is_some();
    assert_eq!(fixed, has_fix && finding.severity != super::Severity::Info);
    assert_eq!(
        repair.manual.is_empty(),
        fixed || finding.severity == super::Severity::Info
    );
    if fixed {
        let script = repair.plan.script();
        let status = std::process::Command::new("sh")
            .args(["-n", "-c", &script])
            .status()
            .unwrap();
        assert!(status.success(), "{}: sh -n rejects\n{script}", rule.id);
    }
    finding
}
