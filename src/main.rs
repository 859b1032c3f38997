use std::process::ExitCode;

fn main() -> ExitCode {
    lifeline::cli::main()
}
