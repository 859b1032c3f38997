//! `lifeline exec`: one command on the guest, its output on stdout, its status as ours.

use super::args::{Cli, ExecArgs, OutputFormat};
use super::session;
use crate::access::Need;
use anyhow::Result;
use std::io::Write;
use std::time::Duration;

pub async fn run(cli: &Cli, args: &ExecArgs) -> Result<u8> {
    let need = if args.root { Need::Root } else { Need::Shell };
    let (mut opened, _) = session::open(cli, need).await?;
    let command = args.command.join(" ");
    let result = opened
        .channel
        .run(&command, Duration::from_secs(args.timeout))
        .await;
    let ledger = opened.channel.ledger();
    // Leave the console tidy even when the command failed; the command's own error wins.
    let left = opened.channel.close().await;
    session::print_timings(cli.timings, &opened.description, ledger.as_ref());
    let out = result?;
    left?;
    match cli.output {
        OutputFormat::Text => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&out.output)?;
            stdout.flush()?;
        }
        OutputFormat::Json => {
            let doc = serde_json::json!({
                "target": opened.description,
                "access": opened.access,
                "command": command,
                "exit_status": out.exit_status,
                "output": out.text(),
            });
            println!("{doc}");
        }
    }
    Ok(u8::try_from(out.exit_status).unwrap_or(crate::exit::SOFTWARE))
}
