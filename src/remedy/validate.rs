//! Validation: `sshd -t` judges every sshd configuration a step leaves, before anything is
//! restarted; a step whose result it rejects is rolled back (see `plan.sh`). The guest side is
//! `validate.sh`.

use serde::Serialize;

pub(super) const SCRIPT: &str = include_str!("validate.sh");

/// What `sshd -t` said last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validation {
    pub ok: bool,
    /// sshd's complaint when it rejected the configuration.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use crate::remedy::plan::run_locally;

    #[test]
    fn sshd_is_found_judges_its_config_and_a_missing_privsep_directory_is_made() {
        // An sshd whose -t asks for the privilege separation directory (as sshd says it, with
        // CR LF), is happy once it exists, and refuses everything once $T/bad exists.
        let (dir, out) = run_locally(
            &[],
            "stub sshd 'case $1 in\n\
                 -t) [ ! -e \"$T/bad\" ] || { echo \"line 3: Bad option\" >&2; exit 255; }\n\
                     [ -d \"$T/privsep\" ] && exit 0\n\
                     printf \"Missing privilege separation directory: %s\\r\\n\" \"$T/privsep\" >&2; exit 255 ;;\n\
                 -T) printf \"port 22\\npasswordauthentication no\\nuser %s\\n\" \"$3\" ;;\n\
             esac'\n\
             ll_sshd_locate; [ \"$LL_SSHD\" = \"$T/bin/sshd\" ] && echo located\n\
             ll_sshd_valid | sed \"s#$T#T#\"; ll_sshd_valid && echo \"valid [$LL_SSHD_ERR]\"\n\
             ll_validate_report\n\
             : >\"$T/bad\"; ll_validate_report\n\
             ll_effective alice passwordauthentication; ll_effective alice nothing; ll_effective alice user\n\
             LL_SSHD=; ll_sshd_valid || echo \"$LL_SSHD_ERR\"",
        );
        let privsep = dir.join("privsep").is_dir();
        std::fs::remove_dir_all(dir).ok();
        assert!(privsep, "{out}");
        assert_eq!(
            out,
            "located\nll\tchanged\tT/privsep\tcreated the privilege separation directory\nvalid []\n\
             ll\tvalidate\tok\nll\tvalidate\tfailed\tline 3: Bad option\n\
             no\nuser=alice,host=lifeline.invalid,addr=127.0.0.1\nsshd is not installed\n"
        );
    }
}
