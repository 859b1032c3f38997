//! The repairs `lifeline rescue` applies: for each finding of a diagnosis whose rule has a safe
//! fix for these facts (declared in the rule's file, [`crate::rules::fix`]), the step that makes
//! it (the guest side is `repair.sh`). Findings without one are handed back as the manual part
//! of the plan, with the rule's own advice. Nothing here knows a rule: it orders and renders.
//!
//! Steps run in the order SSH needs them: disk space first (every other step writes a backup),
//! then what sshd needs to start at all (host keys, the privilege-separation directory and
//! user), then the configuration, then the account and its keys, then the way in (nologin
//! files, firewall, SELinux). The service is started, enabled, unmasked or restarted by the
//! plan's end (`ll_finish`), which then checks sshd's banner on every configured port.
//!
//! Configuration edits name the file, the line and the text the diagnosis saw; the guest
//! refuses an edit when the line no longer reads so (the guest changed since the diagnosis),
//! and comments a line out rather than deleting it, so that a person sees what was there.
//! Only when sshd still rejects a line after that does the main file go back to the
//! distribution's pristine default (as `lifeline reset-ssh --keep-ports` does).

use crate::diagnose::Diagnosis;
use crate::posix_sh::quote;
use crate::remedy::firewall;
use crate::remedy::plan::Plan;
use crate::remedy::{PublicKeys, UserName};
use crate::rules::fix::{Action, Fix, LineEdit, Phase};
use crate::rules::{Finding, Severity};
use crate::secret::Secret;
use std::collections::{BTreeMap, BTreeSet};

pub(super) const SCRIPT: &str = include_str!("repair.sh");

/// Separates the fields of a line edit: config lines may hold tabs, never this.
const FIELD: char = '\u{1f}';

/// The title under which the plan's end starts sshd.
const START_SERVICE: &str = "start, enable and unmask sshd (at the end)";

const CONFIG_STEP: &str = "repair the sshd configuration";

/// A rescue's plan for one diagnosis.
#[derive(Debug, Clone)]
pub struct Repair {
    pub plan: Plan,
    /// Each finding with a fix, and the title of the step that makes it.
    pub fixes: Vec<(Finding, String)>,
    /// Findings lifeline does not fix on its own (their rule has no fix for these facts):
    /// someone has to decide.
    pub manual: Vec<Finding>,
    /// Steps the operator asked for beside the findings' fixes (`--ssh-key-file`).
    pub requested: Vec<String>,
    /// What the fixes do, call by call ([`Fix::signatures`]): a rescue runs a plan again only
    /// while it would do something no earlier round did.
    pub signatures: BTreeSet<String>,
}

impl Repair {
    pub fn plan(diagnosis: &Diagnosis) -> Repair {
        Repair::plan_where(diagnosis, |_| true)
    }

    /// The plan for a shell where no service manager runs (the break-in's, before the boot
    /// goes on): only the fixes made by files alone ([`Fix::is_offline`]). The others are
    /// neither planned nor manual: the rescue after the boot diagnoses them afresh.
    pub fn plan_offline(diagnosis: &Diagnosis) -> Repair {
        Repair::plan_where(diagnosis, Fix::is_offline)
    }

    fn plan_where(diagnosis: &Diagnosis, keep: impl Fn(&Fix) -> bool) -> Repair {
        let mut builder = Builder::default();
        for finding in &diagnosis.findings {
            if finding.severity == Severity::Info {
                continue;
            }
            match finding.fix_on(&diagnosis.facts) {
                Some(fix) if keep(&fix) => {
                    builder.signatures.extend(fix.signatures());
                    let title = builder.add(fix);
                    builder.fixes.push((finding.clone(), title));
                }
                Some(_) => {}
                None => builder.manual.push(finding.clone()),
            }
        }
        builder.finish()
    }

    /// Adds public keys for `user` (`rescue --ssh-key-file`, or the Azure VM model's), beside
    /// the fixes: a key-only account whose authorized_keys is gone has no fix of its own.
    pub fn with_key(mut self, user: &UserName, keys: &PublicKeys) -> Repair {
        self.plan = super::reset_key::add_step(self.plan, user, keys, false);
        let title = self
            .plan
            .step_titles()
            .last()
            .expect("the key step")
            .to_string();
        self.requested.push(title);
        self
    }

    /// Gives a shadow entry the plan makes anew ([`crate::probe::Facts::shadow_entry_at_risk`])
    /// the password the operator gave lifeline for the user (`--password-env`, `--password-file`
    /// or the prompt): the user's own went with the entry, and password logins are to work
    /// again. An entry that survives keeps its password.
    pub async fn with_given_password(
        mut self,
        diagnosis: &Diagnosis,
        password: Option<&Secret>,
    ) -> Repair {
        if let Some(password) = password
            && diagnosis.facts.shadow_entry_at_risk()
        {
            self.plan = super::password::given_hash(self.plan, password).await;
        }
        self
    }

    /// Nothing to do: no finding has a fix (or there is no finding) and nothing was asked for.
    pub fn is_empty(&self) -> bool {
        self.fixes.is_empty() && self.requested.is_empty()
    }
}

#[derive(Default)]
struct Builder {
    fixes: Vec<(Finding, String)>,
    manual: Vec<Finding>,
    signatures: BTreeSet<String>,
    /// Steps by phase (see the module comment), each a title and a body.
    steps: BTreeMap<Phase, Vec<(String, String)>>,
    /// Configuration edits, by file and line: one step applies them all.
    edits: BTreeMap<String, BTreeMap<u32, LineEdit>>,
    /// Some finding's fix edits the configuration (even if with no edit of its own).
    config: bool,
}

impl Builder {
    /// Adds a fix's actions; returns the title of the first (the one the finding is fixed by).
    fn add(&mut self, fix: Fix) -> String {
        let titles: Vec<String> = fix
            .into_actions()
            .into_iter()
            .map(|action| self.action(action))
            .collect();
        titles.into_iter().next().expect("a fix has an action")
    }

    fn action(&mut self, action: Action) -> String {
        match action {
            Action::StartService => START_SERVICE.to_string(),
            Action::Step(step) => {
                let steps = self.steps.entry(step.phase).or_default();
                // Several findings may share one step.
                if !steps.iter().any(|(t, _)| *t == step.title) {
                    steps.push((step.title.clone(), step.body()));
                }
                step.title
            }
            Action::EditConfig(edits) => {
                self.config = true;
                for edit in edits {
                    self.edits
                        .entry(edit.file.clone())
                        .or_default()
                        .insert(edit.line, edit);
                }
                CONFIG_STEP.to_string()
            }
        }
    }

    fn finish(mut self) -> Repair {
        if self.config {
            let body = self.config_step_body();
            self.steps
                .entry(Phase::Config)
                .or_default()
                .push((CONFIG_STEP.to_string(), body));
        }
        let mut plan = Plan::new("rescue");
        if self.config {
            plan = super::reset_ssh::with_reset(plan);
        }
        plan = plan
            .library(firewall::SCRIPT)
            .library(super::reset_key::SCRIPT)
            .library(super::add_user::SCRIPT)
            .library(super::password::SCRIPT)
            .library(crate::probe::LOGIN_FILES)
            .library(SCRIPT);
        for (title, body) in self.steps.into_values().flatten() {
            plan = plan.step(title, body);
        }
        Repair {
            plan,
            fixes: self.fixes,
            manual: self.manual,
            requested: Vec::new(),
            signatures: self.signatures,
        }
    }

    /// One `ll_edit_lines` per file, then whatever `sshd -t` still names.
    fn config_step_body(&self) -> String {
        let mut body = String::new();
        for (file, edits) in &self.edits {
            body.push_str(&format!(
                "ll_edit_lines {} <<'LL_EDITS' || return 1\n",
                quote(file)
            ));
            for edit in edits.values() {
                body.push_str(&format!(
                    "{}{FIELD}{}{FIELD}{}{FIELD}{}\n",
                    edit.line, edit.old, edit.new, edit.why
                ));
            }
            body.push_str("LL_EDITS\n");
        }
        body.push_str("ll_comment_rejected && ll_reset_if_still_rejected");
        body
    }
}

#[cfg(test)]
mod tests {
    use super::{FIELD, SCRIPT};
    use crate::probe::LOGIN_FILES;
    use crate::remedy::{over_empty_etc, run_locally, run_over_private_etc, scrubbed};

    #[tokio::test]
    async fn the_given_password_goes_only_where_a_shadow_entry_may_be_made_and_is_withheld() {
        use crate::diagnose::Diagnosis;
        use crate::rules::testing::debian_text;
        use crate::secret::Secret;
        let password = Secret::new("correct horse");
        const HELD: &str = "cat >\"$LL_RUN/given_hash\" <<'LL_DATA'\n<withheld>\n";
        let lost = Diagnosis::from_facts(
            debian_text(&[("shadow=hashed:20778:0:99999:7::", "shadow=none")]),
            Default::default(),
        );
        let given = super::Repair::plan(&lost)
            .with_given_password(&lost, Some(&password))
            .await;
        let shown = given.plan.script();
        assert!(
            shown.contains(HELD)
                && shown.contains("ll_shadow_entry 'azureuser'")
                && !shown.contains("$6$")
                && !shown.contains("correct horse"),
            "{shown}"
        );
        let unknown = super::Repair::plan(&lost)
            .with_given_password(&lost, None)
            .await;
        assert!(!unknown.plan.script().contains(HELD));
        let healthy = Diagnosis::from_facts(debian_text(&[]), Default::default());
        let kept = super::Repair::plan(&healthy)
            .with_given_password(&healthy, Some(&password))
            .await;
        assert!(!kept.plan.script().contains(HELD));
    }

    #[test]
    fn login_files_are_judged_as_their_readers_read_them() {
        let cases = [
            (
                "passwd",
                "root:x:0:0:root:/root:/bin/bash\n\nu:x:1000:1000::/home/u:/bin/sh\n",
                "",
            ),
            (
                "passwd",
                "root:x:0:0:root:/root:/bin/bash\nu:x:1000:1000::/home/u\n",
                "line 2 is not a passwd entry",
            ),
            (
                "passwd",
                "u:x:1000:1000::/home/u:/bin/sh\n",
                "no entry for root",
            ),
            (
                "group",
                "root:x:0:\nadm:x:four:u\n",
                "line 2 has no numeric id",
            ),
            ("shadow", "root:*:19000:0:99999:7:::\n", ""),
            ("shadow", "", "empty"),
            (
                "nsswitch",
                "# c\npasswd: files systemd\ngroup:files\nshadow: files [NOTFOUND=return] db\n",
                "",
            ),
            (
                "nsswitch",
                "passwd: files\ngroup: files\n",
                "passwd, group or shadow has no line",
            ),
            (
                "nsswitch",
                "passwd: files\ngroup: fi%%les\nshadow: files\n",
                "line 2 names sources that are not names",
            ),
            (
                "pam",
                "@include common-auth\n-session optional pam_systemd.so\nauth [success=1 default=ignore] pam_unix.so nullok # c\naccount include system-auth\n",
                "",
            ),
            (
                "pam",
                "auth required pam_unix.so\nk\n",
                "line 2 is not a PAM rule",
            ),
            (
                "pam",
                "auth [success=1 default=ignore] pam_unx#%garbage\n",
                "line 1 names no PAM module",
            ),
            (
                "pam",
                "auth required pam_unix.so x#%%\\000garbage\n",
                "holds NUL bytes",
            ),
            ("limits", "", ""),
            ("limits", "* hard core 0\nwhatever\n", ""),
            ("pam", "", "empty"),
        ];
        for (kind, content, flaw) in cases {
            let (dir, out) = run_locally(
                &[LOGIN_FILES],
                &format!(
                    "printf '{content}' >\"$T/f\"; ll_login_file_flaw {kind} \"$T/f\"; echo \"status $?\""
                ),
            );
            std::fs::remove_dir_all(dir).ok();
            let status = if flaw.is_empty() {
                "status 0"
            } else {
                "status 1"
            };
            assert_eq!(
                out.trim(),
                format!("{flaw}\n{status}").trim(),
                "{kind}: {content:?}"
            );
        }
        // The probe judges all its files in one call: each gets the answer it gets alone, a
        // missing file included.
        let mut body = String::new();
        let mut args = String::from("passwd \"$T/none\"");
        let mut expected = String::from("T/none\tmissing\n");
        for (i, (kind, content, flaw)) in cases.iter().enumerate() {
            body += &format!("printf '{content}' >\"$T/f{i}\"\n");
            args += &format!(" {kind} \"$T/f{i}\"");
            let flaw = if flaw.is_empty() { "-" } else { flaw };
            expected += &format!("T/f{i}\t{flaw}\n");
        }
        let (dir, out) = run_locally(
            &[LOGIN_FILES],
            &format!("{body}ll_login_files_flaws {args}"),
        );
        let out = scrubbed(&dir, &out);
        std::fs::remove_dir_all(dir).ok();
        let sorted = |text: &str| {
            let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
            lines.sort();
            lines
        };
        assert_eq!(sorted(&out), sorted(&expected));
    }

    #[test]
    fn a_damaged_account_database_keeps_its_sound_entries_and_takes_the_rest_from_its_backup() {
        let (dir, out) = run_locally(
            &[LOGIN_FILES, SCRIPT],
            "printf 'root:x:0:0:root:/root:/bin/bash\\nu:x:10x#%%\\000garbage\\n00::/home/u:/bin/sh\\nnew:x:1001:1001::/home/new:/bin/sh\\n' >\"$T/passwd\"\n\
             printf 'root:x:0:0:old:/root:/bin/sh\\nu:x:1000:1000::/home/u:/bin/sh\\n' >\"$T/passwd-\"\n\
             chmod 0666 \"$T/passwd\"\n\
             ll_login_file \"$T/passwd\" passwd \"$T/passwd-\" && ll_login_file_owner \"$T/passwd\" passwd; \
             echo \"status $? $LL_STEP_ERR $(stat -c %a \"$T/passwd\")\"\n\
             : >\"$T/empty\"; ll_login_file \"$T/passwd\" passwd \"$T/empty\"; echo \"status $? $LL_STEP_ERR\"",
        );
        let after = std::fs::read_to_string(dir.join("passwd")).unwrap();
        std::fs::remove_dir_all(dir).ok();
        assert!(out.contains("status 0  644"), "{out}");
        assert_eq!(
            after,
            "root:x:0:0:root:/root:/bin/bash\nu:x:1000:1000::/home/u:/bin/sh\nnew:x:1001:1001::/home/new:/bin/sh\n"
        );
        assert!(
            out.contains("status 1 ") && out.contains("cannot stand in for"),
            "{out}"
        );
    }

    #[test]
    fn a_file_mode_is_set_on_the_links_target_with_a_backup_and_undone_by_it() {
        let (dir, out) = run_locally(
            &[SCRIPT],
            "printf 'ELF' >\"$T/libx.so.1.2\" && ln -s libx.so.1.2 \"$T/libx.so.1\"\n\
             chown 65534:65534 \"$T/libx.so.1.2\" && chmod 0666 \"$T/libx.so.1.2\"\n\
             ll_file_mode \"$T/libx.so.1\" 644 root root; echo \"status $? $(stat -c '%a %U %G' \"$T/libx.so.1.2\")\"\n\
             ll_file_mode \"$T/libx.so.1\" 644 root root; echo \"again $?\"\n\
             [ -L \"$T/libx.so.1\" ] && echo 'still a link'\n\
             ll_restore_all \"$LL_SDIR\" rollback >/dev/null; echo \"undone $(stat -c '%a %u %g' \"$T/libx.so.1.2\")\"\n\
             ll_file_mode \"$T/gone\" 755 root root; echo \"status $? $LL_STEP_ERR\"",
        );
        let out = scrubbed(&dir, &out);
        std::fs::remove_dir_all(dir).ok();
        assert!(
            out.contains("ll\tchanged\tT/libx.so.1.2\towner root:root, mode 644")
                && out.contains("status 0 644 root root")
                && out.contains("ll\tunchanged\tT/libx.so.1.2\nagain 0")
                && out.contains("still a link")
                && out.contains("undone 666 65534 65534")
                && out.contains("status 1 T/gone is gone"),
            "{out}"
        );
    }

    #[test]
    fn a_shadow_given_away_goes_back_to_root_and_its_group() {
        let (dir, out) = run_over_private_etc(
            &[LOGIN_FILES, SCRIPT],
            "printf 'root:*:1:0:99999:7:::\\n' >\"$T/shadow\" && chown 65534:65534 \"$T/shadow\" && chmod 0755 \"$T/shadow\"\n\
             ll_login_file_owner \"$T/shadow\" shadow; echo \"status $? $(stat -c '%a %u %g' \"$T/shadow\")\"\n\
             awk -F: '$1 == \"shadow\" { print \"shadow gid\", $3 }' /etc/group",
        );
        std::fs::remove_dir_all(dir).ok();
        let gid = out
            .lines()
            .find_map(|l| l.strip_prefix("shadow gid "))
            .unwrap_or("0");
        assert!(out.contains(&format!("status 0 640 0 {gid}")), "{out}");
    }

    #[test]
    fn a_user_without_a_shadow_entry_gets_one_with_the_given_password_or_none_undoably() {
        let day = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs()
                / 86400
        };
        let before = day();
        // A shadow without its last newline; u and 1e3 are sent there by passwd ("x"), k is
        // not; 1e3 is not 1000 (awk compares the names as text).
        let (dir, out) = run_over_private_etc(
            &[LOGIN_FILES, SCRIPT],
            "printf 'root:x:0:0:root:/root:/bin/sh\\nu:x:1000:1000::/home/u:/bin/sh\\nk:*:1001:1001::/home/k:/bin/sh\\n1e3:x:1002:1002::/home/n:/bin/sh\\n' >/etc/passwd\n\
             printf 'root:*:1:0:99999:7:::\\n1000:*:1:0:99999:7:::' >/etc/shadow && chmod 0640 /etc/shadow\n\
             ll_shadow_entry u; echo \"status $?\"; ll_shadow_entry u; echo \"again $?\"\n\
             ll_shadow_entry k; echo \"not shadowed $? $(grep -c '^k:' /etc/shadow)\"\n\
             ll_shadow_entry 1e3; echo \"by name $? $(grep -c '^1e3:' /etc/shadow)\"\n\
             echo \"entry $(grep '^u:' /etc/shadow) $(stat -c %a /etc/shadow) $(grep -c '^1000:[*]:1:0:99999:7:::$' /etc/shadow)\"\n\
             ll_restore_all \"$LL_SDIR\" rollback >/dev/null; echo \"undone $(grep -c '^u:' /etc/shadow)\"\n\
             printf '%s\\n' '$6$s$h' >\"$LL_RUN/given_hash\"; ll_shadow_entry u; echo \"given $? $(grep -c '^u:[$]6[$]s[$]h:' /etc/shadow)\"\n\
             rm /etc/shadow; ll_shadow_entry u; echo \"no shadow $?\"",
        );
        std::fs::remove_dir_all(dir).ok();
        let entry = |day: u64| format!("entry u:*:{day}:0:99999:7::: 640 1");
        assert!(
            out.contains("status 0")
                && out.contains("ll\tchanged\tpassword of u\tnone (*)")
                && out.contains("ll\tunchanged\t/etc/shadow\nagain 0")
                && out.contains("not shadowed 0 0")
                && out.contains("by name 0 1")
                && (out.contains(&entry(before)) || out.contains(&entry(day())))
                && out.contains("undone 0")
                && out.contains("ll\tchanged\tpassword of u\tthe one given to lifeline")
                && out.contains("given 0 1")
                && out.contains("no shadow entry was made for u: /etc/shadow")
                && out.contains("no shadow 0"),
            "{out}"
        );
    }

    #[test]
    fn the_package_file_carried_is_written_and_checked_like_a_copy() {
        let (dir, out) = run_locally(
            &[LOGIN_FILES, SCRIPT],
            "ll_login_file_text \"$T/sshd\" pam '@include common-auth\naccount required pam_nologin.so\n'; \
             echo \"status $?\"; ll_login_file_text \"$T/other\" pam 'garbage'; echo \"status $? $LL_STEP_ERR\"",
        );
        let after = std::fs::read_to_string(dir.join("sshd")).unwrap();
        let other = dir.join("other").exists();
        std::fs::remove_dir_all(dir).ok();
        assert!(out.contains("status 0"), "{out}");
        assert_eq!(
            after,
            "@include common-auth\naccount required pam_nologin.so\n"
        );
        assert!(
            out.contains("status 1") && out.contains("not a PAM rule"),
            "{out}"
        );
        assert!(!other, "a file that fails the check is not written");
    }

    #[test]
    fn pam_auth_update_must_leave_sound_common_files() {
        let run = |tool: &str| {
            let (dir, out) = run_over_private_etc(
                &[LOGIN_FILES, SCRIPT],
                &format!(
                    "stub pam-auth-update 'for f in auth account session password; do {tool} >/etc/pam.d/common-$f; done'\n\
                     : >/etc/pam.d/common-auth; ll_pam_auth_update; echo \"status $? $LL_STEP_ERR\"; wc -l <\"$LL_SDIR/manifest\""
                ),
            );
            std::fs::remove_dir_all(dir).ok();
            out
        };
        let out = run("echo \"$f required pam_permit.so\"");
        assert!(out.contains("status 0"), "{out}");
        assert!(out.contains("changed\t/etc/pam.d/common-session"), "{out}");
        assert!(
            out.trim_end().ends_with("10"),
            "a backup of each common file and its .pam-old: {out}"
        );
        let out = run("echo \"$f required\"");
        assert!(
            out.contains("status 1 pam-auth-update left /etc/pam.d/common-auth unusable: line 1"),
            "{out}"
        );
    }

    #[test]
    fn a_line_with_nul_bytes_reads_as_the_probe_saw_it() {
        let (dir, out) = run_locally(
            &[SCRIPT],
            "printf 'UsePAM yes\\nPort 22x#%%\\000garbage\\n' >\"$T/cfg\"\n\
             printf '2\\037Port 22x#%%garbage\\037\\037sshd -t: Badly formatted port number.\\n' >\"$T/edit\"\n\
             ll_edit_lines \"$T/cfg\" <\"$T/edit\"; echo \"status $? $LL_STEP_ERR\"",
        );
        let after = std::fs::read_to_string(dir.join("cfg")).unwrap();
        std::fs::remove_dir_all(dir).ok();
        assert!(out.contains("status 0"), "{out}");
        assert_eq!(
            after,
            "UsePAM yes\n#Port 22x#%garbage  # lifeline rescue: sshd -t: Badly formatted port number.\n"
        );
    }

    /// A key whose name says no type is made ed25519; a key directory deleted with it (all of
    /// /etc/ssh gone) is made again, root's, 0755.
    #[test]
    fn a_host_key_whose_name_says_no_type_is_made_ed25519_where_its_directory_was() {
        let (dir, out) = run_locally(
            &[SCRIPT],
            "ll_host_keys \"$T/ssh/ssh_host_missing_key\"; echo \"status $?\"; \
             stat -c 'dir %a %u' \"$T/ssh\"",
        );
        let public =
            std::fs::read_to_string(dir.join("ssh/ssh_host_missing_key.pub")).unwrap_or_default();
        std::fs::remove_dir_all(dir).ok();
        assert!(out.contains("status 0"), "{out}");
        assert!(out.contains("dir 755 0"), "{out}");
        assert!(public.starts_with("ssh-ed25519 "), "{public}\n{out}");
    }

    #[test]
    fn an_init_scripts_options_are_emptied_and_it_stays_executable() {
        let (dir, out) = run_locally(
            &[SCRIPT],
            "mkdir \"$T/init.d\" && printf '#!/bin/sh\\nSSHD_OPTS=\"-p 2222\"\\nexec sshd $SSHD_OPTS\\n' >\"$T/init.d/ssh\" && \
             chmod 0755 \"$T/init.d/ssh\" && ll_drop_launch_override \"$T/init.d/ssh\"; \
             echo \"status $? $(stat -c %a \"$T/init.d/ssh\")\"",
        );
        let script = std::fs::read_to_string(dir.join("init.d/ssh")).unwrap();
        std::fs::remove_dir_all(dir).ok();
        assert!(out.contains("status 0 755"), "{out}");
        assert_eq!(script, "#!/bin/sh\nSSHD_OPTS=\nexec sshd $SSHD_OPTS\n");
    }

    /// Runs `ll_edit_lines` on a scratch copy of `config` with `edits` (fields joined by
    /// [`FIELD`]); returns the file afterwards and what the run printed.
    fn edit(config: &str, edits: &[[&str; 4]]) -> (String, String) {
        let lines: String = edits
            .iter()
            .map(|e| format!("{}\n", e.join(&FIELD.to_string())))
            .collect();
        on_scratch_file(
            config,
            &format!("ll_edit_lines \"$T/file\" <<'EOF'\n{lines}EOF"),
        )
    }

    /// Runs `command` on `$T/file`, a scratch file holding `content`; returns the file
    /// afterwards and what the run printed, ending with `status` and the step's error.
    fn on_scratch_file(content: &str, command: &str) -> (String, String) {
        let body = format!(
            "printf '%s' '{content}' >\"$T/file\"\n{command}\n\
             echo \"status $? $LL_STEP_ERR\""
        );
        let (dir, out) = run_locally(&[SCRIPT], &body);
        let after = std::fs::read_to_string(dir.join("file")).unwrap();
        std::fs::remove_dir_all(dir).ok();
        (after, out)
    }

    #[test]
    fn lines_are_commented_out_replaced_or_grown_where_the_probe_saw_them() {
        let config = "Port 2222\nBogus\tyes\n  PubkeyAuthentication no\nUsePAM yes\n";
        let (after, out) = edit(
            config,
            &[
                ["1", "Port 2222", "Port 22\\nPort 2222", ""],
                ["2", "Bogus\tyes", "", "sshd -t: Bad configuration option"],
                [
                    "3",
                    "PubkeyAuthentication no",
                    "PubkeyAuthentication yes",
                    "",
                ],
            ],
        );
        assert!(out.contains("status 0"), "{out}");
        assert_eq!(
            after,
            "Port 22\nPort 2222\n#Bogus\tyes  # lifeline rescue: sshd -t: Bad configuration option\n  \
             PubkeyAuthentication yes\nUsePAM yes\n"
        );
    }

    #[test]
    fn a_line_that_changed_since_the_diagnosis_is_left_alone() {
        let config = "Port 2200\n";
        let (after, out) = edit(config, &[["1", "Port 2222", "Port 22", ""]]);
        assert!(out.contains("status 1"), "{out}");
        assert!(out.contains("no longer reads as diagnosed"), "{out}");
        assert_eq!(after, config);
        let (after, out) = edit(
            config,
            &[
                ["1", "Port 2200", "Port 22", ""],
                ["5", "UsePAM no", "UsePAM yes", ""],
            ],
        );
        assert!(out.contains("status 1"), "a line past the end: {out}");
        assert_eq!(after, config);
    }

    /// Runs `ll_fstab_entry` on a scratch fstab holding `fstab`, line 1 becoming `new`;
    /// returns the file afterwards and what the run printed.
    fn fstab_entry(fstab: &str, new: &str) -> (String, String) {
        let old = fstab.lines().next().unwrap();
        on_scratch_file(
            fstab,
            &format!("ll_fstab_entry \"$T/file\" 1 '{old}' '{new}'"),
        )
    }

    #[test]
    fn an_fstab_entry_gets_nofail_when_findmnt_finds_it_no_worse() {
        let fstab = "UUID=0a3c-dead /data ext4 defaults 0 2\ntmpfs /tmp tmpfs defaults 0 0\n";
        let (after, out) = fstab_entry(fstab, "UUID=0a3c-dead /data ext4 defaults,nofail 0 2");
        assert!(out.contains("status 0"), "{out}");
        assert_eq!(
            after,
            "UUID=0a3c-dead /data ext4 defaults,nofail 0 2\ntmpfs /tmp tmpfs defaults 0 0\n"
        );
    }

    #[test]
    fn an_fstab_edit_that_findmnt_finds_worse_is_not_written() {
        let fstab = "tmpfs /tmp tmpfs defaults 0 0\n";
        let (after, out) = fstab_entry(fstab, "UUID=0a3c-dead /tmp ext4 defaults 0 2");
        assert!(out.contains("status 1"), "{out}");
        assert!(out.contains("findmnt") || out.contains("[E]"), "{out}");
        assert_eq!(after, fstab);
    }

    const LOGIN_STACK: &str = "auth requisite pam_nologin.so\nsession    required   pam_limits.so\nsession optional pam_motd.so\n";

    #[test]
    fn a_pam_module_with_no_copy_to_restore_has_its_session_lines_commented_out() {
        let (after, out) = on_scratch_file(
            LOGIN_STACK,
            "ll_pam_module pam_limits.so 'apt-get install --reinstall libpam-modules' - - - - \
             \"$T/file\" 2 'session    required   pam_limits.so'",
        );
        assert!(out.contains("status 0"), "{out}");
        assert!(
            out.contains("apt-get install --reinstall libpam-modules"),
            "{out}"
        );
        assert_eq!(
            after,
            "auth requisite pam_nologin.so\n#session    required   pam_limits.so  \
             # lifeline rescue: pam_limits.so cannot be loaded\nsession optional pam_motd.so\n"
        );
        // Nothing left that may go: the step fails and says what puts the module back.
        let (after, out) = on_scratch_file(
            LOGIN_STACK,
            "ll_pam_module pam_nologin.so 'apt-get install --reinstall libpam-modules' - - - -",
        );
        assert!(out.contains("status 1"), "{out}");
        assert!(out.contains("apt-get install --reinstall"), "{out}");
        assert_eq!(after, LOGIN_STACK);
    }

    /// A package holding `usr/lib/security/pam_x.so` built in the scratch root (`$T/x.deb`),
    /// then `ll_pam_module` run with the checksum `md5` for it and the stack's line 3.
    fn restore_pam_x(md5: &str) -> (String, String) {
        let body = format!(
            "mkdir -p \"$T/pkg/DEBIAN\" \"$T/pkg/usr/lib/security\"\n\
             printf 'Package: x\\nVersion: 1\\nArchitecture: all\\nMaintainer: x <x@x>\\nDescription: x\\n' >\"$T/pkg/DEBIAN/control\"\n\
             printf 'the module' >\"$T/pkg/usr/lib/security/pam_x.so\"\n\
             chmod 0755 \"$T/pkg\" \"$T/pkg/DEBIAN\"\n\
             dpkg-deb -b \"$T/pkg\" \"$T/x.deb\" >/dev/null\n\
             printf 'broken' >\"$T/pam_x.so\"\n\
             printf '{LOGIN_STACK}' >\"$T/file\"\n\
             ll_pam_module pam_x.so 'reinstall x' \"$T/x.deb\" {md5} usr/lib/security/pam_x.so \"$T/pam_x.so\" \
             \"$T/file\" 3 'session optional pam_motd.so'\n\
             echo \"status $? $LL_STEP_ERR\"\n\
             echo \"module: $(cat \"$T/pam_x.so\")\""
        );
        let (dir, out) = run_locally(&[SCRIPT], &body);
        let after = std::fs::read_to_string(dir.join("file")).unwrap();
        std::fs::remove_dir_all(dir).ok();
        (after, out)
    }

    #[test]
    fn a_pam_module_is_put_back_from_apt_s_cache_only_with_dpkg_s_checksum() {
        // md5 of "the module"
        let (after, out) = restore_pam_x("2c83b7db2d9a11bbeae7b9fbd67de7bb");
        assert!(out.contains("status 0"), "{out}");
        assert!(out.contains("module: the module"), "{out}");
        assert_eq!(after, LOGIN_STACK, "restored: no line set aside");
        let (after, out) = restore_pam_x("00000000000000000000000000000000");
        assert!(out.contains("status 0"), "{out}");
        assert!(out.contains("module: broken"), "{out}");
        assert!(out.contains("another version"), "{out}");
        assert!(after.contains("#session optional pam_motd.so"), "{after}");
    }

    /// A damaged library becomes the copy sent only when the copy has dpkg's checksum; its
    /// owner and mode stay (a file that was gone gets the package's), and a copy that does not
    /// unpack changes nothing.
    #[test]
    fn a_package_file_is_put_back_only_with_dpkg_s_checksum() {
        let put_back = |before: &str, md5: &str, copy: &str| {
            let (dir, out) = run_locally(
                &[SCRIPT],
                &format!(
                    "{before}\n\
                     {{ ll_package_file \"$T/libx.so.1\" {md5} 700 <<'LL_INPUT'\n{copy}\nLL_INPUT\n}}\n\
                     echo \"status $? $LL_STEP_ERR\"\n\
                     echo \"now: $(cat \"$T/libx.so.1\") $(stat -c %a \"$T/libx.so.1\")\""
                ),
            );
            std::fs::remove_dir_all(dir).ok();
            out
        };
        let run = |md5: &str, copy: &str| {
            put_back(
                "printf 'broken' >\"$T/libx.so.1\" && chmod 0755 \"$T/libx.so.1\"",
                md5,
                copy,
            )
        };
        // printf 'the library' | gzip -n | base64
        let copy = "H4sIAAAAAAAAAyvJSFXIyUwqSiyqBABmNSI0CwAAAA==";
        let good = "20b43b41cfa11b046dee3104832c17e7";
        let out = run(good, copy);
        assert!(out.contains("status 0"), "{out}");
        assert!(out.contains("now: the library 755"), "{out}");
        let out = put_back(":", good, copy);
        assert!(out.contains("now: the library 700"), "{out}");
        let out = run("00000000000000000000000000000000", copy);
        assert!(out.contains("status 1"), "{out}");
        assert!(out.contains("not dpkg's record"), "{out}");
        assert!(out.contains("now: broken 755"), "{out}");
        let out = run(good, "not base64 at all");
        assert!(out.contains("status 1"), "{out}");
        assert!(out.contains("did not unpack"), "{out}");
        assert!(out.contains("now: broken"), "{out}");
    }

    /// ldconfig runs, and its failure is the step's, with what it said.
    #[test]
    fn ldconfig_remakes_the_loader_s_links_and_says_why_it_could_not() {
        let run = |ldconfig: &str| {
            let (dir, out) = run_locally(
                &[SCRIPT],
                &format!(
                    "stub ldconfig '{ldconfig}'\nll_ldconfig; echo \"status $? $LL_STEP_ERR\""
                ),
            );
            std::fs::remove_dir_all(dir).ok();
            out
        };
        let out = run("exit 0");
        assert!(out.contains("status 0"), "{out}");
        assert!(out.contains("made again by ldconfig"), "{out}");
        let out = run("echo cannot write the cache >&2; exit 1");
        assert!(out.contains("status 1"), "{out}");
        assert!(out.contains("cannot write the cache"), "{out}");
    }

    #[test]
    fn findmnt_counts_an_fstab_s_errors_and_a_worse_copy_is_told_apart() {
        let out = repair(
            "printf 'tmpfs /tmp tmpfs defaults 0 0\\n' >\"$T/good\"\n\
             printf 'UUID=0a3c-dead /tmp ext4 defaults 0 2\\nnot-a-line\\n' >\"$T/bad\"\n\
             echo \"good $(ll_fstab_errors \"$T/good\") bad $(ll_fstab_errors \"$T/bad\")\"\n\
             ll_fstab_no_worse \"$T/bad\" \"$T/good\" 2>/dev/null && echo 'fewer: no worse'\n\
             ll_fstab_no_worse \"$T/good\" \"$T/bad\" 2>/dev/null || echo 'more: worse'",
        );
        let counts = out.lines().next().unwrap_or_default();
        let bad: u32 = counts.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(counts.starts_with("good 0 bad ") && bad >= 1, "{out}");
        assert!(out.ends_with("fewer: no worse\nmore: worse\n"), "{out}");
    }

    /// repair.sh and the libraries it calls (keys.sh, password.sh, and reset_ssh.sh for the
    /// last resort).
    const LIBRARIES: [&str; 4] = [
        crate::remedy::ops::reset_key::SCRIPT,
        crate::remedy::ops::password::SCRIPT,
        crate::remedy::ops::reset_ssh::SCRIPT,
        SCRIPT,
    ];

    /// `body` run with [`LIBRARIES`] after the runtime; its output with the scratch root shown
    /// as `T` and the backup records left out.
    fn repair(body: &str) -> String {
        shown(run_locally(&LIBRARIES, body))
    }

    /// [`repair`] over an empty /etc/ssh (with sshd_config.d), with the sshd stand-in.
    fn repair_over_etc(body: &str) -> String {
        over_empty_etc(&LIBRARIES, &format!("mkdir /etc/ssh/sshd_config.d\n{body}"))
    }

    /// What a run printed, [`scrubbed`]; the scratch root is removed.
    fn shown((dir, out): (std::path::PathBuf, String)) -> String {
        std::fs::remove_dir_all(&dir).ok();
        scrubbed(&dir, &out)
    }

    #[test]
    fn each_line_sshd_rejects_under_etc_ssh_is_commented_out_and_others_are_left() {
        let out = repair_over_etc(
            "printf 'Include /etc/ssh/sshd_config.d/*.conf\\nUsePAM yes\\nBogus yes\\n' >/etc/ssh/sshd_config\n\
             printf 'Bogus no\\n' >/etc/ssh/sshd_config.d/1.conf\n\
             ll_comment_rejected; echo \"status $?\"; cat /etc/ssh/sshd_config /etc/ssh/sshd_config.d/1.conf\n\
             mkdir -p /usr/etc/ssh; printf 'Bogus elsewhere\\n' >/usr/etc/ssh/x.conf\n\
             echo 'Include /usr/etc/ssh/x.conf' >>/etc/ssh/sshd_config\n\
             ll_comment_rejected; echo \"elsewhere $?\"; cat /usr/etc/ssh/x.conf",
        );
        assert_eq!(
            out,
            "ll\tchanged\t/etc/ssh/sshd_config\trewritten\n\
             ll\tnote\tcommented out /etc/ssh/sshd_config line 3: \
             /etc/ssh/sshd_config line 3: Bad configuration option: Bogus\n\
             ll\tchanged\t/etc/ssh/sshd_config.d/1.conf\trewritten\n\
             ll\tnote\tcommented out /etc/ssh/sshd_config.d/1.conf line 1: \
             /etc/ssh/sshd_config.d/1.conf line 1: Bad configuration option: Bogus\n\
             status 0\n\
             Include /etc/ssh/sshd_config.d/*.conf\nUsePAM yes\n\
             #Bogus yes  # lifeline rescue: sshd -t rejected it\n\
             #Bogus no  # lifeline rescue: sshd -t rejected it\n\
             elsewhere 0\nBogus elsewhere\n"
        );
    }

    #[test]
    fn only_a_configuration_sshd_still_rejects_goes_back_to_the_default_keeping_what_it_accepts() {
        let out = repair_over_etc(
            "printf 'ID=debian\\n' >/etc/os-release; mkdir -p /usr/share/openssh\n\
             printf 'Include /etc/ssh/sshd_config.d/*.conf\\n#Port 22\\nUsePAM yes\\n' >/usr/share/openssh/sshd_config\n\
             printf 'Port 2222\\nUsePAM yes\\n' >/etc/ssh/sshd_config\n\
             ll_reset_if_still_rejected; echo \"valid $?\"\n\
             ( LL_SSHD=; ll_reset_if_still_rejected; echo \"no sshd $?\" )\n\
             printf 'Port 2222\\nBogus x\\nPasswordAuthentication no\\n' >/etc/ssh/sshd_config\n\
             ll_reset_if_still_rejected; echo \"rejected $?\"; cat /etc/ssh/sshd_config\n\
             rm /etc/ssh/sshd_config; ll_reset_if_still_rejected; echo \"missing $?\"; cat /etc/ssh/sshd_config",
        );
        assert_eq!(
            out,
            "valid 0\nno sshd 0\n\
             ll\tnote\tsshd -t still rejects the configuration (/etc/ssh/sshd_config line 2: Bad configuration \
             option: Bogus): resetting /etc/ssh/sshd_config to the distribution's default, keeping the ports \
             and the settings sshd accepts\n\
             ll\tnote\tsource: /usr/share/openssh/sshd_config, the package's pristine default\n\
             ll\tnote\tdropped from the old sshd_config: Bogus x (sshd: sshd_config line: Bad configuration option: Bogus)\n\
             ll\tnote\tkept from the old sshd_config: PasswordAuthentication no\n\
             ll\tchanged\t/etc/ssh/sshd_config\trewritten\nrejected 0\n\
             Include /etc/ssh/sshd_config.d/*.conf\nPasswordAuthentication no\nPort 2222\nUsePAM yes\n\
             ll\tnote\tsshd -t still rejects the configuration (/etc/ssh/sshd_config: No such file or directory): \
             resetting /etc/ssh/sshd_config to the distribution's default, keeping the ports and the settings sshd accepts\n\
             ll\tnote\tsource: /usr/share/openssh/sshd_config, the package's pristine default\n\
             ll\tchanged\t/etc/ssh/sshd_config\tcreated\nmissing 0\n\
             Include /etc/ssh/sshd_config.d/*.conf\n#Port 22\nUsePAM yes\n"
        );
    }

    #[test]
    fn freeing_space_cleans_the_journal_caches_and_rotated_logs_and_names_large_files() {
        let out = repair(
            "mkdir -p \"$T/disk/var/log/apt\" \"$T/disk/srv\"\n\
             dd if=/dev/urandom of=\"$T/disk/var/log/syslog.1\" bs=1024 count=2048 2>/dev/null\n\
             : >\"$T/disk/var/log/syslog\"; : >\"$T/disk/var/log/apt/history.log.2.gz\"; : >\"$T/disk/var/log/x.old\"\n\
             fallocate -l 60M \"$T/disk/srv/big.img\"\n\
             stub find 'r=$1; shift; PATH=${PATH#*:} exec find \"$T/disk${r%/}\" \"$@\"'\n\
             stub df 'echo \"Filesystem 1024-blocks Used Available Capacity Mounted on\"\n\
                 echo \"disk 0 0 $((1000000 - $(du -sk \"$T/disk\" | cut -f 1))) 0% /\"'\n\
             stub journalctl 'echo \"journalctl $*\" >>\"$T/calls\"'\n\
             stub apt-get 'echo \"apt-get $*\" >>\"$T/calls\"'\n\
             ll_free_space; echo \"status $?\"; ls \"$T/disk/var/log\" \"$T/disk/var/log/apt\"\n\
             ll_free_space; echo \"again $?\"; cat \"$T/calls\"",
        );
        assert_eq!(
            out,
            "ll\tchanged\t/\t2048 KiB freed (journal vacuumed to 100M, package cache cleaned, rotated logs removed)\n\
             ll\twarning\tlarge file on /: T/disk/srv/big.img (60 MiB): delete it yourself if it is not needed\n\
             status 0\nT/disk/var/log:\napt\nsyslog\n\nT/disk/var/log/apt:\n\
             ll\tunchanged\tfree space on / (nothing safe to delete)\n\
             ll\twarning\tlarge file on /: T/disk/srv/big.img (60 MiB): delete it yourself if it is not needed\n\
             again 0\njournalctl --vacuum-size=100M\napt-get clean\njournalctl --vacuum-size=100M\napt-get clean\n"
        );
    }

    #[test]
    fn selinux_labels_and_the_ssh_port_label_are_set_where_the_tools_are() {
        let out = repair(
            "( PATH=$T/bin; ll_selinux_labels /etc/ssh; echo \"no restorecon $?\"; \
               ll_selinux_port 2222; echo \"no semanage $? $LL_STEP_ERR\" )\n\
             stub restorecon 'echo \"restorecon $*\" >>\"$T/calls\"'\n\
             ll_selinux_labels /etc/ssh /root/.ssh; echo \"labels $?\"\n\
             stub restorecon 'exit 1'; ll_selinux_labels /x; echo \"labels failed $?\"\n\
             stub semanage 'echo \"semanage $*\" >>\"$T/calls\"; [ \"$2\" = -m ] || { echo \"ValueError: Port tcp/$7 already defined\" >&2; exit 1; }'\n\
             ll_selinux_port 2222; echo \"port $?\"\n\
             stub semanage 'echo \"ValueError: SELinux policy is not managed\" >&2; exit 1'\n\
             ll_selinux_port 2222; echo \"port failed $? $LL_STEP_ERR\"; cat \"$T/calls\"",
        );
        assert_eq!(
            out,
            "no restorecon 0\n\
             no semanage 1 semanage is not installed (policycoreutils-python-utils): cannot label port 2222\n\
             ll\tchanged\t/etc/ssh /root/.ssh\tSELinux labels restored (restorecon -RF)\nlabels 0\n\
             labels failed 1\n\
             ll\tchanged\tSELinux port 2222/tcp\tlabelled ssh_port_t\nport 0\n\
             port failed 1 semanage could not label TCP 2222 ssh_port_t: \
             ValueError: SELinux policy is not managed\nValueError: SELinux policy is not managed\n\
             restorecon -RF -- /etc/ssh /root/.ssh\n\
             semanage port -a -t ssh_port_t -p tcp 2222\nsemanage port -m -t ssh_port_t -p tcp 2222\n"
        );
    }

    #[test]
    fn host_keys_and_the_privsep_directory_get_roots_owner_and_safe_modes() {
        let out = repair(
            "printf k >\"$T/ssh_host_ed25519_key\"; printf p >\"$T/ssh_host_ed25519_key.pub\"\n\
             chmod 666 \"$T/ssh_host_ed25519_key\" \"$T/ssh_host_ed25519_key.pub\"; chown 4242 \"$T/ssh_host_ed25519_key\"\n\
             ll_host_key_modes \"$T/ssh_host_ed25519_key\" \"$T/ssh_host_rsa_key\"; echo \"status $?\"\n\
             stat -c '%a %u' \"$T/ssh_host_ed25519_key\" \"$T/ssh_host_ed25519_key.pub\"\n\
             ll_privsep_dir \"$T/sshd\"; mkdir -m 700 \"$T/empty\"; ll_privsep_dir \"$T/empty\"; stat -c %a \"$T/empty\"",
        );
        assert_eq!(
            out,
            "ll\tchanged\tT/ssh_host_ed25519_key\towner uid 0\n\
             ll\tchanged\tT/ssh_host_ed25519_key\tmode 600\n\
             ll\tchanged\tT/ssh_host_ed25519_key.pub\tmode 644\nstatus 0\n600 0\n644 0\n\
             ll\tchanged\tT/sshd\tcreated\nll\tchanged\tT/empty\tmode 755\n755\n"
        );
    }

    #[test]
    fn accounts_shells_and_nologin_files_are_mended() {
        let out = repair(
            "stub getent 'case $2 in locked) echo \"locked:!\\$6\\$x:1::::::\" ;; open) echo \"open:x:1::::::\" ;; \
                 away) echo \"away:x:4242:4242::$T/away:/bin/sh\" ;; esac'\n\
             stub usermod 'echo \"usermod $*\" >\"$T/calls\"'\n\
             stub shutdown 'echo \"shutdown $*\" >>\"$T/calls\"'\n\
             ll_locked locked && echo 'locked is locked'; ll_locked open || echo 'open is not'\n\
             ll_login_shell open; cat \"$T/calls\"\n\
             ll_home away || echo \"$LL_STEP_ERR\"\n\
             : >\"$T/nologin\"; ll_nologin \"$T/nologin\" \"$T/etc-nologin\"; [ -e \"$T/nologin\" ] || echo gone\n\
             ll_bounded 5 echo bounded",
        );
        let shell = if std::path::Path::new("/bin/bash").exists() {
            "/bin/bash"
        } else {
            "/bin/sh"
        };
        assert_eq!(
            out,
            format!(
                "locked is locked\nopen is not\nll\tchanged\taccount open\tlogin shell {shell}\n\
                 usermod -s {shell} open\n\
                 the home of away is T/away, not under /home: create it by hand\n\
                 ll\tchanged\tT/nologin\tremoved\nll\tunchanged\tT/etc-nologin\ngone\nbounded\n"
            )
        );
    }

    #[test]
    fn a_drop_in_loses_the_lines_asked_and_goes_when_nothing_else_is_left() {
        let out = repair(
            "printf '[Service]\\nExecStart=\\nExecStart=/usr/sbin/sshd -D -p 2222\\nRestart=always\\n' >\"$T/a.conf\"\n\
             printf '[Service]\\nExecStart=\\nExecStart=/usr/sbin/sshd -D -p 2222\\n' >\"$T/b.conf\"\n\
             ll_drop_unit_lines \"$T/a.conf\" '^ExecStart='; cat \"$T/a.conf\"\n\
             ll_drop_unit_lines \"$T/b.conf\" '^ExecStart='; [ -e \"$T/b.conf\" ] || echo 'b is gone'",
        );
        assert_eq!(
            out,
            "ll\tchanged\tT/a.conf\trewritten\n[Service]\nRestart=always\n\
             ll\tchanged\tT/b.conf\tremoved\nb is gone\n"
        );
    }

    #[test]
    fn a_lock_without_a_password_gets_usepam_and_a_missing_sshd_account_is_made() {
        let out = repair(
            "stub getent 'case $1:$2 in shadow:nopass) echo \"nopass:!:1::::::\" ;; shadow:*) echo \"$2:x:1::::::\" ;; *) exit 2 ;; esac'\n\
             stub sshd 'case $1 in -T) echo \"usepam yes\" ;; esac'; LL_SSHD=$T/bin/sshd\n\
             stub useradd 'echo \"useradd $*\" >\"$T/calls\"'\n\
             printf 'UsePAM no\\nPort 22\\n' >\"$T/sshd_config\"\n\
             ll_unlock open \"$T/sshd_config\"; ll_unlock nopass \"$T/sshd_config\"; cat \"$T/sshd_config\"\n\
             ll_privsep_user; sed 's/ -s [^ ]* / -s SHELL /' \"$T/calls\"",
        );
        assert_eq!(
            out,
            "ll\tunchanged\taccount open (not locked)\n\
             ll\tnote\tnopass has no password behind the lock: sshd gets UsePAM yes instead\n\
             ll\tchanged\tT/sshd_config\trewritten\nUsePAM yes\nPort 22\n\
             ll\tchanged\taccount sshd\tcreated (system account, home /run/sshd, no login)\n\
             useradd -r -M -d /run/sshd -s SHELL -c sshd privilege separation sshd\n"
        );
    }
}
