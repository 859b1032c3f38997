//! SSH012: a file sshd or a login runs or loads has a mode or owner that keeps it from working
//! or lets someone other than root change it.

use super::*;
use crate::probe::facts::{FileKind, FileRole, SystemFile};

pub static RULE: Rule = Rule {
    id: "SSH012",
    name: "system-file-modes",
    title: "a file sshd or the login runs or loads has the wrong mode or owner",
    category: Category::Service,
    severity: Severity::Error,
    kind: Kind::Cause,
    docs: Docs {
        what: "The owner and mode of the files sshd and a login run or load: the sshd binary \
               and the helpers it executes (sshd-session, sshd-auth), the user's login shell, \
               the shared libraries they load (`ldd`), the PAM modules sshd's stack names, \
               and /etc/ssh, sshd_config and its drop-ins. Each must be executable where it \
               is run (sshd by root, the shell by the user), readable by everyone where \
               programs of every user load it (libraries, PAM modules), owned by root and \
               writable by no one else.",
        why: "sshd that cannot be executed does not start (`Permission denied`, status \
              203/EXEC) and clients are refused; a login shell the user cannot execute ends \
              every session at once. A library or PAM module others cannot read breaks the \
              programs users run. A file sshd runs or reads as root that someone else owns \
              or may write lets them become root.",
        fix: "lifeline gives each such file (a link's target) the owner, group and mode its \
              package ships, after a backup of the old ones (undoable): an entry of \
              dpkg-statoverride first; else, on Debian and Ubuntu, root:root with 0755 for \
              programs and directories and 0644 for libraries, PAM modules and \
              configuration files (dpkg records no modes; these are what Debian's packages \
              ship); on the RHEL, SUSE and Azure Linux families, root:root with 0755 for \
              programs, libraries and PAM modules, as their packages ship them. A \
              configuration file there, or any file on an unknown distribution, keeps its \
              mode minus what others may not have, plus what its readers need.",
        safety: "High: only owners and modes change, never content, and only of files whose \
                 present mode or owner keeps sshd or the login from working or lets others \
                 change them. A deliberate local mode is replaced; the backup keeps it.",
    },
    check,
    fix: Some(fix),
};

/// What is wrong with one file, as a phrase after its path, and whether it stops SSH (else it
/// is only unsafe).
struct Problem {
    why: String,
    stops: bool,
}

/// The owner, group and mode a file is to have, and where that comes from.
#[derive(Debug, PartialEq)]
struct Shipped {
    user: String,
    group: String,
    mode: u32,
    source: &'static str,
}

/// The rights the file's readers need beyond root's, which reads anything: who runs or loads
/// it, as what.
fn needed(facts: &Facts, file: &SystemFile) -> u32 {
    match file.role {
        // The user runs the shell (neither its owner nor in its group, as a rule).
        FileRole::Exec if is_login_shell(facts, file) => 0o001,
        // Only an execute bit lets root execute a file.
        FileRole::Exec => 0o100,
        // The kernel executes the loader for every user's program.
        FileRole::Library if is_run_as_program(file) => 0o005,
        // Programs of every user load them.
        FileRole::Library | FileRole::PamModule => 0o004,
        FileRole::Config => 0,
    }
}

/// The dynamic loader, which the kernel runs for every program, and glibc's libc.so, which
/// can be run too: their package ships them executable.
fn is_run_as_program(file: &SystemFile) -> bool {
    let name = file.path.rsplit('/').next().unwrap_or_default();
    name.starts_with("ld-linux") || name.starts_with("ld64.so") || name.starts_with("libc.so")
}

fn is_login_shell(facts: &Facts, file: &SystemFile) -> bool {
    facts.account.shell.as_deref() == Some(file.path.as_str())
}

/// What the distribution ships for `file`: dpkg-statoverride's entry, or the table of the
/// family, or (a configuration file outside Debian, any file of an unknown family) the file's
/// own mode made safe and usable.
fn shipped(facts: &Facts, file: &SystemFile, stat: &FileStat) -> Shipped {
    if let Some(o) = facts
        .sshd_files
        .overrides
        .iter()
        .find(|o| o.path == file.path)
    {
        return Shipped {
            user: o.user.clone(),
            group: o.group.clone(),
            mode: o.mode,
            source: "dpkg-statoverride",
        };
    }
    let dir = stat.kind == FileKind::Directory;
    // dpkg records no modes: Debian's packages ship programs and directories 0755, libraries,
    // PAM modules and configuration files 0644 (Debian Policy 10.9), glibc's loader and libc
    // 0755; rpm packages ship every shared object 0755.
    let table = match (facts.os.family, file.role) {
        (_, FileRole::Exec) => Some((0o755, "every distribution's packages")),
        (_, FileRole::Library) if is_run_as_program(file) => Some((0o755, "glibc's packages")),
        (_, FileRole::Config) if dir => Some((0o755, "every distribution's packages")),
        (Family::Debian, FileRole::Library | FileRole::PamModule | FileRole::Config) => {
            Some((0o644, "Debian's packages"))
        }
        (
            Family::Rhel | Family::Suse | Family::AzureLinux,
            FileRole::Library | FileRole::PamModule,
        ) => Some((0o755, "the rpm packages")),
        _ => None,
    };
    let (mode, source) = table.unwrap_or((
        (stat.mode | needed(facts, file)) & !0o022,
        "its own mode, made safe",
    ));
    Shipped {
        user: "root".into(),
        group: "root".into(),
        mode,
        source,
    }
}

fn problems(facts: &Facts, file: &SystemFile, stat: &FileStat, shipped: &Shipped) -> Vec<Problem> {
    let mut out = Vec::new();
    let needed = needed(facts, file);
    if stat.mode & needed != needed {
        let why = match file.role {
            FileRole::Exec if is_login_shell(facts, file) => {
                format!("is not executable by {}", facts.user)
            }
            FileRole::Exec => "cannot be executed".to_string(),
            _ => "cannot be loaded by programs running as users".to_string(),
        };
        // sshd or the shell not executable stops every login; the rest root still reads.
        out.push(Problem {
            why,
            stops: file.role == FileRole::Exec,
        });
    }
    if stat.owner != shipped.user {
        out.push(Problem {
            why: format!("is owned by {}, not {}", stat.owner, shipped.user),
            stops: false,
        });
    }
    if stat.mode & 0o022 & !shipped.mode != 0 {
        out.push(Problem {
            why: "is writable by others than its owner".into(),
            stops: false,
        });
    }
    out
}

/// Each file with a problem: the file, what the distribution ships for it, and the problems.
fn flagged(facts: &Facts) -> Vec<(&SystemFile, Shipped, Vec<Problem>)> {
    facts
        .sshd_files
        .files
        .iter()
        .filter_map(|file| {
            let stat = file.stat.as_ref()?;
            let shipped = shipped(facts, file, stat);
            let found = problems(facts, file, stat, &shipped);
            (!found.is_empty()).then_some((file, shipped, found))
        })
        .collect()
}

/// SSH012 gives `path` back its mode: another rule need not act on it being unusable.
pub(super) fn restores(facts: &Facts, path: &str) -> bool {
    flagged(facts).iter().any(|(file, ..)| file.path == path)
}

fn check(facts: &Facts) -> Option<Finding> {
    let flagged = flagged(facts);
    let stopping = flagged
        .iter()
        .find(|(_, _, found)| found.iter().any(|p| p.stops));
    let (worst, _, found) = stopping.or(flagged.first())?;
    let title = format!("{} {}", worst.path, found[0].why);
    let evidence = flagged
        .iter()
        .map(|(file, shipped, found)| {
            let why: Vec<&str> = found.iter().map(|p| p.why.as_str()).collect();
            format!(
                "{} ({}) {}; shipped: {:04o} {}:{} ({})",
                file.path,
                file.stat.as_ref().map(FileStat::describe).unwrap_or_default(),
                why.join(" and "),
                shipped.mode,
                shipped.user,
                shipped.group,
                shipped.source
            )
        })
        .collect();
    let finding = RULE.finding(
        title,
        evidence,
        "give each file the owner and mode its package ships (chown root:root; chmod 0755 \
         for programs, 0644 for libraries, PAM modules and configuration on Debian, 0755 on \
         RHEL and SUSE; `dpkg-statoverride --list` shows local exceptions)",
    );
    Some(if stopping.is_some() {
        finding
    } else {
        finding.downgraded(Severity::Warning)
    })
}

/// One step for what a break-in's offline shell may change too (programs, libraries, PAM
/// modules), one for sshd's configuration, whose change sshd -t must judge.
fn fix(facts: &Facts) -> Option<Fix> {
    let (config, files): (Vec<_>, Vec<_>) = flagged(facts)
        .into_iter()
        .partition(|(file, ..)| file.role == FileRole::Config);
    let calls = |flagged: Vec<(&SystemFile, Shipped, Vec<Problem>)>| -> Vec<Call> {
        flagged
            .into_iter()
            .map(|(file, shipped, _)| {
                Call::new(
                    "ll_file_mode",
                    [
                        file.path.clone(),
                        format!("{:o}", shipped.mode),
                        shipped.user,
                        shipped.group,
                    ],
                )
            })
            .collect()
    };
    let (files, config) = (calls(files), calls(config));
    let files = (!files.is_empty()).then(|| {
        Fix::step(
            Phase::Files,
            "give the programs, libraries and PAM modules sshd and the login need the owners and modes their packages ship",
            files,
        )
    });
    let config = (!config.is_empty()).then(|| {
        Fix::step(
            Phase::SshdNeeds,
            "give sshd's configuration files the owner and mode their package ships",
            config,
        )
    });
    match (files, config) {
        (Some(files), Some(config)) => Some(files.and(config)),
        (files, config) => files.or(config),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fix::Action;
    use crate::rules::testing::*;

    fn file<'a>(facts: &'a mut Facts, path: &str) -> &'a mut FileStat {
        facts
            .sshd_files
            .files
            .iter_mut()
            .find(|f| f.path == path)
            .and_then(|f| f.stat.as_mut())
            .unwrap_or_else(|| panic!("the healthy capture lists no {path}"))
    }

    fn bodies(facts: &Facts) -> Vec<(Phase, String)> {
        fix(facts)
            .unwrap()
            .actions()
            .iter()
            .map(|a| match a {
                Action::Step(step) => (step.phase, step.body()),
                other => panic!("not a step: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn an_sshd_that_cannot_be_executed_gets_the_mode_the_package_ships() {
        let facts = debian_with(|f| file(f, "/usr/sbin/sshd").mode = 0o666);
        let finding = assert_rule(&RULE, &facts);
        assert_eq!(finding.severity, Severity::Error);
        assert_eq!(finding.title, "/usr/sbin/sshd cannot be executed");
        assert!(
            finding.evidence[0].contains("0666 root:root")
                && finding.evidence[0].contains("writable by others"),
            "{finding:?}"
        );
        assert_eq!(
            bodies(&facts),
            [(
                Phase::Files,
                "ll_file_mode '/usr/sbin/sshd' '755' 'root' 'root'".to_string()
            )]
        );
    }

    #[test]
    fn a_library_given_away_is_unsafe_and_goes_back_to_root() {
        let lib = "/lib/x86_64-linux-gnu/libcrypto.so.3";
        let facts = debian_with(|f| {
            let stat = file(f, lib);
            (stat.uid, stat.owner) = (65534, "nobody".into());
        });
        let finding = assert_rule(&RULE, &facts);
        assert_eq!(finding.severity, Severity::Warning);
        assert!(finding.evidence[0].contains("owned by nobody"), "{finding:?}");
        assert_eq!(
            bodies(&facts),
            [(Phase::Files, format!("ll_file_mode '{lib}' '644' 'root' 'root'"))]
        );
        assert!(fix(&facts).unwrap().is_offline());
    }

    #[test]
    fn a_shell_the_user_cannot_run_is_restored_rather_than_replaced() {
        let facts = debian_with(|f| file(f, "/bin/bash").mode = 0o700);
        let finding = assert_rule(&RULE, &facts);
        assert_eq!(finding.title, "/bin/bash is not executable by azureuser");
        assert!(restores(&facts, "/bin/bash"));
        let mut shell_gone = facts.clone();
        shell_gone.account.shell_executable = false;
        assert_eq!(
            find("SSH303").and_then(|r| (r.check)(&shell_gone)),
            None,
            "SSH303 leaves the shell to SSH012"
        );
    }

    #[test]
    fn rpm_families_and_statoverride_decide_the_mode_and_the_config_is_judged_by_sshd_t() {
        let pam = "/lib/x86_64-linux-gnu/security/pam_unix.so";
        let mut facts = debian_with(|f| {
            file(f, pam).mode = 0o600;
            file(f, "/etc/ssh/sshd_config").mode = 0o666;
        });
        assert_eq!(
            bodies(&facts),
            [
                (Phase::Files, format!("ll_file_mode '{pam}' '644' 'root' 'root'")),
                (
                    Phase::SshdNeeds,
                    "ll_file_mode '/etc/ssh/sshd_config' '644' 'root' 'root'".to_string()
                )
            ]
        );
        assert!(!fix(&facts).unwrap().is_offline());
        facts.os.family = Family::Rhel;
        assert_eq!(
            bodies(&facts)[0].1,
            format!("ll_file_mode '{pam}' '755' 'root' 'root'")
        );
        assert!(bodies(&facts)[1].1.contains("'644'"), "0666 made safe");
        facts.sshd_files.overrides.push(crate::probe::facts::StatOverride {
            user: "root".into(),
            group: "shadow".into(),
            mode: 0o640,
            path: pam.into(),
        });
        assert_eq!(
            bodies(&facts)[0].1,
            format!("ll_file_mode '{pam}' '640' 'root' 'shadow'")
        );
    }

    #[test]
    fn the_healthy_capture_lists_sshd_its_libraries_pam_modules_and_config() {
        let facts = fixture("debian-12-healthy");
        let roles = |role| {
            facts
                .sshd_files
                .files
                .iter()
                .filter(|f| f.role == role && f.stat.is_some())
                .count()
        };
        assert!(roles(FileRole::Exec) >= 2, "sshd and the shell");
        assert!(roles(FileRole::Library) > 20);
        assert!(roles(FileRole::PamModule) > 5);
        assert!(roles(FileRole::Config) >= 3);
    }
}
