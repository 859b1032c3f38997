//! Verification from inside the guest: sshd's `SSH-2.0-` banner read on every port it is
//! configured for (loopback for wildcard listeners), with whatever the guest has to open a TCP
//! connection (bash's /dev/tcp, python3, nc), bounded in time. The guest side is `verify.sh`.

use serde::Serialize;

pub(super) const SCRIPT: &str = include_str!("verify.sh");

/// One port's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortCheck {
    pub port: String,
    pub address: String,
    pub ok: bool,
    /// The banner, or what came instead.
    pub answer: String,
}

#[cfg(test)]
mod tests {
    use crate::remedy::plan::run_locally;
    use std::io::Write;
    use std::net::TcpListener;

    /// A port on 127.0.0.1 that answers every connection with an SSH banner, for the test's
    /// life.
    fn banner_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map_while(Result::ok) {
                stream.write_all(b"SSH-2.0-OpenSSH_9.2 test\r\n").ok();
            }
        });
        port
    }

    /// A port on 127.0.0.1 that nothing listens on.
    fn closed_port() -> u16 {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    #[test]
    fn every_port_sshd_listens_on_is_proved_by_its_banner() {
        let (open, closed) = (banner_port(), closed_port());
        let (dir, out) = run_locally(
            &[],
            &format!(
                "stub sshd 'printf \"port {open}\\nlistenaddress [::]:{closed}\\nlistenaddress 0.0.0.0:{open}\\n\"'\n\
                 ll_sshd_locate; LL_TARGETS=\n\
                 ll_listeners; ll_targets | tr '\\n' ,; echo\n\
                 ll_banner 127.0.0.1 {open}\n\
                 LL_TARGETS='127.0.0.1 {open}'; ll_verify 3; echo \"status $?\"\n\
                 LL_TARGETS='127.0.0.1 {closed}'; ll_verify 1 quiet; echo \"quiet $?\"\n\
                 ll_verify 1 | cut -f1-5\n\
                 LL_SSHD=; LL_TARGETS=; ll_verify 1; echo \"status $?\""
            ),
        );
        std::fs::remove_dir_all(dir).ok();
        let mut expected_listeners = [format!("127.0.0.1 {open}"), format!("::1 {closed}")];
        expected_listeners.sort_by_key(|l| l.split(' ').nth(1).unwrap().parse::<u16>().unwrap());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[..2], expected_listeners, "{out}");
        assert_eq!(lines[2], expected_listeners.join(",") + ",");
        // lines() drops the banner's CR; ll_verify strips it itself.
        assert_eq!(lines[3], "SSH-2.0-OpenSSH_9.2 test");
        assert_eq!(
            lines[4],
            format!("ll\tverify\t{open}\t127.0.0.1\tok\tSSH-2.0-OpenSSH_9.2 test")
        );
        assert_eq!(lines[5..7], ["status 0", "quiet 1"]);
        assert_eq!(lines[7], format!("ll\tverify\t{closed}\t127.0.0.1\tfailed"));
        assert_eq!(
            lines[8..],
            [
                "ll\tverify\t-\t-\tfailed\tsshd -T does not say which ports sshd listens on",
                "status 1"
            ]
        );
    }
}
