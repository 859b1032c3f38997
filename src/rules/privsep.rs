//! The privilege-separation directory, which SSH203 (missing) and SSH204 (unsafe) both check
//! and fix.

use super::*;
use crate::probe::facts::TestProblem;

/// The directory `sshd -t` named, else those each family compiles in.
pub(super) fn expected_dirs(facts: &Facts) -> Vec<String> {
    let named = facts.sshd.problems().find_map(|p| match p {
        TestProblem::PrivsepDirMissing { path } | TestProblem::PrivsepDirUnsafe { path } => {
            Some(path.clone())
        }
        _ => None,
    });
    if let Some(path) = named {
        return vec![path];
    }
    let dirs: &[&str] = match facts.os.family {
        Family::Debian => &["/run/sshd"],
        Family::Rhel => &["/var/empty/sshd", "/usr/share/empty.sshd"],
        Family::Suse => &["/var/lib/empty"],
        Family::AzureLinux => &["/var/lib/sshd"],
        Family::Unknown => &[],
    };
    dirs.iter().map(|d| d.to_string()).collect()
}

/// The directory root's, mode 0755, created if missing.
pub(super) fn dir_fix(facts: &Facts) -> Option<Fix> {
    let dir = expected_dirs(facts).into_iter().next()?;
    Some(Fix::step(
        Phase::SshdNeeds,
        format!("make {dir} root's, mode 0755"),
        vec![Call::new("ll_privsep_dir", [dir])],
    ))
}
