//! SSH309: a file every login reads (an account database, nsswitch.conf, sshd's PAM files) is
//! missing, damaged, or open to others.

use super::*;
use crate::probe::facts::{LoginFile, PasswordState};

pub static RULE: Rule = Rule {
    id: "SSH309",
    name: "login-files-damaged",
    title: "a file every login reads is missing, damaged or open to others",
    category: Category::Accounts,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "/etc/passwd, /etc/group, /etc/shadow, /etc/nsswitch.conf, /etc/pam.d/sshd and \
               (where libpam-runtime is installed) Debian's /etc/pam.d/common-auth, -account, \
               -session and -password, and /etc/security/limits.conf where it is or a login \
               stack loads pam_limits: that each exists and reads as its readers need it \
               (every passwd, group and shadow entry has all its fields and root has one; \
               every nsswitch line is a database and its sources, passwd, group and shadow \
               among them; every PAM line is an @include or a rule of a known type naming a \
               module; no NUL bytes), that root owns it and no one else may write it, that \
               everyone may read it except /etc/shadow, which no one but root and its group \
               may read; and that the SSH user, whom /etc/passwd sends to /etc/shadow for a \
               password, has an entry there.",
        why: "An account whose entry lost a field is skipped by glibc: the user no longer \
              exists for sshd, and if root's is gone, not for the console either. PAM fails \
              the whole stack on a line of no known type or a module it cannot load, and \
              without a file for a service it falls back to /etc/pam.d/other, which denies: \
              every login ends in `Permission denied`, on the serial console too when the \
              damage is in a common-* file. Without passwd, group or shadow in nsswitch.conf \
              no account resolves. A file others may write lets any user make themselves \
              root; a shadow file others may read gives away every password hash.",
        fix: "lifeline rebuilds each damaged file from a sound copy on the guest, after a \
              backup, and only when the result passes the same check: an account database \
              keeps every sound entry of its own and takes the others from its backup \
              (/etc/passwd-, /etc/group-, /etc/shadow-, which the shadow tools keep); \
              nsswitch.conf becomes the package's copy (/usr/share/libc-bin/nsswitch.conf); \
              limits.conf is made again without limits, as the packages ship it; \
              Debian's common-* files are written again by `pam-auth-update --force` from \
              the profiles the packages installed; /etc/pam.d/sshd becomes the file the \
              package shipped, which lifeline carries for Debian 12 and 13 and writes only \
              when its checksum is the one dpkg recorded for it. Then root owns each file, \
              no one else may write it, and /etc/shadow's others lose every right. Without \
              a sound copy the file is left to you. An SSH user left without a shadow \
              entry (a backup older than the account) gets one again: with the password given \
              to lifeline for them (--password-env, --password-file or the prompt), since \
              theirs went with the entry, else with none. Works in the break-in shell too, before \
              the boot goes on, when the damage keeps the console login out.",
        safety: "High: these files guard every login, the console's too. Each is written \
                 atomically, checked before it replaces the old one and undoable; \
                 `pam-auth-update --force` drops local changes to the common-* files \
                 (Debian's own tool; the backup keeps them). An account added since the \
                 backup keeps its entry only if that entry is still sound.",
    },
    check,
    fix: Some(fix),
};

/// The package's /etc/pam.d/sshd for each release lifeline knows, by the checksum dpkg
/// records for it: written only where dpkg says the package shipped exactly this.
const PAM_SSHD: [&str; 2] = [
    include_str!("../remedy/templates/debian-12.pam.sshd"),
    include_str!("../remedy/templates/debian-13.pam.sshd"),
];

/// pam_limits' file made again: every major distribution ships it without limits (those it sets
/// are in limits.d), and pam_limits fails every session without it.
const LIMITS_CONF: &str = "# /etc/security/limits.conf: made again by lifeline, without limits, as the \
     packages ship it.\n# pam_limits fails every session when this file is missing; see limits.conf(5).\n";

/// The shadow file: readable by root and its group only.
fn secret(file: &LoginFile) -> bool {
    file.kind == "shadow"
}

/// What is wrong with `file`'s content, if anything.
fn broken(file: &LoginFile) -> Option<String> {
    match (&file.mode, &file.flaw) {
        (None, _) => Some("missing".into()),
        (_, Some(flaw)) => Some(flaw.clone()),
        _ => None,
    }
}

/// What is wrong with `file`'s owner or mode, if anything.
fn open_to_others(file: &LoginFile) -> Option<String> {
    let (mode, uid, _) = file.mode?;
    let why = if uid != 0 {
        format!("owned by uid {uid}, not root")
    } else if mode & 0o022 != 0 {
        format!("mode {mode:04o}: others may write it")
    } else if secret(file) && mode & 0o007 != 0 {
        format!("mode {mode:04o}: everyone may read the password hashes")
    } else if !secret(file) && mode & 0o444 != 0o444 {
        format!("mode {mode:04o}: not everyone may read it")
    } else {
        return None;
    };
    Some(why)
}

/// passwd sends the user's password to /etc/shadow, which has no entry for them (a shadow
/// restored from a backup older than the account): PAM's account check fails every login.
fn entry_missing(facts: &Facts) -> bool {
    facts.account.password == Some(PasswordState::NoEntry)
}

fn check(facts: &Facts) -> Option<Finding> {
    let mut evidence: Vec<String> = facts
        .login_files
        .iter()
        .flat_map(|f| {
            [broken(f), open_to_others(f)]
                .into_iter()
                .flatten()
                .map(move |why| format!("{}: {why}", f.path))
        })
        .collect();
    if entry_missing(facts) {
        evidence.push(format!(
            "/etc/shadow: no entry for {}, whom /etc/passwd sends there for a password: \
             PAM cannot read their account and refuses every login",
            facts.user
        ));
    }
    let first = evidence.first()?.clone();
    let content = entry_missing(facts) || facts.login_files.iter().any(LoginFile::is_damaged);
    let finding = RULE.finding(
        format!("a file every login reads is damaged: {first}"),
        evidence,
        "restore it from its backup (/etc/passwd- and its kind), the package \
         (pam-auth-update --force, apt-get install --reinstall), then chown root and \
         chmod go-w (shadow: o-rwx)",
    );
    Some(if content {
        finding
    } else {
        finding.downgraded(Severity::Warning)
    })
}

/// The call that gives `file` sound content again, if there is a sound copy to take it from.
fn restore(file: &LoginFile) -> Option<Call> {
    let source = file.source.as_deref()?;
    if source == "pam-auth-update" {
        return Some(Call::bare("ll_pam_auth_update"));
    }
    if source == "lifeline" {
        return Some(Call::new(
            "ll_login_file_text",
            [file.path.as_str(), file.kind.as_str(), LIMITS_CONF],
        ));
    }
    if let Some(sum) = source.strip_prefix("dpkg:") {
        let text = PAM_SSHD
            .iter()
            .find(|t| format!("{:x}", md5::compute(t.as_bytes())) == sum)?;
        return Some(Call::new(
            "ll_login_file_text",
            [file.path.as_str(), file.kind.as_str(), text],
        ));
    }
    Some(Call::new(
        "ll_login_file",
        [file.path.as_str(), file.kind.as_str(), source],
    ))
}

fn fix(facts: &Facts) -> Option<Fix> {
    let mut calls: Vec<Call> = Vec::new();
    for file in &facts.login_files {
        let content = file.is_damaged();
        if content {
            // Without a sound copy the file stays as it is, left to a person.
            let Some(call) = restore(file) else { continue };
            if !calls.contains(&call) {
                calls.push(call);
            }
        }
        if content || open_to_others(file).is_some() {
            calls.push(Call::new(
                "ll_login_file_owner",
                [file.path.as_str(), file.kind.as_str()],
            ));
        }
    }
    if facts.shadow_entry_at_risk() {
        calls.push(Call::new("ll_shadow_entry", [facts.user.as_str()]));
    }
    (!calls.is_empty()).then(|| {
        Fix::step(
            Phase::Account,
            "restore the files every login reads from sound copies, and their owners and modes",
            calls,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fix::Action;
    use crate::rules::testing::*;

    /// The healthy Debian 12 capture with `path`'s probe line replaced by `line`.
    fn with_line(path: &str, line: &str) -> Facts {
        let healthy = fixture("debian-12-healthy");
        let old = healthy
            .login_files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("the healthy capture lists no {path}"));
        let (mode, uid, gid) = old.mode.unwrap();
        let old = format!(
            "{path}\t{}\t{mode:o} {uid} {gid}\t-\t{}\n",
            old.kind,
            old.source.as_deref().unwrap_or("-")
        );
        debian_text(&[(&old, &format!("{line}\n"))])
    }

    fn calls(facts: &Facts) -> Vec<String> {
        fix(facts)
            .unwrap()
            .actions()
            .iter()
            .map(|a| match a {
                Action::Step(step) => step.body(),
                other => panic!("not a step: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_passwd_that_lost_fields_is_merged_with_its_backup() {
        let facts = with_line(
            "/etc/passwd",
            "/etc/passwd\tpasswd\t644 0 0\tline 8 is not a passwd entry\t/etc/passwd-",
        );
        let finding = assert_rule(&RULE, &facts);
        assert_eq!(finding.severity, Severity::Error);
        assert!(finding.evidence[0].contains("line 8"), "{finding:?}");
        assert_eq!(
            calls(&facts),
            ["ll_login_file '/etc/passwd' 'passwd' '/etc/passwd-' && ll_login_file_owner '/etc/passwd' 'passwd'"]
        );
    }

    #[test]
    fn a_deleted_pam_sshd_comes_back_as_the_package_shipped_it() {
        let facts = with_line(
            "/etc/pam.d/sshd",
            "/etc/pam.d/sshd\tpam\t- - -\t-\tdpkg:8b4c7a12b031424b2a9946881da59812",
        );
        assert_rule(&RULE, &facts);
        let body = &calls(&facts)[0];
        assert!(body.starts_with("ll_login_file_text '/etc/pam.d/sshd' 'pam' '"), "{body}");
        assert!(body.contains("@include common-auth"), "{body}");
    }

    #[test]
    fn a_pam_sshd_dpkg_knows_otherwise_is_left_to_a_person() {
        let facts = with_line(
            "/etc/pam.d/sshd",
            "/etc/pam.d/sshd\tpam\t- - -\t-\tdpkg:00000000000000000000000000000000",
        );
        assert_rule(&RULE, &facts);
        assert_eq!(fix(&facts), None);
    }

    #[test]
    fn damaged_common_files_are_written_again_by_pam_auth_update_once() {
        let facts = debian_text(&[
            (
                "/etc/pam.d/common-auth\tpam\t644 0 0\t-",
                "/etc/pam.d/common-auth\tpam\t644 0 0\tline 17 names no PAM module",
            ),
            (
                "/etc/pam.d/common-session\tpam\t644 0 0\t-",
                "/etc/pam.d/common-session\tpam\t644 0 0\tempty",
            ),
        ]);
        assert_rule(&RULE, &facts);
        let body = &calls(&facts)[0];
        assert_eq!(body.matches("ll_pam_auth_update").count(), 1, "{body}");
    }

    #[test]
    fn a_user_shadow_has_no_entry_for_is_given_one() {
        let facts = debian_text(&[("shadow=hashed:20778:0:99999:7::", "shadow=none")]);
        assert_eq!(facts.account.password, Some(PasswordState::NoEntry));
        let finding = assert_rule(&RULE, &facts);
        assert_eq!(finding.severity, Severity::Error);
        assert!(
            finding.evidence[0].contains("no entry for azureuser"),
            "{finding:?}"
        );
        assert_eq!(calls(&facts), ["ll_shadow_entry 'azureuser'"]);
    }

    #[test]
    fn a_shadow_restored_from_its_backup_is_checked_for_the_user_entry() {
        let facts = with_line("/etc/shadow", "/etc/shadow\tshadow\t- - -\t-\t/etc/shadow-");
        assert_eq!(
            calls(&facts),
            ["ll_login_file '/etc/shadow' 'shadow' '/etc/shadow-' && ll_login_file_owner '/etc/shadow' 'shadow' && ll_shadow_entry 'azureuser'"]
        );
    }

    #[test]
    fn a_limits_conf_gone_is_made_again_without_limits() {
        let facts = debian_text(&[(
            "/etc/pam.d/common-password\tpam\t644 0 0\t-\tpam-auth-update\n",
            "/etc/pam.d/common-password\tpam\t644 0 0\t-\tpam-auth-update\n\
             /etc/security/limits.conf\tlimits\t- - -\tmissing\tlifeline\n",
        )]);
        let finding = assert_rule(&RULE, &facts);
        assert_eq!(finding.severity, Severity::Error);
        let body = &calls(&facts)[0];
        assert!(
            body.starts_with("ll_login_file_text '/etc/security/limits.conf' 'limits' '# "),
            "{body}"
        );
    }

    #[test]
    fn a_shadow_gone_without_a_sound_copy_is_left_to_a_person_whole() {
        let facts = with_line("/etc/shadow", "/etc/shadow\tshadow\t- - -\t-\t-");
        assert!(!facts.shadow_entry_at_risk());
        assert_rule(&RULE, &facts);
        assert_eq!(fix(&facts), None);
    }

    #[test]
    fn a_shadow_given_away_is_a_warning_whose_fix_only_takes_it_back() {
        let facts = with_line(
            "/etc/shadow",
            "/etc/shadow\tshadow\t644 65534 65534\t-\t/etc/shadow-",
        );
        let finding = assert_rule(&RULE, &facts);
        assert_eq!(finding.severity, Severity::Warning);
        assert!(finding.evidence[0].contains("uid 65534"), "{finding:?}");
        assert_eq!(calls(&facts), ["ll_login_file_owner '/etc/shadow' 'shadow'"]);
        let readable = with_line("/etc/shadow", "/etc/shadow\tshadow\t644 0 42\t-\t-");
        assert!(check(&readable).unwrap().evidence[0].contains("password hashes"));
        let unreadable = with_line("/etc/passwd", "/etc/passwd\tpasswd\t600 0 0\t-\t-");
        assert!(check(&unreadable).unwrap().evidence[0].contains("not everyone"));
    }
}
