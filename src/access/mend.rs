//! The break-in's offline shell, mended when its own tools cannot run: mount, sed, grep and mv
//! load libselinux and libpcre2 on Debian, so one of those libraries deleted or damaged stops
//! the shell's preparation, every repair after it and the package tools alike, and `ldconfig`
//! cannot help a file that is not what its package installed.
//!
//! The check runs only what loads nothing but glibc's libc and libm (mend.sh): the loader names what each tool
//! maps, dpkg's checksums say which of those files are damaged. Their packages are fetched
//! where lifeline runs, in the exact version installed, as rule SSH010's fix fetches sshd's
//! (`packages::copies`), and each file is hard-linked over the damaged one
//! ([`Session::link_file`]): `mv` may be among the tools that cannot run, the shell itself
//! keeps the libc it has mapped, and in the offline shell nothing else runs to race the write.

use super::breakin::BreakInError;
use crate::packages::copies::{fetch_copies, unpacked};
use crate::probe::facts::PackageCopy;
use crate::shell::Session;
use azure_core::http::Url;

/// What the offline shell's tools load, checked with tools that load only libc.
const SCRIPT: &str = include_str!("mend.sh");

/// The check as sent: `ll_package_files` and mend.sh without comments, then `call`.
fn script(call: &str) -> String {
    format!(
        "{}{}{call}\n",
        crate::posix_sh::minify(crate::probe::PACKAGE_FILES),
        crate::posix_sh::minify(SCRIPT)
    )
}

/// Puts back from their packages the offline shell's tools, and the files the loader maps for
/// them, that are not what their package installed (fetched from `mirrors`, else the
/// distribution's archive); says which. Nothing is written unless every damaged file's copy
/// was had. Fails, saying why, when the check could not judge, found nothing damaged, or a
/// copy is not to be had.
pub(super) async fn put_back_tools(
    session: &mut Session,
    mirrors: &[Url],
) -> Result<String, BreakInError> {
    let checked = session.run(&script("ll_tools_check")).await?;
    let check = crate::probe::parse::parse_package_check(&checked.text())
        .map_err(|e| BreakInError::Offline(format!("checking the tools' files: {e}")))?;
    let mut facts = check.facts;
    if facts.package_files.is_empty() {
        let why = match &check.errors[..] {
            [] => "no program or library the offline shell's tools load differs from its package"
                .to_string(),
            errors => format!(
                "the check of the tools' files could not judge: {}",
                errors.join("; ")
            ),
        };
        return Err(BreakInError::Offline(why));
    }
    // A path is typed on the console: one with a control character would act on the tty.
    if let Some(file) = (facts.package_files.iter()).find(|f| f.path.chars().any(char::is_control))
    {
        return Err(BreakInError::Offline(format!(
            "{:?} is damaged, and its name holds a control character: not typed on the console",
            file.path
        )));
    }
    fetch_copies(&mut facts, mirrors).await;
    let mut copies = Vec::new();
    for file in &facts.package_files {
        let what = format!("{} ({} {})", file.path, file.package, file.version);
        let content = match &file.copy {
            PackageCopy::Fetched {
                mode, gzip_base64, ..
            } => unpacked(gzip_base64).map(|content| (content, *mode)),
            PackageCopy::Failed { why } => Err(why.clone()),
            PackageCopy::NotFetched => Err("not fetched".into()),
        };
        let (content, mode) = content.map_err(|why| {
            BreakInError::Offline(format!(
                "{what} is damaged and its package's copy is not to be had: {why}"
            ))
        })?;
        copies.push((what, &file.path, content, mode));
    }
    let mut put_back = Vec::new();
    for (what, path, content, mode) in copies {
        if let Err(e) = session.link_file(path, &content, mode).await {
            let done = match &put_back[..] {
                [] => String::new(),
                done => format!(" (put back before it: {})", done.join(", ")),
            };
            return Err(BreakInError::Offline(format!(
                "putting back {what}: {e}{done}"
            )));
        }
        put_back.push(what);
    }
    Ok(format!(
        "put back from their packages: {}",
        put_back.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::script;

    /// The trace's paths are taken; a library the loader could not find, or refused naming
    /// it without a path, stands for itself in each library directory.
    #[test]
    fn the_trace_names_every_file_and_each_place_of_a_missing_one() {
        let trace = "/usr/bin/mount\n\
                     \tlinux-vdso.so.1 (0x00007ffed9f74000)\n\
                     \tlibmount.so.1 => /lib/x86_64-linux-gnu/libmount.so.1 (0x00007f7f8377b000)\n\
                     \tlibselinux.so.1 => not found\n\
                     \t/lib64/ld-linux-x86-64.so.2 (0x00007f7f8378a000)\n\
                     /usr/bin/sed\n\
                     /usr/bin/sed: error while loading shared libraries: libpcre2-8.so.0: ELF load command address/offset not page-aligned\n\
                     /usr/bin/grep\n\
                     /usr/bin/grep: error while loading shared libraries: /lib/x86_64-linux-gnu/libpcre2-8.so.0: invalid ELF header\n";
        let out = Command::new("sh")
            .args([
                "-c",
                &script("printf '%s' \"$TRACE\" | ll_traced_files /lib/a /usr/lib/a"),
            ])
            .env("TRACE", trace)
            .output()
            .unwrap();
        let mut files: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "/lib/a/libpcre2-8.so.0",
                "/lib/a/libselinux.so.1",
                "/lib/x86_64-linux-gnu/libmount.so.1",
                "/lib/x86_64-linux-gnu/libpcre2-8.so.0",
                "/lib64/ld-linux-x86-64.so.2",
                "/usr/bin/grep",
                "/usr/bin/mount",
                "/usr/bin/sed",
                "/usr/lib/a/libpcre2-8.so.0",
                "/usr/lib/a/libselinux.so.1",
            ],
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    use std::path::Path;
    use std::process::Command;

    /// A real program whose library was deleted: the loader's trace names it "not found",
    /// and it stands for itself in this machine's multiarch directory, the globs expanded
    /// under the caller's `set -f` too; a program that is gone stands for itself where it
    /// would be.
    #[test]
    fn a_deleted_library_of_a_real_program_is_looked_for_where_it_would_be() {
        let dir = std::env::temp_dir().join(format!("ll-gone-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let build = format!(
            "cd '{}' && echo 'int gone(void) {{ return 0; }}' > gone.c && \
             cc -shared -fPIC -Wl,-soname,libllgone.so.1 -o libllgone.so.1 gone.c && \
             echo 'int gone(void); int main(void) {{ return gone(); }}' > main.c && \
             cc -o prog main.c ./libllgone.so.1 && rm libllgone.so.1",
            dir.display()
        );
        let built = Command::new("sh").args(["-c", &build]).output().unwrap();
        assert!(
            built.status.success(),
            "cc is needed: {}",
            String::from_utf8_lossy(&built.stderr)
        );
        let prog = dir.join("prog").display().to_string();
        let out = Command::new("sh")
            .args([
                "-c",
                &script(&format!("set -f; ll_loaded '{prog}' ll-no-such-tool")),
            ])
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.lines().any(|l| l == prog), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("/lib/") && l.ends_with("-linux-gnu/libllgone.so.1")),
            "{text}"
        );
        assert!(!text.contains('*'), "a glob was not expanded: {text}");
        // A tool that is gone is looked for where it would be.
        assert!(
            text.lines().any(|l| l == "/usr/sbin/ll-no-such-tool"),
            "{text}"
        );
    }

    /// The check finds, through the loader's trace, a library a program loads that is not
    /// what its package installed, and one the loader cannot find at all, in a scratch
    /// database; the programs and libraries as installed are not named.
    #[test]
    fn the_check_names_a_library_the_tools_load_that_is_not_what_dpkg_recorded() {
        let dir = std::env::temp_dir().join(format!("ll-mend-{}", std::process::id()));
        let info = dir.join("db/info");
        std::fs::create_dir_all(&info).unwrap();
        // This machine's own sed and what it loads, as dpkg would list them: each file's
        // checksum recorded, but libc's recorded wrong (damaged) and a library that is gone.
        let traced = Command::new("sh")
            .args(["-c", "LD_TRACE_LOADED_OBJECTS=1 \"$(command -v sed)\""])
            .output()
            .unwrap();
        let libc = String::from_utf8_lossy(&traced.stdout)
            .lines()
            .find_map(|l| {
                let path = l.split("=> ").nth(1)?.split(' ').next()?;
                path.contains("/libc.so").then(|| path.to_string())
            })
            .expect("sed loads libc");
        let libc = std::fs::canonicalize(&libc).unwrap();
        let member = libc.strip_prefix("/").unwrap().display().to_string();
        std::fs::write(
            info.join("libc6:amd64.md5sums"),
            format!("0123456789abcdef0123456789abcdef  {member}\n"),
        )
        .unwrap();
        std::fs::write(
            dir.join("db/status"),
            "Package: libc6\nArchitecture: amd64\nVersion: 2.36-9\nSource: glibc\n\n",
        )
        .unwrap();
        let out = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "LL_DPKG='{}'\n{}",
                    dir.join("db").display(),
                    script("ll_tools_check")
                ),
            ])
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let text = String::from_utf8_lossy(&out.stdout);
        let facts = crate::probe::parse::parse_package_check(&text)
            .unwrap()
            .facts;
        assert!(facts.os.id.is_some(), "{text}");
        let [damaged] = &facts.package_files[..] else {
            panic!("one file named, not {:?}\n{text}", facts.package_files);
        };
        assert_eq!(Path::new(&damaged.path), libc);
        assert_eq!(
            (damaged.package.as_str(), damaged.version.as_str()),
            ("libc6", "2.36-9")
        );
    }
}
