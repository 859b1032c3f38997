//! `lifeline diagnose` and `lifeline rules`.

use super::UsageError;
use super::args::{Cli, DiagnoseArgs, OutputFormat, RulesArgs};
use super::session;
use crate::diagnose::{Diagnosis, diagnose};
use crate::exit;
use crate::term::escape::for_terminal;
use crate::{report, rules};
use anyhow::Result;

pub async fn run(cli: &Cli, args: &DiagnoseArgs) -> Result<u8> {
    // Azure's facts are read while the console logs in.
    let (cloud, guest) = tokio::join!(
        super::azure::cloud_side(&cli.target, &args.cloud),
        diagnose_guest(cli, args)
    );
    let diagnosis = match (guest, cloud) {
        (Ok(diagnosis), cloud) => diagnosis.with_cloud(cloud.map(|c| c.facts)),
        // No way into the guest: Azure's side (the boot log above all) still tells a lot.
        (Err(e), Some(cloud)) => {
            eprintln!(
                "lifeline: the guest could not be examined: {}",
                for_terminal(&format!("{e:#}"))
            );
            Diagnosis::cloud_only(cloud.facts, format!("{e:#}"))
        }
        (Err(e), None) => return Err(e),
    };
    let target = session::target_description(&cli.target);
    match cli.output {
        OutputFormat::Text => print!(
            "{}",
            for_terminal(&report::render_text(&diagnosis, &target))
        ),
        OutputFormat::Json => println!("{}", report::render_json(&diagnosis, &target)),
    }
    Ok(if diagnosis.healthy() {
        exit::OK
    } else {
        exit::PROBLEMS
    })
}

/// The guest's diagnosis over the console.
async fn diagnose_guest(cli: &Cli, args: &DiagnoseArgs) -> Result<Diagnosis> {
    let (mut session, creds) = session::open(cli, true).await?;
    let user = args.ssh_user.clone().unwrap_or_else(|| creds.user.clone());
    let before = session.traffic();
    let started = std::time::Instant::now();
    let result = diagnose(&mut session, &user).await;
    let after = session.traffic();
    tracing::info!(
        sent = after.sent - before.sent,
        received = after.received - before.received,
        seconds = started.elapsed().as_secs_f64(),
        "diagnosis cost on the console"
    );
    // Leave the console tidy whatever happened; the diagnosis error wins.
    let left = session.leave().await;
    let diagnosis = result?;
    left?;
    Ok(diagnosis)
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
