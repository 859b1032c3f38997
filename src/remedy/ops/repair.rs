//! The repairs `lifeline rescue` applies: for each finding of a diagnosis that has a safe fix,
//! the step that makes it (the guest side is `repair.sh`). Findings without one are handed back
//! as the manual part of the plan, with the rule's own advice.
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
use crate::probe::facts::{Facts, TestProblem};
use crate::probe::sshd_config::{ConfigLine, split_host_port};
use crate::remedy::firewall;
use crate::remedy::plan::{Plan, quote};
use crate::rules::{Finding, Severity};
use std::collections::BTreeMap;

const SCRIPT: &str = include_str!("repair.sh");

/// Separates the fields of a line edit: config lines may hold tabs, never this.
const FIELD: char = '\u{1f}';

/// Rules the final service handling fixes on its own: it unmasks, enables, resets the failed
/// state and starts the unit whenever sshd is not running.
const FIXED_BY_SERVICE_START: &[&str] = &["SSH001", "SSH004", "SSH005"];

/// Rules fixed by restarting sshd even though none of its files changed.
const FIXED_BY_RESTART: &[&str] = &["SSH002", "SSH006", "SSH008", "SSH408", "SSH504"];

/// A rescue's plan for one diagnosis.
#[derive(Debug, Clone)]
pub struct Repair {
    pub plan: Plan,
    /// Each finding with a fix, and the title of the step that makes it.
    pub fixes: Vec<(Finding, String)>,
    /// Findings lifeline does not fix on its own: someone has to decide.
    pub manual: Vec<Finding>,
}

impl Repair {
    pub fn plan(diagnosis: &Diagnosis) -> Repair {
        let mut builder = Builder::new(&diagnosis.facts);
        for finding in &diagnosis.findings {
            builder.add(finding);
        }
        builder.finish()
    }

    /// Nothing to do: no finding has a fix (or there is no finding).
    pub fn is_empty(&self) -> bool {
        self.fixes.is_empty()
    }
}

/// One line to change: `new` empty comments it out.
#[derive(Debug, Clone)]
struct LineEdit {
    line: u32,
    old: String,
    new: String,
    why: String,
}

struct Builder<'a> {
    facts: &'a Facts,
    user: String,
    fixes: Vec<(Finding, String)>,
    manual: Vec<Finding>,
    /// Steps by phase (see the module comment), each a title and a body.
    steps: BTreeMap<u8, Vec<(String, String)>>,
    /// Configuration edits, by file: one step applies them all.
    edits: BTreeMap<String, BTreeMap<u32, LineEdit>>,
}

/// Space first: every other step writes a backup.
const PHASE_RESOURCES: u8 = 0;
const PHASE_SSHD_NEEDS: u8 = 1;
const PHASE_CONFIG: u8 = 2;
const PHASE_ACCOUNT: u8 = 3;
const PHASE_ACCESS: u8 = 4;
const PHASE_SERVICE: u8 = 5;

const CONFIG_STEP: &str = "repair the sshd configuration";

impl<'a> Builder<'a> {
    fn new(facts: &'a Facts) -> Self {
        Builder {
            facts,
            user: quote(&facts.user),
            fixes: Vec::new(),
            manual: Vec::new(),
            steps: BTreeMap::new(),
            edits: BTreeMap::new(),
        }
    }

    fn add(&mut self, finding: &Finding) {
        if finding.severity == Severity::Info {
            return;
        }
        let id = finding.id;
        let title = if FIXED_BY_SERVICE_START.contains(&id) {
            Some("start, enable and unmask sshd (at the end)".to_string())
        } else if FIXED_BY_RESTART.contains(&id) {
            Some(self.step(PHASE_SERVICE, "restart sshd at the end", "ll_want_restart"))
        } else {
            self.fix(finding)
        };
        match title {
            Some(title) => self.fixes.push((finding.clone(), title)),
            None => self.manual.push(finding.clone()),
        }
    }

    /// The step for one finding, or `None` when it has no safe fix.
    fn fix(&mut self, finding: &Finding) -> Option<String> {
        let facts = self.facts;
        let user = self.user.clone();
        Some(match finding.id {
            "SSH007" => self.step(
                PHASE_SSHD_NEEDS,
                "remove /etc/ssh/sshd_not_to_be_run",
                "ll_remove /etc/ssh/sshd_not_to_be_run",
            ),
            "SSH101" => {
                for problem in &facts.sshd.test.problems {
                    if let TestProblem::Config {
                        file,
                        line,
                        message,
                    } = problem
                    {
                        self.comment_out(file, *line, &format!("sshd -t: {message}"));
                    }
                }
                CONFIG_STEP.to_string()
            }
            // SSH702 is SSH102 where the NSG allows only 22: the same fix, Port 22 back.
            "SSH102" | "SSH702" => {
                let origin = facts.config.origin("port")?;
                self.edit(origin, &format!("Port 22\\n{}", origin.text.trim_end()), "");
                self.open_firewall();
                CONFIG_STEP.to_string()
            }
            "SSH103" => {
                let local: Vec<&str> = facts.local_ips().collect();
                let stale: Vec<ConfigLine> = facts
                    .config
                    .lines_for("listenaddress")
                    .filter(|l| {
                        let entry = l.value.split_whitespace().next().unwrap_or_default();
                        let host = split_host_port(entry).0;
                        host != "0.0.0.0" && host != "::" && !local.contains(&host.as_str())
                    })
                    .cloned()
                    .collect();
                for line in &stale {
                    self.comment_out(&line.file, line.line, "not an address of this VM");
                }
                CONFIG_STEP.to_string()
            }
            "SSH104" => {
                let line = facts
                    .config
                    .lines_for("allowusers")
                    .find(|l| !l.in_match)?
                    .clone();
                let added = format!("{} {}", line.text.trim_end(), facts.user);
                self.edit(&line, &added, "");
                CONFIG_STEP.to_string()
            }
            "SSH105" => {
                let lines: Vec<ConfigLine> = facts.config.lines_for("denyusers").cloned().collect();
                for line in &lines {
                    let keep: Vec<&str> = line
                        .value
                        .split_whitespace()
                        .filter(|p| {
                            p.contains('@')
                                || !crate::probe::sshd_config::glob_matches(p, &facts.user)
                        })
                        .collect();
                    if keep.len() == line.value.split_whitespace().count() {
                        continue;
                    }
                    if keep.is_empty() {
                        self.comment_out(
                            &line.file,
                            line.line,
                            &format!("it refused {}", facts.user),
                        );
                    } else {
                        self.edit(line, &format!("DenyUsers {}", keep.join(" ")), "");
                    }
                }
                CONFIG_STEP.to_string()
            }
            "SSH107" => self.set_origin("pubkeyauthentication", "PubkeyAuthentication yes")?,
            "SSH109" => {
                // Added to what is configured (others may rely on it), unless that is `none`.
                let origin = facts.config.origin("authorizedkeysfile")?.clone();
                let kept = match origin.value.as_str() {
                    "none" => String::new(),
                    value => format!(" {value}"),
                };
                let text = format!("AuthorizedKeysFile .ssh/authorized_keys{kept}");
                self.edit(&origin, &text, "");
                CONFIG_STEP.to_string()
            }
            "SSH110" => self.set_origin("addressfamily", "AddressFamily any")?,
            "SSH201" => {
                let keys: Vec<String> = facts.host_keys.iter().map(|k| quote(k)).collect();
                self.step(
                    PHASE_SSHD_NEEDS,
                    "create the missing host keys",
                    &format!("ll_host_keys {} && ll_want_restart", keys.join(" ")),
                )
            }
            "SSH202" => {
                let keys: Vec<String> = facts.host_keys.iter().map(|k| quote(k)).collect();
                self.step(
                    PHASE_SSHD_NEEDS,
                    "make the private host keys root's alone",
                    &format!("ll_host_key_modes {} && ll_want_restart", keys.join(" ")),
                )
            }
            "SSH203" | "SSH204" => {
                let dir = privsep_dir(facts)?;
                self.step(
                    PHASE_SSHD_NEEDS,
                    &format!("make {dir} root's, mode 0755"),
                    &format!("ll_privsep_dir {}", quote(&dir)),
                )
            }
            "SSH205" => self.step(
                PHASE_SSHD_NEEDS,
                "create the sshd privilege-separation account",
                "ll_privsep_user",
            ),
            "SSH206" | "SSH207" | "SSH208" => {
                let body: Vec<String> = facts
                    .key_file_paths
                    .iter()
                    .map(|path| format!("ll_key_path {user} {}", quote(path)))
                    .collect();
                if body.is_empty() {
                    return None;
                }
                self.step(
                    PHASE_ACCOUNT,
                    &format!(
                        "give {}'s authorized keys the owners and modes sshd demands",
                        facts.user
                    ),
                    &body.join(" && "),
                )
            }
            "SSH209" => self.step(
                PHASE_ACCOUNT,
                &format!("create {}'s home directory", facts.user),
                &format!("ll_home {user}"),
            ),
            "SSH302" => self.unlock(),
            "SSH303" => self.step(
                PHASE_ACCOUNT,
                &format!("give {} a login shell", facts.user),
                &format!("ll_login_shell {user}"),
            ),
            "SSH305" | "SSH306" | "SSH307" => self.step(
                PHASE_ACCOUNT,
                &format!("lift the expiry and lockout of {}", facts.user),
                &format!("ll_account_usable {user}"),
            ),
            "SSH304" => {
                let files: Vec<String> = facts.nologin.iter().map(|n| quote(&n.path)).collect();
                if files.is_empty() {
                    return None;
                }
                self.step(
                    PHASE_ACCESS,
                    "remove the nologin files",
                    &format!("ll_nologin {}", files.join(" ")),
                )
            }
            "SSH401" | "SSH402" | "SSH403" | "SSH404" => self.open_firewall(),
            "SSH501" => self.step(
                PHASE_RESOURCES,
                "free disk space by safe means",
                "ll_free_space",
            ),
            "SSH601" => {
                let home = facts.account.home.as_deref().unwrap_or("/root");
                self.step(
                    PHASE_ACCESS,
                    "restore the SELinux labels of /etc/ssh and ~/.ssh",
                    &format!(
                        "ll_selinux_labels /etc/ssh {}",
                        quote(&format!("{home}/.ssh"))
                    ),
                )
            }
            "SSH602" => {
                let allowed = facts.selinux.ssh_ports.clone().unwrap_or_default();
                let body: Vec<String> = facts
                    .config
                    .ports()
                    .iter()
                    .filter(|p| !allowed.contains(&p.to_string()))
                    .map(|p| format!("ll_selinux_port {p}"))
                    .collect();
                if body.is_empty() {
                    return None;
                }
                self.step(
                    PHASE_ACCESS,
                    "let sshd bind its ports under SELinux",
                    &body.join(" && "),
                )
            }
            _ => return None,
        })
    }

    /// SSH302: a locked account that sshd refuses outright (UsePAM no). Unlocked when a password
    /// is behind the lock; otherwise `UsePAM yes` (the distributions' default) comes back, in
    /// the file whose line decided.
    fn unlock(&mut self) -> String {
        let file = self
            .facts
            .config
            .origin("usepam")
            .map(|l| format!(" {}", quote(&l.file)))
            .unwrap_or_default();
        self.step(
            PHASE_ACCOUNT,
            &format!("unlock {}", self.facts.user),
            &format!("ll_unlock {}{file}", self.user),
        )
    }

    /// The firewall step, for the ports sshd is configured for after the configuration step.
    fn open_firewall(&mut self) -> String {
        self.step(
            PHASE_ACCESS,
            "accept the SSH ports in the guest firewall, now and persistently",
            "ll_open_ssh_ports",
        )
    }

    /// Replaces the line that decided `keyword` with `text`.
    fn set_origin(&mut self, keyword: &str, text: &str) -> Option<String> {
        let origin = self.facts.config.origin(keyword)?.clone();
        self.edit(&origin, text, "");
        Some(CONFIG_STEP.to_string())
    }

    fn comment_out(&mut self, file: &str, line: u32, why: &str) {
        let text = self
            .facts
            .config
            .lines
            .iter()
            .find(|l| l.file == file && l.line == line);
        // A line the probe did not list (sshd -t rejected how it reads) is left to the
        // guest-side pass over what sshd -t still names.
        if let Some(text) = text.cloned() {
            self.edit(&text, "", why);
        }
    }

    fn edit(&mut self, line: &ConfigLine, new: &str, why: &str) {
        self.edits.entry(line.file.clone()).or_default().insert(
            line.line,
            LineEdit {
                line: line.line,
                old: line.text.trim_end().to_string(),
                new: new.to_string(),
                why: why.to_string(),
            },
        );
    }

    /// Adds a step once (several findings may share one) and returns its title.
    fn step(&mut self, phase: u8, title: &str, body: &str) -> String {
        let steps = self.steps.entry(phase).or_default();
        if !steps.iter().any(|(t, _)| t == title) {
            steps.push((title.to_string(), body.to_string()));
        }
        title.to_string()
    }

    fn finish(mut self) -> Repair {
        if self.fixes.iter().any(|(_, title)| title == CONFIG_STEP) {
            let body = self.config_step_body();
            self.step(PHASE_CONFIG, CONFIG_STEP, &body);
        }
        let mut plan = Plan::new("rescue");
        if self.steps.contains_key(&PHASE_CONFIG) {
            plan = super::reset_ssh::with_reset(plan);
        }
        plan = plan
            .library(firewall::SCRIPT)
            .library(super::reset_key::SCRIPT)
            .library(super::add_user::SCRIPT)
            .library(super::password::SCRIPT)
            .library(SCRIPT);
        for (title, body) in self.steps.into_values().flatten() {
            plan = plan.step(title, body);
        }
        Repair {
            plan,
            fixes: self.fixes,
            manual: self.manual,
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

/// The privilege-separation directory sshd named, else the one sshd is built with on this
/// family.
fn privsep_dir(facts: &Facts) -> Option<String> {
    crate::rules::privsep_dirs(facts).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::{FIELD, SCRIPT};
    use crate::remedy::plan::run_locally;

    /// Runs `ll_edit_lines` on a scratch copy of `config` with `edits` (fields joined by
    /// [`FIELD`]); returns the file afterwards and what the run printed.
    fn edit(config: &str, edits: &[[&str; 4]]) -> (String, String) {
        let lines: String = edits
            .iter()
            .map(|e| format!("{}\n", e.join(&FIELD.to_string())))
            .collect();
        let body = format!(
            "printf '%s' '{config}' >\"$T/cfg\"\n\
             ll_edit_lines \"$T/cfg\" <<'EOF'\n{lines}EOF\n\
             echo \"status $? $LL_STEP_ERR\""
        );
        let (dir, out) = run_locally(&[SCRIPT], &body);
        let after = std::fs::read_to_string(dir.join("cfg")).unwrap();
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
}
