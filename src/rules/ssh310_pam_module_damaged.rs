//! SSH310: a PAM module that the login path's stacks load is missing or not as its package
//! shipped it.

use super::*;
use crate::probe::facts::PamDamage;

pub static RULE: Rule = Rule {
    id: "SSH310",
    name: "pam-module-damaged",
    title: "a PAM module the login stacks load is missing or damaged",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Each module line of the stacks a login goes through (/etc/pam.d/login for the \
               console, sshd, sudo, sudo-i, su and su-l, and the files they include): whether its module \
               file exists and, where dpkg recorded its checksum (/var/lib/dpkg/info/*.md5sums), \
               whether the file still has it. Lines PAM skips when their module is missing \
               (`-session`, `module_unknown=ignore`) are judged only when it is there but \
               changed: PAM loads it all the same, and a corrupted one can crash the login \
               itself.",
        why: "PAM loads every module of a stack before it runs any. A module that is gone or \
              corrupted (`PAM unable to dlopen(…)`, `PAM adding faulty module`) fails the \
              stack even on an `optional` line: the console answers every login with `Login \
              incorrect`, sshd closes the session after authentication, sudo and su refuse. \
              A one-time login made by a break-in is refused too.",
        fix: "lifeline puts the module back from its package: the copy in apt's cache \
              (/var/cache/apt/archives), or, in `rescue`, the exact installed version fetched \
              where lifeline runs (the distribution's archive or `--package-mirror`, as for \
              SSH010), the file kept only with the checksum dpkg recorded. Otherwise it \
              comments out the `session` lines that load the module (after a backup; each \
              line must still read as diagnosed; undo puts them \
              back) and names the package to reinstall (`apt-get install --reinstall PKG`). \
              `auth`, `account` and `password` lines, and the lines of pam_deny, pam_permit, \
              pam_selinux and jumps, are left to you. On a VM whose console refuses every \
              login, `rescue --allow-reboot` makes the repair in the break-in's shell, before \
              the boot goes on.",
        safety: "Safe: a restored module is the package's own file, checked by its checksum. \
                 A commented-out session line only loses what the module set up for a session \
                 (its limits, environment, message of the day), never a check on who may log \
                 in: lines that decide that (auth, account), that jump over others, or that \
                 confine the session (SELinux) are not touched.",
    },
    check,
    fix: Some(fix),
};

/// Modules whose line is never commented out: the allow and deny ends of Debian's generated
/// stacks (jumps land on them) and the session's SELinux confinement.
const KEPT: [&str; 4] = ["pam_deny.so", "pam_permit.so", "pam_selinux.so", "pam_sepermit.so"];

/// The line can go without opening anything: a session line of a plain control, not one of
/// [`KEPT`].
fn may_comment_out(line: &PamDamage) -> bool {
    let module = line.module.rsplit('/').next().unwrap_or_default();
    line.kind() == "session" && !line.control().starts_with('[') && !KEPT.contains(&module)
}

fn check(facts: &Facts) -> Option<Finding> {
    let first = facts.pam_damage.first()?;
    let evidence = facts
        .pam_damage
        .iter()
        .map(|d| {
            let state = if d.missing {
                "missing".to_string()
            } else {
                format!(
                    "{} differs from the checksum its package recorded",
                    d.path.as_deref().unwrap_or(&d.module)
                )
            };
            let package = d
                .package
                .as_deref()
                .map(|p| format!(" (package {p})"))
                .unwrap_or_default();
            format!("{} line {}: {}: {state}{package}", d.file, d.line, d.module)
        })
        .collect();
    let hint = reinstall_packages(
        facts,
        facts.pam_damage.iter().filter_map(|d| d.package.as_deref()),
    );
    Some(RULE.finding(
        format!(
            "{} ({} line {}) is {}: every login through that stack fails",
            first.module,
            first.file,
            first.line,
            if first.missing { "missing" } else { "damaged" }
        ),
        evidence,
        hint,
    ))
}

fn fix(facts: &Facts) -> Option<Fix> {
    let mut modules: Vec<&str> = facts
        .pam_damage
        .iter()
        .map(|d| d.module.as_str())
        .collect();
    modules.sort_unstable();
    modules.dedup();
    let calls: Vec<Call> = (modules.into_iter())
        .filter_map(|module| {
            let lines: Vec<&PamDamage> = (facts.pam_damage.iter())
                .filter(|d| d.module == module)
                .collect();
            fetched_copy(facts, lines[0]).or_else(|| from_apt_cache(facts, module, &lines))
        })
        .collect();
    (!calls.is_empty()).then(|| {
        Fix::step(
            Phase::Files,
            "put back or set aside the PAM modules the login stacks cannot load",
            calls,
        )
    })
}

/// The module put back from its package fetched where lifeline runs (as SSH010 puts back a
/// library), when the rescue got a copy with dpkg's checksum.
fn fetched_copy(facts: &Facts, damage: &PamDamage) -> Option<Call> {
    let member = damage.member.as_deref()?;
    (facts.package_files.iter())
        .find(|f| f.is_pam_module() && f.member == member)
        .and_then(super::ssh010_sshd_libraries_broken::put_back)
}

/// `ll_pam_module`: the module from apt's cache when it holds the package, else its session
/// lines set aside; `None` when neither can be done.
fn from_apt_cache(facts: &Facts, module: &str, lines: &[&PamDamage]) -> Option<Call> {
    let first = lines[0];
    let restore = match (&first.deb, &first.md5, &first.member) {
        (Some(deb), Some(md5), Some(member)) => {
            let dest = first.path.clone().unwrap_or_else(|| format!("/{member}"));
            [deb.clone(), md5.clone(), member.clone(), dest]
        }
        _ => ["-", "-", "-", "-"].map(String::from),
    };
    let commented: Vec<&&PamDamage> = lines.iter().filter(|d| may_comment_out(d)).collect();
    if restore[0] == "-" && commented.is_empty() {
        return None;
    }
    let mut args = vec![
        module.to_string(),
        reinstall_packages(facts, first.package.as_deref()),
    ];
    args.extend(restore);
    for line in commented {
        args.extend([line.file.clone(), line.line.to_string(), line.text.clone()]);
    }
    Some(Call::new("ll_pam_module", args))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    const ENV: &str = "/etc/pam.d/login\t51\tpam_env.so\tchanged\t/usr/lib/x86_64-linux-gnu/security/pam_env.so\tlibpam-modules\t0123456789abcdef0123456789abcdef\tusr/lib/x86_64-linux-gnu/security/pam_env.so\t-\tsession       required   pam_env.so readenv=1";
    const LIMITS_AUTH: &str =
        "/etc/pam.d/common-auth\t17\tpam_unix.so\tmissing\t-\tlibpam-modules\tfedcba9876543210fedcba9876543210\tusr/lib/x86_64-linux-gnu/security/pam_unix.so\t-\tauth\t[success=1 default=ignore]\tpam_unix.so nullok";

    fn with_damage(lines: &[&str]) -> Facts {
        let mut section = String::from("@pam_damage\n");
        for line in lines {
            section.push_str(line);
            section.push('\n');
        }
        section.push_str("@addr\n");
        debian_text(&[("@addr\n", &section)])
    }

    fn calls(facts: &Facts) -> Vec<String> {
        fix(facts)
            .map(|f| f.actions().iter().map(|a| format!("{a:?}")).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_changed_session_module_is_found_and_its_line_set_aside() {
        let facts = with_damage(&[ENV]);
        assert_eq!(facts.pam_damage[0].text, "session       required   pam_env.so readenv=1");
        let finding = assert_rule(&RULE, &facts);
        assert!(finding.title.starts_with("pam_env.so (/etc/pam.d/login line 51) is damaged"));
        assert!(finding.evidence[0].contains("package libpam-modules"), "{finding:?}");
        assert_eq!(finding.fix, "apt-get install --reinstall libpam-modules");
        let calls = calls(&facts);
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(calls[0].contains("ll_pam_module"), "{calls:?}");
        assert!(calls[0].contains("\"51\""), "{calls:?}");
    }

    #[test]
    fn an_auth_line_is_never_commented_out() {
        let facts = with_damage(&[LIMITS_AUTH]);
        assert_eq!(facts.pam_damage[0].control(), "[success=1 default=ignore]");
        assert!(check(&facts).is_some());
        assert_eq!(fix(&facts), None, "no copy to restore, nothing safe to set aside");
    }

    #[test]
    fn a_copy_in_apt_s_cache_is_restored_whatever_the_line() {
        let cached = LIMITS_AUTH.replace(
            "pam_unix.so\t-\tauth",
            "pam_unix.so\t/var/cache/apt/archives/libpam-modules_1.5.2-6_amd64.deb\tauth",
        );
        let calls = calls(&with_damage(&[&cached]));
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(calls[0].contains("libpam-modules_1.5.2-6_amd64.deb"), "{calls:?}");
        assert!(
            calls[0].contains("/usr/lib/x86_64-linux-gnu/security/pam_unix.so"),
            "{calls:?}"
        );
        assert!(!calls[0].contains("common-auth"), "{calls:?}");
    }

    #[test]
    fn jumps_and_the_stack_s_ends_stay() {
        for text in [
            "session\t[default=1]\tpam_permit.so",
            "session\trequisite\tpam_deny.so",
            "session [success=ok default=bad] pam_loginuid.so",
        ] {
            let module = text.split_whitespace().last().unwrap();
            let line = PamDamage {
                module: module.into(),
                text: text.into(),
                ..PamDamage::default()
            };
            assert!(!may_comment_out(&line), "{text}");
        }
    }

    /// pam_unix's auth line, no copy in apt's cache: the package fetched where lifeline runs
    /// puts it back, fed on the call's input; SSH010 does not take it for one of sshd's
    /// libraries.
    #[test]
    fn a_fetched_copy_puts_the_module_back_whatever_the_line() {
        use crate::probe::facts::{PackageCopy, PackageFile};
        let mut facts = with_damage(&[LIMITS_AUTH]);
        facts.package_files = vec![PackageFile {
            path: "/usr/lib/x86_64-linux-gnu/security/pam_unix.so".into(),
            member: "usr/lib/x86_64-linux-gnu/security/pam_unix.so".into(),
            package: "libpam-modules".into(),
            md5: "fedcba9876543210fedcba9876543210".into(),
            copy: PackageCopy::Fetched {
                from: "https://deb.debian.org/x.deb".into(),
                mode: 0o644,
                gzip_base64: "H4sI".into(),
            },
            ..PackageFile::default()
        }];
        let calls = calls(&facts);
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert!(calls[0].contains("ll_package_file"), "{calls:?}");
        assert!(calls[0].contains("security/pam_unix.so"), "{calls:?}");
        assert!(calls[0].contains("H4sI"), "the copy rides on the call: {calls:?}");
        assert!(!calls[0].contains("common-auth"), "{calls:?}");
        assert_eq!((crate::rules::ssh010_sshd_libraries_broken::RULE.check)(&facts), None);
    }

    #[test]
    fn a_healthy_guest_has_no_damage() {
        assert_eq!(check(&debian_with(|_| {})), None);
    }
}
