//! The fake Azure service (`fake-azure`) for one test: started on loopback with the machines
//! given, stopped when dropped. It hands out the environment that makes lifeline trust it and
//! sign in to it with a client secret, and reads or changes its state through `/fake/…`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub struct FakeAzure {
    pub url: String,
    pub dir: PathBuf,
    process: Child,
}

impl FakeAzure {
    /// Starts the fake with `vms` (`SUB/RG/NAME=SERIAL`, SERIAL being `echo` or `unix:PATH`).
    pub fn start(name: &str, vms: &[String]) -> FakeAzure {
        FakeAzure::start_with(name, vms, &[])
    }

    /// [`start`](Self::start) with more of the fake's options, each a flag and its value:
    /// `--vmss SUB/RG/SET/N=SERIAL`, `--ssh SUB/RG/NAME=PORT` (the NSG-enforcing SSH front),
    /// `--boot-log SUB/RG/NAME=FILE`; a switch with an empty value (`--no-network-watcher`).
    pub fn start_with(name: &str, vms: &[String], options: &[(&str, String)]) -> FakeAzure {
        let dir = std::env::temp_dir().join(format!("lifeline-fake-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_fake-azure"));
        command.arg("--state-dir").arg(&dir);
        for vm in vms {
            command.args(["--vm", vm]);
        }
        for (flag, value) in options {
            command.arg(flag);
            // A switch (`--no-network-watcher`) comes with an empty value.
            if !value.is_empty() {
                command.arg(value);
            }
        }
        // Its log (-vv: requests, sessions, admin commands) is kept for a failing test to show.
        let log = std::fs::File::create(dir.join("fake-azure.log")).expect("create the fake's log");
        let mut process = command
            .args(["-vv", "--exit-on-stdin-eof"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start fake-azure");
        let line = BufReader::new(process.stdout.take().unwrap())
            .lines()
            .next()
            .expect("READY line")
            .unwrap();
        let url = line.strip_prefix("READY ").expect("READY").to_string();
        FakeAzure { url, dir, process }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// What lifeline needs to trust the fake and sign in to it with a client secret.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SSL_CERT_FILE", self.ca().to_string_lossy().into_owned()),
            ("AZURE_AUTHORITY_HOST", self.url.clone()),
            ("AZURE_TENANT_ID", "tenant-1".into()),
            ("AZURE_CLIENT_ID", "client-1".into()),
            ("AZURE_CLIENT_SECRET", "secret-1".into()),
        ]
    }

    /// `POST /fake/control` with `body` (see src/bin/fake-azure/control.rs).
    pub fn control(&self, body: serde_json::Value) {
        self.curl("control", Some(body));
    }

    /// `GET /fake/state`: counters, open websockets, recent requests.
    pub fn state(&self) -> serde_json::Value {
        self.curl("state", None)
    }

    fn curl(&self, path: &str, body: Option<serde_json::Value>) -> serde_json::Value {
        let mut curl = Command::new("curl");
        curl.args(["-sS", "--fail", "--cacert"]).arg(self.ca());
        if let Some(body) = body {
            curl.args([
                "-H",
                "content-type: application/json",
                "-d",
                &body.to_string(),
            ]);
        }
        let out = curl
            .arg(format!("{}/fake/{path}", self.url))
            .output()
            .expect("run curl");
        assert!(
            out.status.success(),
            "fake {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_default()
    }
}

impl Drop for FakeAzure {
    /// Stops the fake and removes its state directory, unless the test failed: then its log
    /// is kept, and named.
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
        if std::thread::panicking() {
            eprintln!(
                "fake-azure's log: {}",
                self.dir.join("fake-azure.log").display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
