//! The `--serial` target syntax: `unix:PATH`, `tcp:HOST:PORT`, `cmd:COMMAND`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkSpec {
    Unix(PathBuf),
    Tcp(String),
    Command(String),
}

impl FromStr for LinkSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = s.split_once(':').ok_or_else(|| usage(s))?;
        if rest.is_empty() {
            return Err(usage(s));
        }
        match kind {
            "unix" => Ok(LinkSpec::Unix(PathBuf::from(rest))),
            "tcp" => match rest.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                    Ok(LinkSpec::Tcp(rest.to_string()))
                }
                _ => Err(format!(
                    "{s:?}: a tcp target is tcp:HOST:PORT, for example tcp:127.0.0.1:4555"
                )),
            },
            "cmd" => Ok(LinkSpec::Command(rest.to_string())),
            _ => Err(usage(s)),
        }
    }
}

fn usage(s: &str) -> String {
    format!(
        "{s:?} is not a serial target; use unix:PATH (a serial socket), tcp:HOST:PORT, \
         or cmd:'COMMAND' (a console command such as cmd:'virsh console vm1')"
    )
}

impl fmt::Display for LinkSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkSpec::Unix(p) => write!(f, "unix:{}", p.display()),
            LinkSpec::Tcp(a) => write!(f, "tcp:{a}"),
            LinkSpec::Command(c) => write!(f, "cmd:{c}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(
            "unix:/tmp/s.sock".parse::<LinkSpec>().unwrap(),
            LinkSpec::Unix("/tmp/s.sock".into())
        );
        assert_eq!(
            "tcp:[::1]:4555".parse::<LinkSpec>().unwrap(),
            LinkSpec::Tcp("[::1]:4555".into())
        );
        assert_eq!(
            "cmd:virsh console vm1".parse::<LinkSpec>().unwrap(),
            LinkSpec::Command("virsh console vm1".into())
        );
    }

    #[test]
    fn rejects_what_it_cannot_connect_to_with_the_syntax() {
        for bad in ["serial.sock", "tcp:host", "tcp:host:port", "ftp:x", "unix:"] {
            let err = bad.parse::<LinkSpec>().unwrap_err();
            assert!(
                err.contains("tcp:") || err.contains("unix:PATH"),
                "{bad}: {err}"
            );
        }
    }
}
