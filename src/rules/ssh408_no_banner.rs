//! SSH408: sshd runs but does not answer on the guest itself (the last resort).

use super::*;
use crate::probe::facts::BannerOutcome;

pub static RULE: Rule = Rule {
    id: "SSH408",
    name: "no-banner",
    title: "sshd does not answer with its banner",
    category: Category::Network,
    severity: Severity::Error,
    kind: Kind::Fallback,
    docs: Docs {
        what: "The probe connects to each configured address and port on the guest itself \
               (bash's /dev/tcp, or nc) and reads the first line, which must be sshd's \
               `SSH-2.0-…` banner. Reported only when no other error explains a failure.",
        why: "A refused, silent or closed connection on the guest itself means clients cannot \
              get further either, whatever the network between them does. Causes no other \
              rule names show up here: MaxStartups throttling, a crashing sshd, a proxy in \
              front of it.",
        fix: "lifeline shows the sshd log lines around the attempt and restarts sshd; what \
              else to do depends on those lines.",
        safety: "Safe: a restart keeps open sessions.",
    },
    check,
    fix: Some(|_| Some(Fix::restart())),
};

fn check(facts: &Facts) -> Option<Finding> {
    if !facts.sshd_up() {
        return None;
    }
    let failed: Vec<String> = facts
        .banners
        .iter()
        .filter_map(|b| {
            let what = match &b.outcome {
                BannerOutcome::Answered(_) | BannerOutcome::Unavailable => return None,
                BannerOutcome::Refused => "connection refused".to_string(),
                BannerOutcome::TimedOut => "no answer within 3 s".to_string(),
                BannerOutcome::NoBanner(text) => text.clone(),
            };
            Some(format!("{}:{}: {what}", b.host, b.port))
        })
        .collect();
    let first = failed.first()?.clone();
    let mut evidence = failed;
    evidence.extend(recent_log(facts, 4, &[]));
    Some(RULE.finding(
        format!("sshd does not answer on {first}"),
        evidence,
        restart(facts),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    use crate::probe::facts::BannerOutcome;

    #[test]
    fn fires_when_sshd_refuses_the_local_check() {
        assert_rule(
            &RULE,
            &debian_with(|f| {
                for banner in &mut f.banners {
                    banner.outcome = BannerOutcome::Refused;
                }
            }),
        );
    }
}
