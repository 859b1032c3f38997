//! The package copies of the files a diagnosis found damaged (`Facts::package_files`), fetched
//! where lifeline runs: a guest whose library its own package tools load cannot fetch it, and
//! the guest may have no route to a mirror at all.
//!
//! Each package is fetched once, in the exact version the guest has installed; each file is
//! taken out of it and kept only when its checksum is the one the guest's dpkg recorded, so
//! what a plan puts back is what the package installed, not whatever a mirror served.

use super::archive::{Archive, Installed, fetch};
use super::deb;
use crate::probe::facts::{Facts, PackageCopy, PackageFile};
use azure_core::http::Url;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tracing::info;

/// How long one package may take to come: a mirror that stalls must not hold the rescue.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

/// A package fetched (where from, its bytes), or why not.
type Fetched = Result<(Url, Vec<u8>), String>;

/// Fetches the copy of every damaged file that has none yet, from the public archive of the
/// guest's distribution or the operator's `mirrors`. Failures are recorded in the file's
/// [`PackageCopy::Failed`], for the report and for the rule that then leaves it to a person.
pub async fn fetch_copies(facts: &mut Facts, mirrors: &[Url]) {
    let os_id = facts.os.id.clone().unwrap_or_default();
    let wanted: Vec<usize> = (0..facts.package_files.len())
        .filter(|&i| facts.package_files[i].copy == PackageCopy::NotFetched)
        .collect();
    if wanted.is_empty() {
        return;
    }
    let Some(archive) = Archive::for_distribution(&os_id, mirrors) else {
        for &i in &wanted {
            facts.package_files[i].copy = PackageCopy::Failed {
                why: format!("lifeline knows no package archive for the distribution {os_id:?}"),
            };
        }
        return;
    };
    let _step = crate::progress::step("fetching the packages of the damaged files");
    let mut packages: Vec<(Installed, Fetched)> = Vec::new();
    for &i in &wanted {
        let installed = installed(&facts.package_files[i]);
        if !packages.iter().any(|(p, _)| *p == installed) {
            info!(package = %installed.package, version = %installed.version, "fetching a package");
            let got = match tokio::time::timeout(FETCH_TIMEOUT, fetch(&archive, &installed)).await {
                Ok(got) => got.map_err(|e| e.to_string()),
                Err(_) => Err(format!(
                    "fetching {} {} took longer than {} s",
                    installed.package,
                    installed.version,
                    FETCH_TIMEOUT.as_secs()
                )),
            };
            packages.push((installed.clone(), got));
        }
        let (_, got) = packages
            .iter()
            .find(|(p, _)| *p == installed)
            .expect("fetched just above");
        facts.package_files[i].copy = match got {
            Ok((url, package)) => copy_of(&facts.package_files[i], url, package),
            Err(why) => PackageCopy::Failed { why: why.clone() },
        };
    }
}

fn installed(file: &PackageFile) -> Installed {
    Installed {
        package: file.package.clone(),
        version: file.version.clone(),
        architecture: file.architecture.clone(),
        source: file.source.clone(),
    }
}

/// `file`'s member of `package` (fetched from `url`), kept when its checksum is dpkg's record.
fn copy_of(file: &PackageFile, url: &Url, package: &[u8]) -> PackageCopy {
    let member = match deb::member(package, &file.member) {
        Ok(member) => member,
        Err(e) => {
            return PackageCopy::Failed {
                why: format!("{url}: {e}"),
            };
        }
    };
    let sum = format!("{:x}", md5::compute(&member.content));
    if !sum.eq_ignore_ascii_case(&file.md5) {
        return PackageCopy::Failed {
            why: format!(
                "{url} holds {} with checksum {sum}, not the {} the guest's dpkg recorded",
                file.member, file.md5
            ),
        };
    }
    PackageCopy::Fetched {
        from: url.to_string(),
        mode: member.mode,
        gzip_base64: gzip_base64(&member.content),
    }
}

/// `content` gzipped, in base64 lines of 76 characters (the form `base64 -d` reads back).
fn gzip_base64(content: &[u8]) -> Arc<str> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(content).expect("writing to memory");
    let packed = STANDARD.encode(gz.finish().expect("writing to memory"));
    let lines: Vec<&str> = packed
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    lines.join("\n").into()
}

/// The content of a copy that [`gzip_base64`] packed.
pub fn unpacked(gzip_base64: &str) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let packed: String = gzip_base64.lines().collect();
    let packed = STANDARD.decode(packed).map_err(|e| e.to_string())?;
    let mut content = Vec::new();
    flate2::read::GzDecoder::new(&packed[..])
        .read_to_end(&mut content)
        .map_err(|e| e.to_string())?;
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn damaged(md5: &str) -> PackageFile {
        PackageFile::libwrap(md5, PackageCopy::NotFetched)
    }

    /// The copy travels gzipped in base64 lines; the guest's `base64 -d | gzip -dc` gives the
    /// bytes back.
    #[test]
    fn a_copy_reads_back_with_base64_and_gzip() {
        let content: Vec<u8> = (0..5000u32).flat_map(|i| i.to_le_bytes()).collect();
        let text = gzip_base64(&content);
        assert!(text.lines().all(|l| l.len() <= 76));
        let out = std::process::Command::new("sh")
            .args(["-c", "base64 -d | gzip -dc"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(text.as_bytes())
                    .unwrap();
                child.wait_with_output()
            })
            .unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, content);
        assert_eq!(unpacked(&text).unwrap(), content);
        assert!(unpacked("not base64!").is_err());
    }

    /// The real archive (as `archive`'s own test): bookworm's libwrap0, kept with dpkg's
    /// checksum and refused with any other; a distribution with no known archive is said so.
    #[tokio::test]
    async fn a_copy_is_kept_only_with_dpkg_s_checksum() {
        let mut facts = Facts::default();
        facts.os.id = Some("debian".into());
        facts.package_files = vec![
            damaged("6f58e6402397fa27666ecbd6d7ec06ff"),
            damaged("00000000000000000000000000000000"),
        ];
        fetch_copies(&mut facts, &[]).await;
        assert!(
            matches!(&facts.package_files[0].copy, PackageCopy::Fetched { from, .. }
                if from.ends_with("/libwrap0_7.6.q-32_amd64.deb")),
            "{:?}",
            facts.package_files[0].copy
        );
        assert!(
            matches!(&facts.package_files[1].copy, PackageCopy::Failed { why }
                if why.contains("not the 00000000000000000000000000000000")),
            "{:?}",
            facts.package_files[1].copy
        );
        facts.os.id = Some("alpine".into());
        facts.package_files = vec![damaged("x")];
        fetch_copies(&mut facts, &[]).await;
        assert!(
            matches!(&facts.package_files[0].copy, PackageCopy::Failed { why }
            if why.contains("no package archive"))
        );
    }
}
