//! `lifeline rescue` on one target: log in as root, rescue, leave the console as found, report.
//! Several targets (`--ids` more than once, `--targets FILE`) go to [`super::bulk`].

use super::UsageError;
use super::args::{Cli, RescueArgs};
use super::ask::{self, Interrupted};
use super::session::{self, Endpoint};
use crate::access::{Channel, Need};
use crate::diagnose::Diagnosis;
use crate::exit;
use crate::login::client_facts::of_this_user;
use crate::remedy::ops::Repair;
use crate::report;
use crate::rescue::cloud::Allowed;
use crate::rescue::{OfflineRound, RescueOptions, RescueReport, offline, rescue};
use anyhow::{Context, Result, bail};
use std::io::{IsTerminal, Write};

pub async fn run(cli: &Cli, args: &RescueArgs) -> Result<u8> {
    if args.targets.is_some() || cli.target.ids.len() > 1 {
        return super::bulk::run(cli, args).await;
    }
    let endpoint = Endpoint::of(cli);
    let ask = !args.change.yes && !args.change.dry_run;
    let mut interrupted = false;
    let allowed = allowed(&endpoint, args);
    let mut confirm = |diagnosis: &Diagnosis, repair: &Repair| {
        !ask || match confirm_on_terminal(diagnosis, repair, allowed) {
            Ok(yes) => yes,
            Err(e) => {
                interrupted = e.is::<Interrupted>();
                false
            }
        }
    };
    let report = rescue_at(&endpoint, args, &mut confirm).await?;
    if interrupted {
        // The console was left tidy by rescue_at; nothing changed.
        bail!(Interrupted);
    }
    print!("{}", report::render(&report, cli.output.into()));
    if report.declined {
        bail!(UsageError(
            "nothing changed: not confirmed (pass --yes in scripts, or --dry-run to see the plan)"
                .into()
        ));
    }
    Ok(exit_code(&report))
}

/// Rescues the guest behind `endpoint`: logs in, becomes root, runs the rescue, and leaves the
/// console tidy whatever happened (the rescue's error wins).
pub async fn rescue_at(
    endpoint: &Endpoint,
    args: &RescueArgs,
    confirm: &mut (dyn FnMut(&Diagnosis, &Repair) -> bool + Send),
) -> Result<RescueReport> {
    // Read before the console is reached (and the VM perhaps restarted).
    let restore_keys = args
        .ssh_key_file
        .as_deref()
        .map(super::remedy::read_keys)
        .transpose()?;
    let verify_key = verify_key(args)?;
    // Azure's facts are read while the console logs in.
    let (cloud, opened) = tokio::join!(
        super::azure::cloud_side(&endpoint.target, &args.cloud),
        session::open_endpoint(endpoint, Need::Root, true)
    );
    let (mut opened, access) = opened?;
    // The operator's own side: the key file ssh would use and known_hosts for the address.
    let address = args
        .verify_host
        .clone()
        .or_else(|| cloud.as_ref().and_then(|side| side.facts.ssh_address()));
    let client = of_this_user(args.verify_key.as_deref(), address.as_deref());
    let options = RescueOptions {
        client: Some(client),
        verify_host: args.verify_host.clone(),
        verify_key,
        dry_run: args.change.dry_run,
        cloud,
        allowed: allowed(endpoint, args),
        restore_keys,
        package_mirrors: access.package_mirrors.clone(),
        ..RescueOptions::new(args.ssh_user.as_deref(), &access.credentials)
    };
    let offline = match offline_part(&mut opened.channel, &options, confirm).await {
        Ok(offline) => offline,
        Err(e) => {
            if let Err(left) = opened.channel.close().await {
                tracing::warn!("leaving the console: {left}");
            }
            return Err(e);
        }
    };
    let ledger = opened.channel.ledger();
    let result = rescue(&mut opened.channel, &options, confirm).await;
    // The rescue's result (and its error) win over a console that could not be left tidy.
    if let Err(e) = opened.channel.close().await {
        tracing::warn!("leaving the console: {e}");
    }
    session::print_timings(endpoint.timings, &opened.description, ledger.as_ref());
    // An error after the offline round (which changed the guest) still says what it did.
    let mut report = match (result, &offline) {
        (Err(e), Some(round)) => return Err(anyhow::Error::new(e).context(round.summary())),
        (result, _) => result?,
    };
    if let Some(round) = offline {
        report = report.with_offline(round);
    }
    report.target = opened.description;
    report.access = Some(opened.access);
    Ok(report)
}

/// In the break-in's offline shell: the fixes made by files alone, then the boot goes on and
/// the one-time login logs in after it. Nothing elsewhere.
pub(super) async fn offline_part(
    channel: &mut Channel,
    options: &RescueOptions,
    confirm: &mut (dyn FnMut(&Diagnosis, &Repair) -> bool + Send),
) -> Result<Option<OfflineRound>> {
    if !channel.is_offline() {
        return Ok(None);
    }
    let round = {
        let _step = crate::progress::step("repairing offline, before the boot goes on");
        offline::repair(channel, options, confirm).await?
    };
    let _step = crate::progress::step("booting on and logging in");
    channel.boot_on().await.with_context(|| round.summary())?;
    Ok(Some(round))
}

/// The `--verify-key` private key, read before anything changes on the guest.
pub fn verify_key(args: &RescueArgs) -> Result<Option<russh::keys::PrivateKey>> {
    args.verify_key
        .as_deref()
        .map(crate::login::remote::load_key)
        .transpose()
        .map_err(|e| anyhow::anyhow!(UsageError(e)))
}

pub fn exit_code(report: &RescueReport) -> u8 {
    if report.verified {
        exit::OK
    } else {
        exit::PROBLEMS
    }
}

/// The power actions the rescue may ask of Azure.
fn allowed(endpoint: &Endpoint, args: &RescueArgs) -> Allowed {
    Allowed {
        reboot: endpoint.login.allow_reboot,
        redeploy: args.cloud.allow_redeploy,
    }
}

/// Shows the findings and the fixes on stderr and asks; `false` without a terminal,
/// [`Interrupted`] on Ctrl-C.
fn confirm_on_terminal(diagnosis: &Diagnosis, repair: &Repair, allowed: Allowed) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprintln!("lifeline found:");
    for finding in &diagnosis.findings {
        eprintln!("  {} {}", finding.id, finding.title);
    }
    eprintln!("and will:");
    for step in repair.plan.step_titles() {
        eprintln!("  - {step}");
    }
    eprintln!(
        "  - then start sshd (unmasked, enabled), restart it if its files changed, and check its banner"
    );
    for fix in crate::rescue::cloud::plan(diagnosis, allowed).0 {
        eprintln!("  - on Azure: {}", fix.step);
        for warning in &fix.warnings {
            eprintln!("      warning: {warning}");
        }
    }
    for finding in &repair.manual {
        if finding.id != "SSH701" {
            eprintln!("  (left for you: {} {})", finding.id, finding.title);
        }
    }
    eprint!(
        "Apply these fixes on the guest (each file backed up first; lifeline repeats the \
         diagnosis and fixes what they uncover)? [y/N] "
    );
    std::io::stderr().flush().ok();
    Ok(ask::line()?.trim().eq_ignore_ascii_case("y"))
}
