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
}
