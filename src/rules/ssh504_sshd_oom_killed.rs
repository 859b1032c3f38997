//! SSH504: the kernel killed sshd for lack of memory.

use super::*;

pub static RULE: Rule = Rule {
    id: "SSH504",
    name: "sshd-oom-killed",
    title: "the kernel killed sshd for lack of memory",
    category: Category::Resources,
    severity: Severity::Warning,
    kind: Kind::Cause,
    docs: Docs {
        what: "Kernel messages of this boot about the out-of-memory killer choosing an sshd \
               process.",
        why: "When memory runs out the kernel kills a process; if it is the sshd listener, \
              SSH is gone until sshd is restarted, and forks for new sessions fail before \
              that.",
        fix: "lifeline restarts sshd; the memory hog is named for you to deal with \
              (`OOMScoreAdjust=-900` in a unit drop-in protects sshd next time).",
        safety: "Low: the drop-in only lowers sshd's chance of being chosen.",
    },
    check,
    fix: Some(|_| Some(Fix::restart())),
};

fn check(facts: &Facts) -> Option<Finding> {
    if facts.oom.is_empty() {
        return None;
    }
    Some(RULE.finding(
        RULE.title,
        facts.oom.iter().map(|l| format!("kernel: {l}")).collect(),
        restart(facts),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_when_the_kernel_killed_sshd() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.oom.push("Out of memory: Killed process 229 (sshd)".into())),
        );
    }
}
