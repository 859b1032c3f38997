//! Where a distribution's archive keeps the package a file came from, and fetching it from
//! there: the exact version the guest has installed, so that the file put back is the one dpkg
//! recorded (its checksum is checked against the guest's record before anything is sent).

use azure_core::http::{Method, Request, Url, new_http_client};

/// The largest package lifeline fetches: the libraries and daemons on the login path come in
/// packages of a few MiB; 128 MiB bounds what a mirror can make lifeline hold.
pub const PACKAGE_LIMIT: usize = 128 << 20;

/// A package as the guest's dpkg database has it installed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    pub package: String,
    /// The binary package's version, epoch included (`1:2.3-4+b1`).
    pub version: String,
    pub architecture: String,
    /// The source package (dpkg's `Source:`, the package itself where that is absent).
    pub source: String,
}

impl Installed {
    /// The package's path below a Debian-style archive's root, in `component`:
    /// `pool/main/libw/libwrap/libwrap0_7.6.q-32_amd64.deb`. The file name leaves out the
    /// epoch, and sources whose names start with `lib` are filed under four letters.
    pub fn pool_path(&self, component: &str) -> String {
        let initial = if self.source.starts_with("lib") && self.source.len() > 3 {
            &self.source[..4]
        } else {
            &self.source[..self.source.len().min(1)]
        };
        let version = self
            .version
            .split_once(':')
            .map_or(self.version.as_str(), |(_, v)| v);
        format!(
            "pool/{component}/{initial}/{}/{}_{version}_{}.deb",
            self.source, self.package, self.architecture
        )
    }
}

/// A distribution's archives and their components, for the guest's os-release `ID`.
pub struct Archive {
    pub mirrors: Vec<Url>,
    pub components: &'static [&'static str],
}

const DEBIAN_COMPONENTS: &[&str] = &["main", "contrib", "non-free", "non-free-firmware"];
const UBUNTU_COMPONENTS: &[&str] = &["main", "universe", "restricted", "multiverse"];

impl Archive {
    /// The public archives of the distribution the guest runs, or the operator's own mirrors
    /// (`--package-mirror`) in their place. `None` where lifeline knows no archive for it.
    pub fn for_distribution(os_id: &str, mirrors: &[Url]) -> Option<Archive> {
        let (defaults, components): (&[&str], _) = match os_id {
            "debian" => (
                &[
                    "https://deb.debian.org/debian/",
                    "https://deb.debian.org/debian-security/",
                ],
                DEBIAN_COMPONENTS,
            ),
            "ubuntu" => (
                &[
                    "http://archive.ubuntu.com/ubuntu/",
                    "http://security.ubuntu.com/ubuntu/",
                ],
                UBUNTU_COMPONENTS,
            ),
            _ => return None,
        };
        let mirrors = if mirrors.is_empty() {
            defaults
                .iter()
                .map(|m| Url::parse(m).expect("the built-in archives are URLs"))
                .collect()
        } else {
            mirrors.to_vec()
        };
        Some(Archive {
            mirrors,
            components,
        })
    }

    /// Every place the package may be, most likely first: each mirror's main component, then
    /// the others.
    pub fn candidates(&self, installed: &Installed) -> Vec<Url> {
        let mut urls = Vec::new();
        for component in self.components {
            for mirror in &self.mirrors {
                let mut base = mirror.clone();
                if !base.path().ends_with('/') {
                    base.set_path(&format!("{}/", base.path()));
                }
                if let Ok(url) = base.join(&installed.pool_path(component)) {
                    urls.push(url);
                }
            }
        }
        urls
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("no archive holds {package} {version}: tried {tried}")]
    NotFound {
        package: String,
        version: String,
        tried: String,
    },
    #[error("fetching {url}: {why}")]
    Failed { url: Url, why: String },
}

/// The package from the first place that has it. A 404 moves on to the next; any other
/// failure stops, as the next mirror would most likely fail the same way.
pub async fn fetch(archive: &Archive, installed: &Installed) -> Result<(Url, Vec<u8>), FetchError> {
    let client = new_http_client(None);
    let candidates = archive.candidates(installed);
    for url in &candidates {
        let failed = |why: String| FetchError::Failed {
            url: url.clone(),
            why,
        };
        let request = Request::new(url.clone(), Method::Get);
        let response = client
            .execute_request(&request)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if u16::from(status) == 404 {
            continue;
        }
        if !status.is_success() {
            return Err(failed(format!("HTTP {status}")));
        }
        let body = crate::azure::body::read_bounded(response.into_body(), PACKAGE_LIMIT)
            .await
            .map_err(|e| failed(e.to_string()))?;
        return Ok((url.clone(), body));
    }
    Err(FetchError::NotFound {
        package: installed.package.clone(),
        version: installed.version.clone(),
        tried: candidates
            .iter()
            .map(Url::as_str)
            .collect::<Vec<_>>()
            .join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn installed(package: &str, version: &str, source: &str) -> Installed {
        Installed {
            package: package.into(),
            version: version.into(),
            architecture: "amd64".into(),
            source: source.into(),
        }
    }

    #[test]
    fn pool_paths_follow_the_archive_layout() {
        // Epochs are not in file names; lib* sources are filed under four letters.
        let cases = [
            (
                "libwrap0",
                "7.6.q-32",
                "tcp-wrappers",
                "t/tcp-wrappers/libwrap0_7.6.q-32",
            ),
            (
                "liblzma5",
                "5.4.1-1",
                "xz-utils",
                "x/xz-utils/liblzma5_5.4.1-1",
            ),
            (
                "libpam0g",
                "1.5.2-6+deb12u1",
                "pam",
                "p/pam/libpam0g_1.5.2-6+deb12u1",
            ),
            (
                "libsystemd0",
                "252.39-1~deb12u1",
                "systemd",
                "s/systemd/libsystemd0_252.39-1~deb12u1",
            ),
            (
                "libssl3",
                "1:3.0.17-1~deb12u2",
                "openssl",
                "o/openssl/libssl3_3.0.17-1~deb12u2",
            ),
            (
                "libcap2",
                "1:2.66-4",
                "libcap2",
                "libc/libcap2/libcap2_2.66-4",
            ),
        ];
        for (package, version, source, path) in cases {
            assert_eq!(
                installed(package, version, source).pool_path("main"),
                format!("pool/main/{path}_amd64.deb")
            );
        }
    }

    #[test]
    fn candidates_try_main_on_every_mirror_first() {
        let archive = Archive::for_distribution("debian", &[]).unwrap();
        let urls = archive.candidates(&installed("libwrap0", "7.6.q-32", "tcp-wrappers"));
        assert_eq!(
            urls[0].as_str(),
            "https://deb.debian.org/debian/pool/main/t/tcp-wrappers/libwrap0_7.6.q-32_amd64.deb"
        );
        assert!(
            urls[1]
                .as_str()
                .starts_with("https://deb.debian.org/debian-security/pool/main/")
        );
        assert_eq!(urls.len(), 8);
        let own =
            Archive::for_distribution("debian", &[Url::parse("http://mirror.local/deb").unwrap()])
                .unwrap();
        assert_eq!(
            own.candidates(&installed("x", "1", "x"))[0].as_str(),
            "http://mirror.local/deb/pool/main/x/x/x_1_amd64.deb"
        );
        assert!(Archive::for_distribution("alpine", &[]).is_none());
    }

    /// The real archive: bookworm's libwrap0, the library a breakage of the test guest
    /// damaged, fetched and opened, its file the one the package's checksums name. The test
    /// machine reaches deb.debian.org already: the guest images are built from it.
    #[tokio::test]
    async fn a_package_comes_from_debians_archive_and_opens() {
        let archive = Archive::for_distribution("debian", &[]).unwrap();
        let wanted = installed("libwrap0", "7.6.q-32", "tcp-wrappers");
        let (url, deb) = fetch(&archive, &wanted)
            .await
            .expect("deb.debian.org serves bookworm's libwrap0");
        assert!(
            url.as_str()
                .ends_with("/pool/main/t/tcp-wrappers/libwrap0_7.6.q-32_amd64.deb")
        );
        let lib =
            super::super::deb::member(&deb, "usr/lib/x86_64-linux-gnu/libwrap.so.0.7.6").unwrap();
        assert_eq!(
            (format!("{:x}", md5::compute(&lib.content)), lib.mode),
            ("6f58e6402397fa27666ecbd6d7ec06ff".into(), 0o644)
        );
        let gone = installed("libwrap0", "0.0-0", "tcp-wrappers");
        assert!(matches!(
            fetch(&archive, &gone).await,
            Err(FetchError::NotFound { .. })
        ));
    }
}
