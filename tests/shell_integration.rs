//! `lifeline completions` and `lifeline man`, checked with the real consumers: the bash script is
//! loaded into a real bash and asked to complete, and the manual page is rendered by man/groff
//! with warnings turned into failures.

use std::process::Command;

const LIFELINE: &str = env!("CARGO_BIN_EXE_lifeline");

/// Loads the bash completion into `bash --norc` and returns what it offers for `words`.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let line = words.join(" ");
    let script = format!(
        "source <('{LIFELINE}' completions bash) || exit 3\n\
         COMP_WORDS=({line}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT=${{#COMP_LINE}}\n\
         _lifeline lifeline '{last}' '{prev}' || exit 4\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        cword = words.len() - 1,
        last = words[words.len() - 1],
        prev = words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_bash_completion_loads_and_completes_subcommands_and_values() {
    let offered = bash_completes(&["lifeline", "res"]);
    assert_eq!(offered, ["rescue", "reset-ssh"]);
    let shells = bash_completes(&["lifeline", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(shells.iter().any(|s| s == shell), "{shells:?}");
    }
    let options = bash_completes(&["lifeline", "rescue", "--dry"]);
    assert_eq!(options, ["--dry-run"]);
}

#[test]
fn every_shell_gets_a_script() {
    for (shell, marker) in [
        ("zsh", "#compdef lifeline"),
        ("fish", "complete -c lifeline"),
        ("powershell", "Register-ArgumentCompleter"),
    ] {
        let out = Command::new(LIFELINE)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success());
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script:.200}");
        assert!(script.contains("rescue"), "{shell} completes subcommands");
    }
}

#[test]
fn the_manual_page_renders_cleanly_and_names_every_subcommand() {
    let dir = std::env::temp_dir().join(format!("lifeline-man-{}", std::process::id()));
    let out = Command::new(LIFELINE)
        .args(["man", "--out-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = dir.join("lifeline.1");
    let rendered = Command::new("man")
        .arg("-l")
        .arg("--warnings=w")
        .arg(&page)
        .env("MANWIDTH", "100")
        .env("PAGER", "cat")
        .output()
        .expect("run man");
    let text = plain(&String::from_utf8_lossy(&rendered.stdout));
    let warnings = String::from_utf8_lossy(&rendered.stderr);
    assert!(rendered.status.success(), "{warnings}");
    assert!(warnings.trim().is_empty(), "roff warnings: {warnings}");
    for sub in [
        "connect",
        "exec",
        "diagnose",
        "rescue",
        "send",
        "console",
        "user",
        "reset-ssh",
        "undo",
        "rules",
        "completions",
        "man",
    ] {
        assert!(
            text.contains(&format!("lifeline-{sub}(1)")),
            "lifeline(1) lists {sub}"
        );
        assert!(
            dir.join(format!("lifeline-{sub}.1")).is_file(),
            "a page for {sub}"
        );
    }
    assert!(
        text.contains("--take-over"),
        "global options are documented"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Rendered man text without its overstrikes (`X\bX` for bold, `_\bX` for underline).
fn plain(rendered: &str) -> String {
    let mut text = String::new();
    for c in rendered.chars() {
        if c == '\u{8}' {
            text.pop();
        } else {
            text.push(c);
        }
    }
    text
}
