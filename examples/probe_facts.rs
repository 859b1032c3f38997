//! Reads the probe's output on stdin and prints the facts lifeline parses from it, as
//! pretty JSON: what `scripts/probe-compare` diffs to show that a change to the probe's script
//! leaves every fact as it was.

use lifeline::probe::parse;
use std::io::Read;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("probe_facts: cannot read stdin: {e}");
        return ExitCode::FAILURE;
    }
    match parse(&text) {
        Ok(facts) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&facts).expect("facts serialise")
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("probe_facts: the probe's output does not parse: {e}");
            ExitCode::FAILURE
        }
    }
}
