//! A root way in without the console: scripts carried by Azure's Run Command through the VM
//! agent ([`crate::azure::agent`]).
//!
//! Run Command returns only the last 4,096 bytes of each stream, so a script's output never
//! comes back directly. The first call runs the script (bounded by `timeout`, since a script
//! that hangs blocks the VM's Run Command for 90 minutes) into a root-only file, compresses it
//! when the guest has gzip, and prints a header (the file's directory, exit status, size and
//! encoding) and the first [`PART_BYTES`] in base64, which fits the 4,096 bytes with room to
//! spare. Each further call prints the next part; the last removes the directory. The probe's
//! facts (about 6 KB) come back in one call when compressed.

use crate::azure::agent::{self, OUTPUT_TAIL};
use crate::azure::{ArmClient, VmTarget};
use crate::posix_sh::quote;
use crate::shell::transfer::{Placement, upload};
use crate::shell::{CommandOutput, ShellError, command};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::time::Duration;

/// Raw bytes per part: base64 of it (3,840 characters in 51 lines) and the header stay under
/// Run Command's [`OUTPUT_TAIL`].
const PART_BYTES: usize = 2880;
/// The most output a script may leave (beyond it is an error, never a silent cut).
const MAX_OUTPUT: usize = 4 << 20;
const HEADER: &str = "ll-agent";

#[derive(Clone)]
pub struct AgentChannel {
    pub arm: ArmClient,
    pub vm: VmTarget,
}

/// What the first call's header says.
#[derive(Debug, PartialEq, Eq)]
struct Header {
    dir: String,
    status: i32,
    size: usize,
    gzip: bool,
}

impl AgentChannel {
    /// Runs `script` as root (with `sh`, within `limit`) and returns its whole output.
    pub async fn run(&self, script: &str, limit: Duration) -> Result<CommandOutput, ShellError> {
        let id = command::marker_id();
        let first = self.call(&first_call(script, limit, &id)).await?;
        let (header, mut part) = parse_first(&first)?;
        let mut bytes = decode(&part)?;
        while bytes.len() < header.size {
            let last = bytes.len() + PART_BYTES >= header.size;
            part = self
                .call(&next_call(&header.dir, bytes.len(), last))
                .await?;
            let more = decode(&part)?;
            if more.is_empty() {
                return Err(ShellError::Agent(format!(
                    "the output file {} ended at {} of {} bytes",
                    header.dir,
                    bytes.len(),
                    header.size
                )));
            }
            bytes.extend(more);
        }
        let output = if header.gzip {
            command::gunzip_bounded(&bytes, MAX_OUTPUT)
                .map_err(|e| ShellError::Agent(format!("the compressed output is damaged: {e}")))?
        } else {
            bytes
        };
        if output.len() > MAX_OUTPUT {
            return Err(ShellError::OutputTooLarge {
                dropped: (output.len() - MAX_OUTPUT) as u64,
                limit: MAX_OUTPUT,
            });
        }
        Ok(CommandOutput {
            output,
            exit_status: header.status,
        })
    }

    /// Writes `content` to `path` (mode `mode`), checked by SHA-256, in one call.
    pub async fn send_file(&self, path: &str, content: &[u8], mode: u32) -> Result<(), ShellError> {
        // Plain base64: Run Command carries the script whole, with no echo to pay for.
        let upload = upload(
            path,
            content,
            Placement::Rename { mode },
            &command::marker_id(),
            false,
        );
        let mut script = upload.heredoc();
        script.push_str(&upload.verify());
        script.push_str(" && echo ll-sent");
        let out = self.call(&script).await?;
        if out.trim_end().ends_with("ll-sent") {
            return Ok(());
        }
        Err(ShellError::Transfer(format!(
            "sending {path} through the VM agent failed: {}",
            out.trim()
        )))
    }

    /// One Run Command; its stdout, or why it failed.
    async fn call(&self, script: &str) -> Result<String, ShellError> {
        let out = agent::run_shell_script(&self.arm, &self.vm, script)
            .await
            .map_err(|e| ShellError::Agent(e.to_string()))?;
        if out.stdout.len() >= OUTPUT_TAIL {
            // Cannot happen with PART_BYTES, unless the guest printed more than asked.
            return Err(ShellError::Agent(
                "Run Command cut the output (4,096 bytes)".into(),
            ));
        }
        if out.exit_status.is_some_and(|s| s != 0) && !out.stdout.starts_with(HEADER) {
            return Err(ShellError::Agent(format!(
                "the carrier script failed: {}",
                out.stderr.trim()
            )));
        }
        Ok(out.stdout)
    }
}

/// The first call: run, keep the output, print the header and the first part.
fn first_call(script: &str, limit: Duration, id: &str) -> String {
    let secs = limit.as_secs().max(1);
    format!(
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH; cd / || exit 1\n\
         umask 077\n\
         d=$(mktemp -d) || exit 1\n\
         cat >\"$d/script\" <<'LL_AGENT_{id}'\n\
         {script}\n\
         LL_AGENT_{id}\n\
         timeout {secs} sh \"$d/script\" </dev/null >\"$d/out\" 2>&1\n\
         s=$?\n\
         if command -v gzip >/dev/null 2>&1 && gzip -c \"$d/out\" >\"$d/part\"; then e=gzip; else cp \"$d/out\" \"$d/part\"; e=plain; fi\n\
         n=$(wc -c <\"$d/part\")\n\
         printf '{HEADER} %s %s %s %s\\n' \"$d\" \"$s\" \"$n\" \"$e\"\n\
         head -c {PART_BYTES} \"$d/part\" | base64\n\
         [ \"$n\" -gt {PART_BYTES} ] || rm -rf \"$d\"\n"
    )
}

/// A later call: the part at `offset`; the last one removes the directory.
fn next_call(dir: &str, offset: usize, last: bool) -> String {
    let dir = quote(dir);
    let cleanup = if last {
        format!("; rm -rf {dir}")
    } else {
        String::new()
    };
    format!(
        "tail -c +{} {dir}/part | head -c {PART_BYTES} | base64{cleanup}",
        offset + 1
    )
}

fn parse_first(stdout: &str) -> Result<(Header, String), ShellError> {
    let bad = || {
        ShellError::Agent(format!(
            "the script's output did not start with lifeline's header: {:?}",
            stdout.chars().take(200).collect::<String>()
        ))
    };
    let (line, rest) = stdout.split_once('\n').ok_or_else(bad)?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [HEADER, dir, status, size, encoding] = fields.as_slice() else {
        return Err(bad());
    };
    // The directory comes back in later commands: only mktemp's own kind of name.
    let safe = dir.starts_with('/')
        && dir
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c));
    let header = Header {
        dir: dir.to_string(),
        status: status.parse().map_err(|_| bad())?,
        size: size.parse().map_err(|_| bad())?,
        gzip: *encoding == "gzip",
    };
    if !safe || header.size > MAX_OUTPUT {
        return Err(bad());
    }
    Ok((header, rest.to_string()))
}

fn decode(part: &str) -> Result<Vec<u8>, ShellError> {
    let text: String = part.chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(text)
        .map_err(|e| ShellError::Agent(format!("a part of the output is not base64: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The carrier scripts run in a real local `sh`, part after part, as Run Command would run
    /// them (each stdout cut to its last 4,096 bytes).
    fn run_command(script: &str) -> String {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cut = out.stdout.len().saturating_sub(OUTPUT_TAIL);
        String::from_utf8(out.stdout[cut..].to_vec()).unwrap()
    }

    fn carried(script: &str) -> (Vec<u8>, i32, usize) {
        let first = run_command(&first_call(script, Duration::from_secs(30), "t1"));
        assert!(first.len() < OUTPUT_TAIL);
        let (header, part) = parse_first(&first).unwrap();
        let mut bytes = decode(&part).unwrap();
        let mut calls = 1;
        while bytes.len() < header.size {
            let last = bytes.len() + PART_BYTES >= header.size;
            let part = run_command(&next_call(&header.dir, bytes.len(), last));
            assert!(part.len() < OUTPUT_TAIL);
            bytes.extend(decode(&part).unwrap());
            calls += 1;
        }
        assert!(!std::path::Path::new(&header.dir).exists(), "cleaned up");
        let out = if header.gzip {
            command::gunzip_bounded(&bytes, MAX_OUTPUT).unwrap()
        } else {
            bytes
        };
        (out, header.status, calls)
    }

    #[test]
    fn output_larger_than_run_commands_tail_comes_back_whole_in_parts() {
        // Random bytes do not compress: 20,000 of them need 7 parts.
        let script =
            "head -c 20000 /dev/urandom | od -An -tx1 | head -c 20000; echo; echo oops >&2; exit 3";
        let (out, status, calls) = carried(script);
        assert_eq!(status, 3);
        assert_eq!(out.len(), 20000 + 1 + 5);
        assert!(out.ends_with(b"oops\n"));
        assert!(calls > 1, "{calls} calls");
        let (small, status, calls) = carried("printf 'a\\nb'");
        assert_eq!((small.as_slice(), status, calls), (&b"a\nb"[..], 0, 1));
    }

    #[test]
    fn a_header_with_an_unsafe_directory_is_refused() {
        assert!(parse_first("ll-agent /tmp/x;rm 0 10 gzip\nAAAA\n").is_err());
        assert!(parse_first("something else\n").is_err());
        let (h, _) = parse_first("ll-agent /tmp/tmp.Ab_1 2 10 plain\nAAAA\n").unwrap();
        assert_eq!(
            h,
            Header {
                dir: "/tmp/tmp.Ab_1".into(),
                status: 2,
                size: 10,
                gzip: false
            }
        );
    }
}
