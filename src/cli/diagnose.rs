//! `lifeline diagnose` and `lifeline rules`.

use super::UsageError;
use super::args::{Cli, DiagnoseArgs, OutputFormat, RulesArgs};
use super::session;
use crate::access::Need;
use crate::diagnose::diagnose;
use crate::exit;
use crate::{report, rules};
use anyhow::Result;

pub async fn run(cli: &Cli, args: &DiagnoseArgs) -> Result<u8> {
    let (mut opened, access) = session::open(cli, Need::Root).await?;
    let user = args
        .ssh_user
        .clone()
        .unwrap_or_else(|| access.credentials.user.clone());
    let session = opened.channel.session();
    let before = session.traffic();
    let started = std::time::Instant::now();
    let result = diagnose(session, &user).await;
    let after = session.traffic();
    tracing::info!(
        sent = after.sent - before.sent,
        received = after.received - before.received,
        seconds = started.elapsed().as_secs_f64(),
        "diagnosis cost on the console"
    );
    // Leave the console tidy whatever happened; the diagnosis error wins.
    let left = opened.channel.close().await;
    let diagnosis = result?;
    left?;
    let (target, access) = (&opened.description, Some(&opened.access));
    match cli.output {
        OutputFormat::Text => print!("{}", report::render_text(&diagnosis, target, access)),
        OutputFormat::Json => println!("{}", report::render_json(&diagnosis, target, access)),
    }
    Ok(if diagnosis.healthy() {
        exit::OK
    } else {
        exit::PROBLEMS
    })
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
