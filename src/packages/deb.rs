//! One file out of a Debian package (`.deb`): an `ar` archive whose `data.tar` member, raw or
//! compressed with xz, zstd or gzip, holds the files as dpkg installs them.
//!
//! Decoders are pure Rust (lzma-rs, ruzstd, flate2), so reading a package needs no C library
//! and no `dpkg-deb` on the operator's machine, which may not run Debian at all.

use std::io::{self, Read};

/// The most a package's data archive may unpack to: far past any library or daemon (the
/// largest in Debian's base system unpack to tens of MiB), and a bound on what a damaged or
/// hostile download can make lifeline hold.
pub const MAX_UNPACKED: u64 = 512 << 20;

#[derive(Debug, thiserror::Error)]
pub enum DebError {
    #[error("not a Debian package: {0}")]
    NotADeb(String),
    #[error("the package's data archive is compressed as {0}, which lifeline cannot read")]
    Compression(String),
    #[error("the package's data archive unpacks past {MAX_UNPACKED} bytes")]
    TooLarge,
    #[error("the package holds no file {0}")]
    NoMember(String),
    #[error("{path} in the package is not a plain file")]
    NotAFile { path: String },
    #[error("reading the package: {0}")]
    Read(#[from] io::Error),
}

/// A file of a package: its content, and the mode the package gives it.
#[derive(Debug)]
pub struct Member {
    pub content: Vec<u8>,
    /// Permission bits (`0o755`), with a set-id bit only where the package's owner for it is
    /// root: a file put back is owned by root, and a set-gid `shadow` program must not become
    /// set-gid root.
    pub mode: u32,
}

/// `mode` with set-uid kept only for uid 0 and set-gid only for gid 0: the owner a file put
/// back gets is root's.
fn owned_by_root(mode: u32, uid: u64, gid: u64) -> u32 {
    let mut mode = mode & 0o7777;
    if uid != 0 {
        mode &= !0o4000;
    }
    if gid != 0 {
        mode &= !0o2000;
    }
    mode
}

/// The file at `path` in the package (as dpkg's `.md5sums` lists it: `usr/lib/…`, with or
/// without a leading `/` or `./`).
pub fn member(deb: &[u8], path: &str) -> Result<Member, DebError> {
    let want = normalise(path);
    let data = data_tar(deb)?;
    let mut archive = tar::Archive::new(data);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = entry.path()?.to_string_lossy().into_owned();
        if normalise(&name) != want {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            return Err(DebError::NotAFile { path: want });
        }
        let header = entry.header();
        let mode = owned_by_root(header.mode()?, header.uid()?, header.gid()?);
        let mut content = Vec::new();
        bounded(&mut entry).read_to_end(&mut content)?;
        return Ok(Member { content, mode });
    }
    Err(DebError::NoMember(want))
}

fn normalise(path: &str) -> String {
    path.trim_start_matches("./").trim_start_matches('/').into()
}

/// The package's data archive, decompressed as it is read.
fn data_tar(deb: &[u8]) -> Result<Box<dyn Read + '_>, DebError> {
    let mut archive = ar::Archive::new(deb);
    let mut first = true;
    while let Some(entry) = archive.next_entry() {
        let entry = entry.map_err(|e| DebError::NotADeb(e.to_string()))?;
        let name = String::from_utf8_lossy(entry.header().identifier()).into_owned();
        if first && name != "debian-binary" {
            return Err(DebError::NotADeb(format!("its first member is {name:?}")));
        }
        first = false;
        let Some(compression) = name.strip_prefix("data.tar") else {
            continue;
        };
        // The ar member borrows the archive: read it whole (compressed, a few MiB at most).
        let mut packed = Vec::new();
        bounded(entry).read_to_end(&mut packed)?;
        let raw: Box<dyn Read> = match compression {
            "" => Box::new(io::Cursor::new(packed)),
            ".gz" => Box::new(flate2::read::GzDecoder::new(io::Cursor::new(packed))),
            ".zst" => Box::new(
                ruzstd::decoding::StreamingDecoder::new(io::Cursor::new(packed))
                    .map_err(|e| DebError::NotADeb(format!("data.tar.zst: {e}")))?,
            ),
            ".xz" => {
                // lzma-rs decodes xz into a writer, not as a reader: unpack into memory,
                // through the bound.
                let mut unpacked = BoundedVec::default();
                lzma_rs::xz_decompress(&mut io::Cursor::new(packed), &mut unpacked).map_err(
                    |e| match e {
                        lzma_rs::error::Error::IoError(e) if e.kind() == io::ErrorKind::Other => {
                            DebError::TooLarge
                        }
                        e => DebError::NotADeb(format!("data.tar.xz: {e}")),
                    },
                )?;
                Box::new(io::Cursor::new(unpacked.0))
            }
            other => return Err(DebError::Compression(format!("data.tar{other}"))),
        };
        return Ok(Box::new(bounded(raw)));
    }
    Err(DebError::NotADeb("it has no data.tar member".into()))
}

/// Reads at most [`MAX_UNPACKED`] bytes, and fails rather than stop short past them.
fn bounded<R: Read>(inner: R) -> impl Read {
    Bounded {
        inner,
        left: MAX_UNPACKED,
    }
}

struct Bounded<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(too_large)?;
        Ok(n)
    }
}

fn too_large() -> io::Error {
    io::Error::other(DebError::TooLarge.to_string())
}

/// A `Vec` that refuses to grow past [`MAX_UNPACKED`].
#[derive(Default)]
struct BoundedVec(Vec<u8>);

impl io::Write for BoundedVec {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if (self.0.len() + buf.len()) as u64 > MAX_UNPACKED {
            return Err(too_large());
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    /// A real package built by dpkg-deb with `compression`, holding a library-like file and a
    /// symlink to it, as a shared library's package does.
    fn build_deb(compression: &str, content: &[u8]) -> Vec<u8> {
        let root = std::env::temp_dir().join(format!(
            "lifeline-deb-{}-{compression}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let lib = root.join("usr/lib/x86_64-linux-gnu");
        std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
        std::fs::create_dir_all(&lib).unwrap();
        std::fs::write(
            root.join("DEBIAN/control"),
            "Package: libdemo1\nVersion: 1.2-3\nArchitecture: amd64\nMaintainer: t <t@t>\n\
             Description: demo\n",
        )
        .unwrap();
        std::fs::write(lib.join("libdemo.so.1.2.3"), content).unwrap();
        // A program's mode: what a file that is gone comes back with.
        std::fs::set_permissions(
            lib.join("libdemo.so.1.2.3"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::os::unix::fs::symlink("libdemo.so.1.2.3", lib.join("libdemo.so.1")).unwrap();
        let deb = PathBuf::from(format!("{}.deb", root.display()));
        let built = Command::new("dpkg-deb")
            .args(["--root-owner-group", &format!("-Z{compression}"), "--build"])
            .arg(&root)
            .arg(&deb)
            .output()
            .expect("dpkg-deb runs (Debian's dpkg)");
        assert!(built.status.success(), "{built:?}");
        let bytes = std::fs::read(&deb).unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        std::fs::remove_file(&deb).unwrap();
        bytes
    }

    fn library_like() -> Vec<u8> {
        // Varied enough that every compressor has work to do.
        (0..200_000u32)
            .flat_map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes())
            .collect()
    }

    #[test]
    fn a_file_comes_out_whole_whatever_the_compression() {
        let content = library_like();
        for compression in ["xz", "zstd", "gzip", "none"] {
            let deb = build_deb(compression, &content);
            for path in [
                "usr/lib/x86_64-linux-gnu/libdemo.so.1.2.3",
                "/usr/lib/x86_64-linux-gnu/libdemo.so.1.2.3",
                "./usr/lib/x86_64-linux-gnu/libdemo.so.1.2.3",
            ] {
                let got = member(&deb, path).unwrap_or_else(|e| panic!("{compression}: {e}"));
                assert!(got.content == content, "{compression}: {path} differs");
                assert_eq!(got.mode, 0o755, "{compression}: {path}'s mode");
            }
        }
    }

    /// unix_chkpwd is set-gid shadow in its package: put back owned by root, it keeps no
    /// set-gid bit; mount, set-uid root, keeps its own.
    #[test]
    fn a_set_id_bit_is_kept_only_for_root() {
        assert_eq!(owned_by_root(0o4755, 0, 0), 0o4755);
        assert_eq!(owned_by_root(0o2755, 0, 42), 0o755);
        assert_eq!(owned_by_root(0o6755, 7, 0), 0o2755);
        assert_eq!(owned_by_root(0o100644, 0, 0), 0o644);
    }

    #[test]
    fn a_missing_file_a_symlink_and_a_non_package_are_errors() {
        let deb = build_deb("xz", b"ELF");
        assert!(matches!(
            member(&deb, "usr/lib/x86_64-linux-gnu/libnone.so"),
            Err(DebError::NoMember(_))
        ));
        assert!(matches!(
            member(&deb, "usr/lib/x86_64-linux-gnu/libdemo.so.1"),
            Err(DebError::NotAFile { .. })
        ));
        assert!(matches!(
            member(b"!<arch>\n", "x"),
            Err(DebError::NotADeb(_))
        ));
        assert!(matches!(
            member(b"not a package", "x"),
            Err(DebError::NotADeb(_))
        ));
    }

    #[test]
    fn a_truncated_package_is_an_error_not_a_short_file() {
        let content = library_like();
        let deb = build_deb("xz", &content);
        let cut = &deb[..deb.len() - 1000];
        assert!(member(cut, "usr/lib/x86_64-linux-gnu/libdemo.so.1.2.3").is_err());
    }
}
