//! Atomic writes on the guest: a temporary file in the target's directory, the original's
//! owner, mode and SELinux label, fsync, one rename; an optional check (`visudo -cf`,
//! `nft -c -f`, …) must accept the new content first. Writing what a file already holds
//! changes nothing, which is what makes every operation idempotent. The guest side is
//! `write.sh`; this side embeds content in a plan's script.

pub(super) const SCRIPT: &str = include_str!("write.sh");

/// The shell text that writes `content` to `$LL_RUN/name` on the guest: a quoted here-document
/// (nothing in it is expanded), with a delimiter that is no line of the content. A missing
/// final newline is added.
pub(super) fn data_block(name: &str, content: &str) -> String {
    let mut delimiter = String::from("LL_DATA");
    while content.lines().any(|line| line == delimiter) {
        delimiter.push('_');
    }
    let newline = if content.ends_with('\n') { "" } else { "\n" };
    format!("cat >\"$LL_RUN/{name}\" <<'{delimiter}'\n{content}{newline}{delimiter}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_block_reproduces_its_content_exactly() {
        let content = "LL_DATA\n$HOME `id` 'q' \\n\nno newline at the end";
        let dir = std::env::temp_dir().join(format!("ll-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!("LL_RUN='{}'\n{}", dir.display(), data_block("x", content));
        let status = std::process::Command::new("sh")
            .args(["-c", &script])
            .status()
            .unwrap();
        assert!(status.success());
        let written = std::fs::read_to_string(dir.join("x")).unwrap();
        assert_eq!(written, format!("{content}\n"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn files_are_compared_placed_put_as_root_and_removed_with_a_backup() {
        let (dir, out) = crate::remedy::plan::run_locally(
            &[],
            "printf a >\"$T/a\"; printf a >\"$T/b\"; printf c >\"$T/c\"\n\
             ll_same \"$T/a\" \"$T/b\" && echo same; ll_same \"$T/a\" \"$T/c\" || echo differ\n\
             ll_set_label \"$T/a\" - && ll_relabel \"$T/a\" && echo 'labels: nothing to do'\n\
             printf new >\"$T/tmp\"; ll_place \"$T/tmp\" \"$T/placed\" && [ ! -e \"$T/tmp\" ] && echo \"placed $(cat \"$T/placed\")\"\n\
             printf root >\"$T/src\"; ll_put_root \"$T/pr\" 0640 0:0 - <\"$T/src\"; echo \"put $(stat -c '%a %u' \"$T/pr\") $(cat \"$T/pr\")\"\n\
             ll_put_root \"$T/nodir/x\" 0600 0:0 - </dev/null 2>/dev/null || echo 'no directory, no file'\n\
             ls -a \"$T\" | grep -c '^\\.lifeline'\n\
             ll_remove \"$T/c\" | sed '/^ll.backup/d' | cut -f1,2,4; [ -e \"$T/c\" ] || echo gone; ll_remove \"$T/c\" | cut -f1,2\n\
             ll_verify() { echo \"verify $*\"; }\n\
             LL_CHECKED= LL_STEP_SSHD= LL_WAS_OK=\n\
             ll_touches /etc/passwd; echo \"passwd [$LL_STEP_SSHD]\"\n\
             ll_touches /etc/ssh/ssh_host_ed25519_key; echo \"host key [$LL_STEP_SSHD]\"\n\
             ll_touches /etc/ssh/sshd_config; ll_touches /etc/ssh/sshd_config.d/x.conf\n\
             echo \"sshd config [$LL_STEP_SSHD] was ok [$LL_WAS_OK]\"",
        );
        std::fs::remove_dir_all(dir).ok();
        assert_eq!(
            out,
            "same\ndiffer\nlabels: nothing to do\nplaced new\nput 640 0 root\n\
             no directory, no file\n0\nll\tchanged\tremoved\ngone\nll\tunchanged\n\
             passwd []\nhost key []\nverify 1 quiet\nsshd config [1] was ok [1]\n"
        );
    }
}
