//! `lifeline diagnose` and `lifeline rules`. Several targets (`--ids` more than once,
//! `--targets FILE`) go to [`super::bulk`].

use super::UsageError;
use super::args::{Cli, DiagnoseArgs, RulesArgs};
use super::session;
use crate::access::{AccessRecord, Need};
use crate::diagnose::{Diagnosis, diagnose};
use crate::exit;
use crate::login::client_facts::of_this_user;
use crate::report::{self, DiagnosisReport, for_terminal};
use crate::rules;
use anyhow::Result;

pub async fn run(cli: &Cli, args: &DiagnoseArgs) -> Result<u8> {
    if args.targets.is_some() || cli.target.ids.len() > 1 {
        return super::bulk::diagnose_all(cli, args).await;
    }
    // Azure's facts are read while the console logs in.
    let (cloud, guest) = tokio::join!(
        super::azure::cloud_side(&cli.target, &args.cloud),
        diagnose_guest(cli, args)
    );
    // The operator's own side: the key file and known_hosts for the VM's address.
    let address = cloud.as_ref().and_then(|side| side.facts.ssh_address());
    let client = of_this_user(args.login_key.as_deref(), address.as_deref());
    let (diagnosis, target, access) = match (guest, cloud) {
        (Ok((diagnosis, target, access)), cloud) => (
            diagnosis.with_cloud(cloud.map(|c| c.facts)),
            target,
            Some(access),
        ),
        // No way into the guest: Azure's side (the boot log above all) still tells a lot.
        (Err(e), Some(cloud)) => {
            eprintln!(
                "lifeline: the guest could not be examined: {}",
                for_terminal(&format!("{e:#}"))
            );
            let diagnosis = Diagnosis::cloud_only(cloud.facts, format!("{e:#}"));
            (diagnosis, session::target_description(&cli.target), None)
        }
        (Err(e), None) => return Err(e),
    };
    let diagnosis = diagnosis.with_client(&client);
    let access = access.as_ref();
    let report = DiagnosisReport {
        diagnosis: &diagnosis,
        target: &target,
        access,
    };
    print!("{}", report::render(&report, cli.output.into()));
    Ok(if diagnosis.healthy() {
        exit::OK
    } else {
        exit::PROBLEMS
    })
}

/// The guest's diagnosis over the console, with what the target is called and how root was
/// reached.
async fn diagnose_guest(
    cli: &Cli,
    args: &DiagnoseArgs,
) -> Result<(Diagnosis, String, AccessRecord)> {
    let (mut opened, access) = session::open(cli, Need::Root).await?;
    let user = args
        .ssh_user
        .clone()
        .unwrap_or_else(|| access.credentials.user.clone());
    let ledger = opened.channel.ledger();
    opened.channel.begin_step("probe");
    let result = diagnose(&mut opened.channel, &user).await;
    // Leave the console tidy whatever happened; the diagnosis error wins.
    let left = opened.channel.close().await;
    session::print_timings(cli.timings, &opened.description, ledger.as_ref());
    let diagnosis = result?;
    left?;
    Ok((diagnosis, opened.description, opened.access))
}

pub fn rules(args: &RulesArgs) -> Result<u8> {
    match &args.id {
        None => print!("{}", rules::docs::render_list()),
        Some(id) => match rules::docs::explain(id) {
            Some(text) => print!("{text}"),
            None => {
                return Err(
                    UsageError(format!("no rule {id:?}; `lifeline rules` lists them all")).into(),
                );
            }
        },
    }
    Ok(exit::OK)
}
