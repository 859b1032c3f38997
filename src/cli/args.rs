//! The command line: one target and login frame shared by every subcommand.

use crate::access::LinkSpec;
use crate::azure::AuthMethod;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Targets:
  --serial unix:PATH        a serial socket (qemu -chardev socket, a virtio console)
  --serial tcp:HOST:PORT    a serial-over-TCP server
  --serial cmd:'COMMAND'    a console command run on a pty, e.g. cmd:'virsh console vm1'
  -g RG -n VM               an Azure VM through the Azure Serial Console
  --vmss NAME --instance-id N, --ids RESOURCE_ID   Azure scale-set instances, resource ids

Examples:
  lifeline exec --serial unix:/run/vm1/serial.sock --user azureuser --password-env PW -- systemctl is-active ssh
  lifeline connect --serial cmd:'virsh console vm1'
  lifeline diagnose -g my-rg -n my-vm --user azureuser --password-file ~/.vm-pw -o json
";

/// The text after the options: targets, examples, and the exit codes of [`crate::exit`].
fn after_help() -> String {
    format!(
        "{AFTER_HELP}\n{}\n`exec` exits with the guest command's own status when the command ran.",
        crate::exit::help_text()
    )
}

#[derive(Debug, Parser)]
#[command(
    name = "lifeline",
    version,
    about = "Rescue Linux VMs whose SSH is down, through their serial console",
    long_about = "lifeline reaches a VM's serial console (the Azure Serial Console, or any local serial \
socket), logs in like a person would, finds out why SSH is down, repairs it safely, and proves that \
SSH answers again. It works interactively and fully scripted (JSON output, exit codes, no prompts).",
    after_help = after_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub login: LoginArgs,
    /// Output format: human text, or one JSON document for scripts.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub output: OutputFormat,
    /// More log detail on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Record the console session as an asciicast v2 file (secrets redacted).
    #[arg(long, value_name = "FILE.cast", global = true)]
    pub record: Option<PathBuf>,
    /// On leaving the console, print where the time, the bytes and the round trips went, step
    /// by step (login, normalisation, upload, probe, apply, verify), on stderr.
    #[arg(long, global = true)]
    pub timings: bool,
    /// No progress display (it shows on a terminal only, and never with -o json or NO_COLOR).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Seconds one login or sudo exchange may take, and at least as long to bring an unknown
    /// console to a prompt; raise it for a slow or overloaded VM.
    #[arg(long, value_name = "SECS", default_value_t = 20, global = true)]
    pub login_timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

impl From<OutputFormat> for crate::report::Format {
    fn from(format: OutputFormat) -> Self {
        match format {
            OutputFormat::Text => crate::report::Format::Text,
            OutputFormat::Json => crate::report::Format::Json,
        }
    }
}

/// Which console to reach.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Target")]
pub struct TargetArgs {
    /// A local serial console: unix:PATH, tcp:HOST:PORT or cmd:'COMMAND'.
    #[arg(long, value_name = "SPEC", global = true, conflicts_with_all = ["resource_group", "ids", "vmss"])]
    pub serial: Option<LinkSpec>,
    /// Azure resource group of the VM or scale set.
    #[arg(short = 'g', long, value_name = "RG", global = true)]
    pub resource_group: Option<String>,
    /// Azure VM name.
    #[arg(short = 'n', long, value_name = "VM", global = true)]
    pub name: Option<String>,
    /// Azure subscription id (default: AZURE_SUBSCRIPTION_ID, then the Azure CLI's default).
    #[arg(long, value_name = "ID", global = true)]
    pub subscription: Option<String>,
    /// Full Azure resource id of a VM or scale-set instance (repeatable for bulk work).
    #[arg(long, value_name = "RESOURCE_ID", global = true)]
    pub ids: Vec<String>,
    /// Azure scale set name (with --instance-id).
    #[arg(long, value_name = "NAME", global = true, requires = "instance_id")]
    pub vmss: Option<String>,
    /// Instance id within the scale set.
    #[arg(long, value_name = "N", global = true, requires = "vmss")]
    pub instance_id: Option<String>,
    /// How to get the Azure token (auto tries each, like DefaultAzureCredential).
    #[arg(long, value_enum, default_value_t = AuthMethod::Auto, global = true)]
    pub auth: AuthMethod,
    /// Azure cloud: AzureCloud, AzureUSGovernment or AzureChinaCloud.
    #[arg(long, value_name = "NAME", default_value = "AzureCloud", global = true)]
    pub cloud: String,
    /// Custom Resource Manager endpoint (Azure Stack Hub); its token audience and sign-in
    /// endpoint come from {URL}/metadata/endpoints (AZURE_AUTHORITY_HOST overrides the latter).
    #[arg(long, value_name = "URL", global = true)]
    pub arm_endpoint: Option<String>,
    /// Token audience for a custom --arm-endpoint (Azure Stack Hub's "active directory resource
    /// id"); default: the one {URL}/metadata/endpoints names.
    #[arg(long, value_name = "URL", global = true, requires = "arm_endpoint")]
    pub arm_audience: Option<String>,
    /// When another client (the portal, another lifeline) takes the Azure console, take it back
    /// once instead of stopping.
    #[arg(long, global = true)]
    pub take_over: bool,
}

impl TargetArgs {
    pub fn is_azure(&self) -> bool {
        self.resource_group.is_some() || !self.ids.is_empty() || self.vmss.is_some()
    }
}

/// How to log in on the console. Passwords are never taken as plain command-line values.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Guest login")]
pub struct LoginArgs {
    /// User to log in as when the console shows a login prompt (default: root).
    #[arg(long, value_name = "NAME", global = true)]
    pub user: Option<String>,
    /// Read the password from this environment variable.
    #[arg(
        long,
        value_name = "VAR",
        global = true,
        conflicts_with = "password_file"
    )]
    pub password_env: Option<String>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE", global = true)]
    pub password_file: Option<PathBuf>,
    /// Root's password, from this environment variable: the `root` rung (the login prompt,
    /// `su`, systemd's maintenance prompts).
    #[arg(
        long,
        value_name = "VAR",
        global = true,
        conflicts_with = "root_password_file"
    )]
    pub root_password_env: Option<String>,
    /// Root's password, from the first line of this file.
    #[arg(long, value_name = "FILE", global = true)]
    pub root_password_file: Option<PathBuf>,
    /// A new password: for `user reset-password|add`, and the `expired` rung (a login password
    /// that must be changed is changed to it at the console).
    #[command(flatten)]
    pub new_password: NewPassword,
    /// Allow the `agent` rung (Azure): when no credential given gets in at the console, add a
    /// one-time uid-0 login through the VM agent (Run Command), log in with it, and remove it
    /// when lifeline leaves. Off unless given: it adds an account the operator did not name.
    #[arg(long, global = true)]
    pub allow_agent_login: bool,
    /// Allow the `break-in` rung: restart the VM to reach a root shell from the boot loader.
    /// On Azure, `rescue` may also restart a VM that resource health reports degraded, through
    /// ARM (`--allow-redeploy` moves it to another host instead).
    #[arg(long, global = true)]
    pub allow_reboot: bool,
    /// How to restart a local target for the `break-in` rung, run with `sh -c`: `virsh reset
    /// vm1`, `scripts/guest power-reset --name vm1`. Azure VMs use the reset admin command.
    #[arg(long, value_name = "COMMAND", global = true)]
    pub reset_cmd: Option<String>,
    /// A Debian-style archive to fetch damaged files' packages from, in place of the guest
    /// distribution's public archive (deb.debian.org, archive.ubuntu.com); repeatable, tried in
    /// order: for rescue's repairs, and for the break-in's offline shell when a library its
    /// own tools load is damaged. The file put back must have the checksum the guest's dpkg
    /// recorded, whatever the mirror.
    #[arg(long, value_name = "URL", global = true)]
    pub package_mirror: Vec<azure_core::http::Url>,
    /// The way in: `console` (the serial console's ladder, whose `agent` rung may use the VM
    /// agent) or `agent` (Azure's Run Command alone, no console: diagnose and rescue; reset-ssh
    /// and user go through VMAccessForLinux, as `az vm user` does).
    #[arg(long, value_enum, default_value_t = crate::access::Via::Console, global = true)]
    pub via: crate::access::Via,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Interactive console, like `az serial-console connect`; Ctrl-] opens the menu.
    #[command(
        after_help = "Example:\n  lifeline connect --serial unix:/run/vm1/serial.sock\n\n\
Keys: Ctrl-] then q quits, Ctrl-] again sends a literal Ctrl-]. The local terminal is always restored."
    )]
    Connect,
    /// Run one command on the guest and exit with its exit status.
    #[command(
        after_help = "Examples:\n  lifeline exec --serial unix:/run/vm1/serial.sock --user azureuser --password-env PW -- uptime\n  \
lifeline exec --serial tcp:127.0.0.1:4555 --user azureuser --password-env PW --root -- 'ss -ltnp | grep sshd'\n\n\
The command runs with stdin from /dev/null; its stdout and stderr come back byte for byte."
    )]
    Exec(ExecArgs),
    /// Find out why SSH is down (read-only).
    #[command(
        after_help = "Examples:\n  lifeline diagnose --serial unix:/run/vm1/serial.sock --user azureuser --password-env PW\n  \
lifeline diagnose -g my-rg -n my-vm --user azureuser --password-env PW -o json\n\n\
One probe collects the facts (read-only), every rule of `lifeline rules` judges them.\n\
Exit codes: 0 healthy, 1 problems found; see `lifeline --help` for the others."
    )]
    Diagnose(DiagnoseArgs),
    /// Diagnose, repair safely (backup, validate, roll back), and verify that SSH answers.
    #[command(after_help = RESCUE_HELP)]
    Rescue(RescueArgs),
    /// Send an admin command to an Azure VM: sysrq KEYS, nmi, or reset.
    #[command(
        after_help = "Examples:\n  lifeline send -g my-rg -n my-vm sysrq h\n  lifeline send -g my-rg -n my-vm reset --yes\n\n\
NMI and reset act like the power button's cousins: they need --yes, or a confirmation on a terminal.\n\
SysRq is refused for Windows VMs."
    )]
    Send(SendArgs),
    /// Show or switch the Azure Serial Console for the subscription: status, enable, disable.
    #[command(
        after_help = "Example:\n  lifeline console status --subscription 00000000-0000-0000-0000-000000000000"
    )]
    Console(ConsoleArgs),
    /// Restart, redeploy or start an Azure VM through ARM (steps 5 and 6 of Azure's guide).
    #[command(
        after_help = "Examples:\n  lifeline power restart -g my-rg -n my-vm --yes\n  lifeline power redeploy --vmss my-ss --instance-id 3 -g my-rg --yes -o json\n\n\
Each waits until Azure's operation has finished and prints it. A redeploy moves the VM to another\n\
host: data on the temporary disk is lost and a dynamic public IP changes (the new one is printed).\n\
All three need --yes, or a confirmation on a terminal."
    )]
    Power(PowerArgs),
    /// Reset a user's password or SSH key, add or remove a sudo user (VMAccess parity).
    #[command(
        after_help = "Examples:\n  lifeline user reset-password alice --new-password-env NEWPW -g my-rg -n my-vm --user azureuser --password-env PW --yes\n  \
lifeline user reset-key alice --ssh-key-file ~/.ssh/id_ed25519.pub --serial unix:/run/vm1/serial.sock --user root --password-env PW\n  \
lifeline user add rescuer --sudo --ssh-key-file key.pub …\n  lifeline user remove rescuer …\n\n\
--user/--password-* are how lifeline logs in on the console; NAME is the account changed.\n\
New passwords are hashed here (sha512-crypt); only the hash crosses the console."
    )]
    User(UserArgs),
    /// Reset sshd's configuration to the distribution's default, with backup, validation and rollback.
    #[command(
        name = "reset-ssh",
        after_help = "Example:\n  lifeline reset-ssh -g my-rg -n my-vm --user azureuser --password-env PW --yes\n\n\
Also opens port 22 in the guest firewall and restarts sshd; --dry-run prints the guest script."
    )]
    ResetSsh(ResetSshArgs),
    /// Restore the files of a lifeline backup on the guest (the newest, or the one named).
    #[command(
        after_help = "Examples:\n  lifeline undo --list --serial unix:/run/vm1/serial.sock --user azureuser --password-env PW\n  \
lifeline undo --backup 20261121T103107Z … --yes"
    )]
    Undo(UndoArgs),
    /// List the diagnosis rules, or explain one.
    #[command(after_help = "Examples:\n  lifeline rules\n  lifeline rules SSH001")]
    Rules(RulesArgs),
    // --- shell integration ---
    /// Print a completion script for bash, zsh, fish or powershell.
    #[command(
        after_help = "Examples:\n  lifeline completions bash > ~/.local/share/bash-completion/completions/lifeline\n  \
lifeline completions zsh > ~/.zfunc/_lifeline\n  lifeline completions fish > ~/.config/fish/completions/lifeline.fish"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), or write one page per subcommand into a directory.
    #[command(
        after_help = "Examples:\n  lifeline man | man -l -\n  lifeline man --out-dir /usr/local/share/man/man1"
    )]
    Man {
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

const RESCUE_HELP: &str = "\
Examples:
  lifeline rescue -g my-rg -n my-vm --user azureuser --password-env PW --yes
  lifeline rescue --serial unix:/run/vm1/serial.sock --user azureuser --password-env PW --dry-run
  lifeline rescue -g my-rg -n my-vm --user azureuser --password-env PW --yes --verify-host 20.1.2.3
  lifeline rescue --ids ID1 --ids ID2 --user azureuser --password-env PW --yes --parallel 4 -o json
  lifeline rescue --targets fleet.toml --yes -o json      (playbook format: docs/playbook.md)

What it does: diagnose (lifeline diagnose), show the fixes, apply them as one guest script
(each file backed up under /var/backups/lifeline, written atomically, sshd -t before any
restart, rolled back on failure), diagnose again and repeat while fixes uncover more, then
verify: the user logs in over SSH and `true` runs: from here with --verify-host (by key with
--verify-key, by password with the console password of the same user, the host key checked
against the guest's), otherwise from inside the guest through the user's authorized_keys. Findings without a safe fix are listed for you.

Exit codes: 0 SSH verified working; 1 SSH still fails (or a dry run found problems);
2 usage or not confirmed; see `lifeline --help` for the others. With several targets:
0 when every target is verified, else 1; the JSON document has a result per target.";

#[derive(Debug, Args)]
pub struct RescueArgs {
    /// Whose SSH login must work (account, keys, AllowUsers…); default: the --user.
    #[arg(long, value_name = "NAME")]
    pub ssh_user: Option<String>,
    /// After the repair, log in over SSH at HOST[:PORT] from this machine (with --verify-key
    /// and/or the console password of the same user) and run `true`.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub verify_host: Option<String>,
    /// The user's private key (OpenSSH or PEM, no passphrase) to prove a key login with.
    #[arg(long, value_name = "FILE")]
    pub verify_key: Option<PathBuf>,
    /// Install this public key for the SSH user in the first round (the way back into a
    /// key-only account whose authorized_keys is gone); the keys already there stay.
    #[arg(long, value_name = "FILE.pub", conflicts_with = "targets")]
    pub ssh_key_file: Option<PathBuf>,
    /// A playbook (TOML) naming many targets and the operations for each.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["serial", "resource_group", "ids", "vmss"])]
    pub targets: Option<PathBuf>,
    /// How many targets at once, with several --ids or --targets (default 4, or the playbook's).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: Option<u16>,
    #[command(flatten)]
    pub cloud: CloudArgs,
    #[command(flatten)]
    pub change: ChangeArgs,
}

/// Azure's side of `diagnose` and `rescue` (for an Azure VM).
#[derive(Debug, Args, Clone)]
pub struct CloudArgs {
    /// The address SSH clients come from as Azure's NSG sees it (after any NAT), for the NSG
    /// rules' verdict and the allow rule a rescue adds; default: this machine's source
    /// address toward the VM.
    #[arg(long, value_name = "IP")]
    pub client_ip: Option<std::net::IpAddr>,
    /// Look only inside the guest: read nothing from Azure Resource Manager beyond the console.
    #[arg(long)]
    pub guest_only: bool,
    /// `rescue`: when Azure reports the VM degraded, redeploy it to another host. Data on the
    /// temporary disk is lost and a dynamic public IP changes; the report prints the new one.
    #[arg(long)]
    pub allow_redeploy: bool,
}

/// What every change on the guest takes: confirmation, or a dry run.
#[derive(Debug, Args, Clone, Copy)]
pub struct ChangeArgs {
    /// Apply without asking (scripts).
    #[arg(long, global = true)]
    pub yes: bool,
    /// Print the guest script and change nothing.
    #[arg(long, global = true)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ResetSshArgs {
    /// Keep the configured Port lines instead of going back to 22.
    #[arg(long)]
    pub keep_ports: bool,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// The backup to restore (default: the newest).
    #[arg(long, value_name = "ID")]
    pub backup: Option<String>,
    /// List the backups on the guest instead.
    #[arg(long)]
    pub list: bool,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub action: UserAction,
    #[command(flatten)]
    pub change: ChangeArgs,
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Set a new password (and unlock the account, clear its expiry, allow password logins).
    ResetPassword {
        #[arg(value_name = "NAME", id = "account")]
        name: String,
    },
    /// Install an SSH public key in the account's authorized_keys (and fix the path's modes).
    ResetKey {
        #[arg(value_name = "NAME", id = "account")]
        name: String,
        /// The public key file.
        #[arg(long, value_name = "FILE")]
        ssh_key_file: std::path::PathBuf,
        /// Replace the keys already there instead of adding to them.
        #[arg(long)]
        replace: bool,
    },
    /// Create an account, optionally with sudo rights, a key and a password.
    Add {
        #[arg(value_name = "NAME", id = "account")]
        name: String,
        /// Grant sudo rights (without a password prompt when no password is set).
        #[arg(long)]
        sudo: bool,
        #[arg(long, value_name = "FILE")]
        ssh_key_file: Option<std::path::PathBuf>,
    },
    /// Delete an account and its home (refused for root and system accounts).
    Remove {
        #[arg(value_name = "NAME", id = "account")]
        name: String,
    },
}

/// Where a new password comes from; never a plain command-line value.
#[derive(Debug, Args, Clone, Default)]
pub struct NewPassword {
    /// Read the new password from this environment variable.
    #[arg(
        long,
        value_name = "VAR",
        global = true,
        conflicts_with = "new_password_file"
    )]
    pub new_password_env: Option<String>,
    /// Read the new password from the first line of this file.
    #[arg(long, value_name = "FILE", global = true)]
    pub new_password_file: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Whose SSH login to diagnose (account, keys, AllowUsers…); default: the --user.
    #[arg(long, value_name = "NAME")]
    pub ssh_user: Option<String>,
    /// The private key you log in with (as given to `ssh -i`): ssh's checks of its mode
    /// (SSH801), and its fingerprint sought among the SSH user's authorized keys (SSH803).
    #[arg(long, value_name = "FILE")]
    pub login_key: Option<PathBuf>,
    /// A playbook (TOML) naming many targets: each is diagnosed; its operations are not run.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["serial", "resource_group", "ids", "vmss"])]
    pub targets: Option<PathBuf>,
    /// How many targets at once, with several --ids or --targets (default 4, or the
    /// playbook's). Up to 256: a diagnosis changes nothing, and a console costs under 1 MiB.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallel: Option<u16>,
    #[command(flatten)]
    pub cloud: CloudArgs,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    /// A rule id (SSH001) or name to explain; without it, all rules are listed.
    #[arg(value_name = "ID")]
    pub id: Option<String>,
}

#[derive(Debug, Args)]
pub struct SendArgs {
    #[command(subcommand)]
    pub command: AdminArg,
    /// Do not ask before NMI or reset.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand, Clone)]
pub enum AdminArg {
    /// Magic SysRq keys, e.g. `h` (help), `b` (reboot), `s` (sync), `u` (remount read-only).
    Sysrq {
        #[arg(value_name = "KEYS")]
        keys: String,
    },
    /// A non-maskable interrupt (the kernel may panic and dump, per its settings).
    Nmi,
    /// A hard reset of the VM, like pulling the power.
    Reset,
}

#[derive(Debug, Args)]
pub struct PowerArgs {
    #[arg(value_enum)]
    pub action: PowerArg,
    /// Do not ask first.
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PowerArg {
    /// The guest restarts on the same host (`az vm restart`).
    Restart,
    /// The VM moves to another host (`az vm redeploy`).
    Redeploy,
    /// A stopped or deallocated VM boots (`az vm start`).
    Start,
}

#[derive(Debug, Args)]
pub struct ConsoleArgs {
    #[command(subcommand)]
    pub action: ConsoleAction,
}

#[derive(Debug, Subcommand, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleAction {
    /// Whether the Serial Console is enabled for the subscription.
    Status,
    /// Enable it for the subscription.
    Enable,
    /// Disable it for the subscription.
    Disable,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Become root (sudo -i, answering its password prompt) before running the command.
    #[arg(long)]
    pub root: bool,
    /// Seconds the command may run before it is interrupted with Ctrl-C.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
    /// The command line, run by the guest's shell.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}
