//! `HOST`, `HOST:PORT`, `[IPv6]:PORT` or a bare IPv6 address, as an operator types it.

use std::fmt;

pub const DEFAULT_PORT: u16 = 22;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
}

impl Target {
    /// Parses `address`; the error says what is wrong with it.
    pub fn parse(address: &str) -> Result<Target, String> {
        let address = address.trim();
        let (host, port) = if let Some(rest) = address.strip_prefix('[') {
            let (host, after) = rest
                .split_once(']')
                .ok_or_else(|| "an opening '[' without its ']'".to_string())?;
            match after {
                "" => (host, None),
                _ => match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None => return Err(format!("unexpected {after:?} after ']'")),
                },
            }
        } else {
            match address.split_once(':') {
                // More than one colon and no brackets: an IPv6 address without a port.
                Some((_, rest)) if rest.contains(':') => (address, None),
                Some((host, port)) => (host, Some(port)),
                None => (address, None),
            }
        };
        if host.is_empty() {
            return Err("no host".to_string());
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|&p| p != 0)
                .ok_or_else(|| format!("{port:?} is not a port number (1-65535)"))?,
        };
        Ok(Target {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Target {
    /// `host:port`, with the host in brackets when it is an IPv6 address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(address: &str) -> (String, u16) {
        let t = Target::parse(address).unwrap();
        (t.host, t.port)
    }

    #[test]
    fn hosts_ports_and_ipv6() {
        assert_eq!(parsed("vm.example.com"), ("vm.example.com".into(), 22));
        assert_eq!(parsed("127.0.0.1:2222"), ("127.0.0.1".into(), 2222));
        assert_eq!(parsed("[::1]:2200"), ("::1".into(), 2200));
        assert_eq!(parsed("[fe80::1]"), ("fe80::1".into(), 22));
        assert_eq!(parsed("2001:db8::5"), ("2001:db8::5".into(), 22));
        assert_eq!(
            Target::parse("[::1]:2200").unwrap().to_string(),
            "[::1]:2200"
        );
        assert_eq!(Target::parse("h").unwrap().to_string(), "h:22");
    }

    #[test]
    fn malformed_addresses_say_why() {
        for bad in [
            "",
            ":22",
            "host:",
            "host:ssh",
            "host:0",
            "host:70000",
            "[::1",
            "[::1]x",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Target::parse("h:99999").unwrap_err().contains("port"));
    }
}
