//! The active lines of /etc/fstab, as the probe's `@fstab` section lists them, with what the
//! guest could say about each: whether its device is there, whether it is mounted.
//!
//! The probe marks what it could not ask (no blkid and no udev links; no init has mounted
//! anything yet, as in a break-in shell) as unknown, and unknown stays unknown here: a rule
//! never reads "could not ask" as "missing" or "not mounted".

use serde::Serialize;

/// One active line of /etc/fstab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FstabEntry {
    /// Its line number in /etc/fstab.
    pub line: u32,
    /// The line as written, without leading and trailing blanks.
    pub text: String,
    pub spec: String,
    pub mount_point: String,
    pub fs_type: String,
    pub options: Vec<String>,
    pub device: Device,
    /// Whether it is mounted now; `None`: could not ask (no init has tried to mount it).
    pub mounted: Option<bool>,
}

/// Whether the device an entry names is on the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    Found,
    Missing,
    /// Not a local device: tmpfs, proc, a bind mount, a network file system.
    NotADevice,
    /// Nothing on the guest could tell (no blkid, no /dev/disk).
    CouldNotAsk,
}

impl FstabEntry {
    pub fn has_option(&self, option: &str) -> bool {
        self.options.iter().any(|o| o == option)
    }

    /// The line with `option` added to its options (written `defaults` when it had none), its
    /// other text and spacing kept.
    pub fn with_option(&self, option: &str) -> String {
        let fields = field_spans(&self.text);
        match fields.get(3) {
            Some(&(_, end)) => format!("{},{option}{}", &self.text[..end], &self.text[end..]),
            None => {
                let mut line = self.text.clone();
                if fields.len() < 3 {
                    line.push_str("\tauto");
                }
                line.push_str(&format!("\tdefaults,{option}"));
                line
            }
        }
    }
}

/// The byte ranges of the blank-separated fields of `text`.
fn field_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c == ' ' || c == '\t', start) {
            (true, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

/// The entries of the probe's `@fstab` lines ("LINE<TAB>DEVICE<TAB>MOUNTED<TAB>TEXT"); a line
/// that does not read so is skipped.
pub fn parse(lines: &[&str]) -> Vec<FstabEntry> {
    lines.iter().filter_map(|l| entry(l)).collect()
}

fn entry(line: &str) -> Option<FstabEntry> {
    let mut parts = line.splitn(4, '\t');
    let number = parts.next()?.trim().parse().ok()?;
    let device = match parts.next()? {
        "found" => Device::Found,
        "missing" => Device::Missing,
        "-" => Device::NotADevice,
        _ => Device::CouldNotAsk,
    };
    let mounted = match parts.next()? {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let text = parts.next()?.trim().to_string();
    let mut fields = text.split_whitespace();
    let spec = fields.next()?.to_string();
    let mount_point = fields.next().unwrap_or_default().to_string();
    let fs_type = fields.next().unwrap_or("auto").to_string();
    let options = fields
        .next()
        .unwrap_or("defaults")
        .split(',')
        .map(str::to_string)
        .collect();
    Some(FstabEntry {
        line: number,
        spec,
        mount_point,
        fs_type,
        options,
        device,
        mounted,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_probe_could_and_could_not_ask() {
        let entries = parse(&[
            "3\tmissing\tno\tUUID=1234-dead\t/data\text4\tdefaults\t0\t2",
            "5\t?\t?\t/dev/vdb1 /srv xfs rw,noatime 0 0",
            "6\t-\tyes\ttmpfs /tmp tmpfs",
            "not a line",
        ]);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].line, 3);
        assert_eq!(entries[0].device, Device::Missing);
        assert_eq!(entries[0].mounted, Some(false));
        assert_eq!(entries[0].mount_point, "/data");
        assert_eq!(entries[1].device, Device::CouldNotAsk);
        assert_eq!(entries[1].mounted, None);
        assert!(entries[1].has_option("noatime"));
        assert_eq!(entries[2].options, ["defaults"]);
    }

    #[test]
    fn adds_an_option_keeping_the_line_as_written() {
        let entries = parse(&[
            "1\tmissing\tno\tUUID=1234-dead\t/data\text4\tdefaults\t0\t2",
            "2\tmissing\tno\t/dev/vdb1  /srv   xfs",
            "3\tmissing\tno\t/dev/vdc1 /x",
        ]);
        assert_eq!(
            entries[0].with_option("nofail"),
            "UUID=1234-dead\t/data\text4\tdefaults,nofail\t0\t2"
        );
        assert_eq!(
            entries[1].with_option("nofail"),
            "/dev/vdb1  /srv   xfs\tdefaults,nofail"
        );
        assert_eq!(
            entries[2].with_option("nofail"),
            "/dev/vdc1 /x\tauto\tdefaults,nofail"
        );
    }
}
