//! SSH303: the login shell refuses logins or does not exist.

use super::*;
use crate::probe::facts::PackageFile;

pub static RULE: Rule = Rule {
    id: "SSH303",
    name: "login-shell-unusable",
    title: "the user's login shell refuses logins or does not exist",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "The user's login shell: nologin and false refuse logins; a shell that does not \
               exist or is not executable cannot start; such a shell's file (where its links \
               lead) is compared with dpkg's checksums.",
        why: "Authentication succeeds, then the session ends at once (`This account is \
              currently not available.`); sshd logs `User azureuser not allowed because shell \
              … does not exist` for a missing one.",
        fix: "A shell that cannot run because its package's file is gone or not what the \
              package installed (bash deleted, say) is put back from the \
              package, fetched where lifeline runs as SSH010 fetches libraries, so the user \
              keeps the shell they had. Otherwise lifeline sets the shell to /bin/bash, or \
              /bin/sh where bash is missing (`usermod -s`).",
        safety: "Low: puts back the package's own file (checksummed, backed up) or changes only \
                 the user's shell.",
    },
    check,
    fix: Some(fix),
};

/// A shell that refuses logins by design.
fn refuses(shell: &str) -> bool {
    shell.ends_with("/nologin") || shell.ends_with("/false")
}

/// The shell cannot start: not one that refuses logins by design, nor one that only lost its
/// execute bit (SSH012 gives it back, rather than the user another shell).
fn cannot_run(facts: &Facts, shell: &str) -> bool {
    !refuses(shell)
        && !facts.account.shell_executable
        && !super::ssh012_system_file_modes::restores(facts, shell)
}

/// The file of the user's login shell to put back from its package: the shell cannot run, and
/// the probe found the file its links lead to (`/bin/rbash` is bash's) gone or not what the
/// package installed.
pub(super) fn package_file(facts: &Facts) -> Option<&PackageFile> {
    let shell = facts.account.shell.as_deref().filter(|s| !s.is_empty())?;
    if !cannot_run(facts, shell) {
        return None;
    }
    let file = facts.account.shell_file.as_deref().unwrap_or(shell);
    facts.package_files.iter().find(|f| f.path == file)
}

fn check(facts: &Facts) -> Option<Finding> {
    let shell = facts.account.shell.as_deref().filter(|s| !s.is_empty())?;
    let from_package = package_file(facts);
    let mut evidence = vec![format!("passwd: {} … {shell}", facts.user)];
    let problem = if refuses(shell) {
        "refuses logins"
    } else if cannot_run(facts, shell) {
        evidence.extend(from_package.map(super::ssh010_sshd_libraries_broken::not_as_installed));
        "does not exist or is not executable"
    } else {
        return None;
    };
    let hint = match from_package {
        Some(file) => reinstall_packages(facts, [file.package.as_str()]),
        None => format!("usermod -s /bin/bash {}", facts.user),
    };
    Some(RULE.finding(
        format!("{}'s login shell {shell} {problem}", facts.user),
        evidence,
        hint,
    ))
}

fn fix(facts: &Facts) -> Option<Fix> {
    if let Some(call) = package_file(facts).and_then(super::ssh010_sshd_libraries_broken::put_back)
    {
        let path = facts.account.shell.as_deref().unwrap_or_default();
        return Some(Fix::step(
            Phase::Files,
            format!("put back the login shell {path} from its package"),
            vec![call],
        ));
    }
    Some(Fix::for_user(
        facts,
        Phase::Account,
        format!("give {} a login shell", facts.user),
        "ll_login_shell",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::facts::PackageCopy;
    use crate::rules::testing::*;

    /// Seed 5052: /bin/bash deleted. With the package's copy, bash goes back (not the user
    /// another shell) and SSH010 leaves it alone; without one, the user gets another shell.
    #[test]
    fn a_deleted_bash_goes_back_from_its_package() {
        let bash = |copy| PackageFile {
            path: "/usr/bin/bash".into(),
            member: "bin/bash".into(),
            package: "bash".into(),
            source: "bash".into(),
            version: "5.2.15-2+b7".into(),
            ..PackageFile::libwrap("1e8a0b1a07a3f8f5b9b6ab6d8cdb9e51", copy)
        };
        let fetched = PackageCopy::Fetched {
            from: "https://deb.debian.org/bash.deb".into(),
            mode: 0o755,
            gzip_base64: "H4sI".into(),
        };
        let gone = |copy| {
            debian_with(|f| {
                f.account.shell = Some("/bin/bash".into());
                f.account.shell_file = Some("/usr/bin/bash".into());
                f.account.shell_executable = false;
                f.package_files = vec![bash(copy)];
            })
        };
        let facts = gone(fetched);
        let finding = assert_rule(&RULE, &facts);
        assert!(finding.evidence[1].contains("not what bash 5.2.15-2+b7 installed"));
        let steps = crate::remedy::ops::Repair::plan(&crate::diagnose::Diagnosis::from_facts(
            facts,
            Default::default(),
        ));
        let titles: Vec<&str> = steps.fixes.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(titles, ["put back the login shell /bin/bash from its package"]);
        let facts = gone(PackageCopy::NotFetched);
        let fix = fix(&facts).expect("a fix");
        let crate::rules::fix::Action::Step(step) = &fix.actions()[0] else {
            panic!("{fix:?}")
        };
        assert_eq!(step.calls[0].function, "ll_login_shell");
    }

    #[test]
    fn fires_on_a_nologin_shell() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.account.shell = Some("/usr/sbin/nologin".into())),
        );
    }
}
