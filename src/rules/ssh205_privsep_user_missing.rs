//! SSH205: the privilege-separation user does not exist.

use super::*;
use crate::probe::facts::TestProblem;

pub static RULE: Rule = Rule {
    id: "SSH205",
    name: "privsep-user-missing",
    title: "the privilege-separation user sshd does not exist",
    category: Category::Keys,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether the account sshd runs its unprivileged child as (`sshd`) exists.",
        why: "sshd refuses to start without it (`Privilege separation user sshd does not \
              exist`), and a running sshd fails every new connection.",
        fix: "lifeline creates the system account the package would (Debian: `adduser \
              --system --no-create-home --home /run/sshd --shell /usr/sbin/nologin sshd`; \
              RPM distributions: `useradd -r -M -d /var/empty/sshd -s /sbin/nologin sshd`).",
        safety: "Low: a system account without a password or shell.",
    },
    check,
};

fn check(facts: &Facts) -> Option<Finding> {
    let named = facts
        .sshd
        .test
        .problems
        .iter()
        .any(|p| matches!(p, TestProblem::PrivsepUserMissing { .. }));
    if !named && facts.privsep_user != Some(false) {
        return None;
    }
    let fix = match facts.os.family {
        Family::Debian => {
            "adduser --system --no-create-home --home /run/sshd --shell /usr/sbin/nologin sshd"
        }
        _ => "useradd -r -M -d /var/empty/sshd -s /sbin/nologin -c 'Privilege-separated SSH' sshd",
    };
    Some(RULE.finding(
        RULE.title,
        vec!["getent passwd sshd: no such user".into()],
        fix,
    ))
}
