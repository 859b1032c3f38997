//! SSH010: sshd cannot load its libraries.

use super::*;
use crate::probe::facts::{PackageCopy, PackageFile, TestProblem};

pub static RULE: Rule = Rule {
    id: "SSH010",
    name: "sshd-libraries-broken",
    title: "sshd cannot load its shared libraries",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "Whether `ldd` finds every shared library sshd needs, whether `sshd -t` \
               fails with a loader error or an OpenSSL version mismatch, and, when sshd cannot \
               run, whether the libraries it loads still have the checksums dpkg recorded.",
        why: "An interrupted upgrade or a half-removed library leaves sshd unable to start \
              (`error while loading shared libraries`, `OpenSSL version mismatch`), so it is \
              down after the next restart or reboot; a corrupted one may crash sshd without a \
              word. A library systemd loads, damaged, panics the kernel at every boot: the \
              break-in's shell (`rescue --allow-reboot`) checks what PID 1 loads as well.",
        fix: "A library that is gone or not what its package installed is put back from the package: \
              `lifeline rescue` fetches the exact version the guest has installed from the \
              distribution's archive (Debian's and Ubuntu's, or `--package-mirror`) where \
              lifeline runs, since the guest's own package tools may load the damaged library \
              and the guest may reach no mirror; it sends the file only when its checksum is \
              the one the guest's dpkg recorded, and replaces the library atomically with its \
              owner and mode kept. Then `ldconfig` makes the loader's links and cache again (a \
              library whose soname link was deleted is \"not found\" though its file is whole). \
              A library no archive holds is left to you: finish the package transaction and \
              reinstall (`dpkg --configure -a`, `apt-get install --reinstall PACKAGE`, or the \
              dnf/zypper/tdnf equivalent).",
        safety: "Safe: the file put back is byte for byte the one the package installed (dpkg's \
                 own checksum on the guest decides, not the mirror), backed up and undoable; \
                 programs running keep the copy they loaded.",
    },
    check,
    fix: Some(fix),
};

/// The damaged files that are this rule's: programs and libraries, not PAM modules (SSH310)
/// nor the user's login shell (SSH303).
fn damaged(facts: &Facts) -> Vec<&PackageFile> {
    let shell = super::ssh303_login_shell_unusable::package_file(facts);
    (facts.package_files.iter())
        .filter(|f| !f.is_pam_module() && shell.is_none_or(|s| s.path != f.path))
        .collect()
}

fn check(facts: &Facts) -> Option<Finding> {
    let files = damaged(facts);
    let mut evidence: Vec<String> = facts
        .sshd
        .missing_libs
        .iter()
        .map(|l| format!("ldd: {l}"))
        .collect();
    evidence.extend(facts.sshd.problems().filter_map(|p| match p {
        TestProblem::Library { message } => Some(format!("sshd -t: {message}")),
        _ => None,
    }));
    evidence.extend(files.iter().map(|f| {
        let copy = match &f.copy {
            PackageCopy::NotFetched => String::new(),
            PackageCopy::Fetched { from, .. } => format!("; its copy: {from}"),
            PackageCopy::Failed { why } => format!("; no copy: {why}"),
        };
        format!("{}{copy}", not_as_installed(f))
    }));
    if evidence.is_empty() {
        return None;
    }
    let hint = match &files[..] {
        [] => reinstall_command(facts).to_string(),
        files => reinstall_packages(facts, files.iter().map(|f| f.package.as_str())),
    };
    // Found by checksum alone (sshd's loader said nothing, or in the break-in's shell the
    // boot's init loads it): the file is what is known.
    let title = match (&files[..], facts.sshd.missing_libs.is_empty()) {
        ([first, ..], true) => format!(
            "{} is not what its package {} installed: sshd, or the boot when PID 1 loads it, cannot run",
            first.path, first.package
        ),
        _ => RULE.title.to_string(),
    };
    Some(RULE.finding(title, evidence, hint))
}

/// Each damaged file whose package copy was fetched and checked goes back, and the loader's
/// links are made again (a deleted soname link is "not found" though its file is whole); then
/// sshd restarts (in the break-in's offline shell, the boot starts it).
fn fix(facts: &Facts) -> Option<Fix> {
    let mut calls: Vec<Call> = damaged(facts).into_iter().filter_map(put_back).collect();
    if calls.is_empty() && facts.sshd.missing_libs.is_empty() {
        return None;
    }
    let title = if calls.is_empty() {
        "make the loader's links again (ldconfig)"
    } else {
        "put back the damaged programs and libraries from their packages"
    };
    calls.push(Call::bare("ll_ldconfig"));
    calls.push(Call::bare("ll_want_restart"));
    Some(Fix::step(Phase::Files, title, calls))
}

/// What the probe found of `file`: not what its package installed.
pub(super) fn not_as_installed(file: &PackageFile) -> String {
    format!(
        "{} is not what {} {} installed (dpkg's md5 {})",
        file.path, file.package, file.version, file.md5
    )
}

/// The call that puts `file` back from its package's copy, when the copy was fetched.
pub(super) fn put_back(file: &PackageFile) -> Option<Call> {
    match &file.copy {
        PackageCopy::Fetched {
            mode, gzip_base64, ..
        } => Some(
            Call::new(
                "ll_package_file",
                [file.path.clone(), file.md5.clone(), format!("{mode:o}")],
            )
            .with_input(gzip_base64.clone()),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::*;

    #[test]
    fn fires_on_missing_libraries() {
        assert_rule(
            &RULE,
            &debian_with(|f| f.sshd.missing_libs = vec!["libcrypto.so.3 => not found".into()]),
        );
    }

    fn libwrap(copy: PackageCopy) -> crate::probe::facts::PackageFile {
        crate::probe::facts::PackageFile::libwrap("6f58e6402397fa27666ecbd6d7ec06ff", copy)
    }

    /// A damaged library with its package's copy is put back, the copy fed on the call's
    /// input; without a copy the finding names the package to reinstall and has no fix.
    #[test]
    fn a_damaged_library_goes_back_from_its_package_only_with_a_copy() {
        let fetched = PackageCopy::Fetched {
            from: "https://deb.debian.org/x.deb".into(),
            mode: 0o644,
            gzip_base64: "H4sI".into(),
        };
        let facts = debian_with(|f| f.package_files = vec![libwrap(fetched.clone())]);
        let finding = check(&facts).expect("fires");
        assert!(finding.evidence[0].contains("not what libwrap0 7.6.q-32 installed"));
        let planned = fix(&facts).expect("a fix");
        let crate::rules::fix::Action::Step(step) = &planned.actions()[0] else {
            panic!("{planned:?}")
        };
        assert_eq!(
            step.body(),
            "{ ll_package_file '/usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6' \
             '6f58e6402397fa27666ecbd6d7ec06ff' '644' <<'LL_INPUT'\nH4sI\nLL_INPUT\n} && ll_ldconfig && \
             ll_want_restart"
        );
        assert!(
            planned.is_offline(),
            "the break-in's offline shell makes it too"
        );
        let failed = PackageCopy::Failed {
            why: "no archive holds it".into(),
        };
        let facts = debian_with(|f| f.package_files = vec![libwrap(failed)]);
        let finding = check(&facts).expect("fires");
        assert!(finding.evidence[0].contains("no copy: no archive holds it"));
        assert!(finding.fix.contains("apt-get install --reinstall libwrap0"));
        assert!(fix(&facts).is_none());
        assert!(check(&debian_with(|_| {})).is_none());
    }
}
