//! What can be wrong with a playbook, said the way a compiler says it: `FILE:LINE:COLUMN:
//! message`, so an editor can jump to the place and a sysadmin need not count lines.

use std::path::PathBuf;

/// Why a playbook was refused. Nothing has been done to any machine when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum PlaybookError {
    #[error("could not read the playbook {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{}: the playbook is larger than 1 MiB; split the targets over several playbooks",
        path.display()
    )]
    TooLarge { path: PathBuf },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}
