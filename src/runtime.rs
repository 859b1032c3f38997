//! What both binaries (`lifeline` and `fake-azure`) set up before any work: the process-wide
//! TLS provider and the async runtime.

use tokio::runtime::Runtime;

/// Installs the TLS provider and builds the runtime (two workers: the work is I/O-bound).
pub fn start() -> std::io::Result<Runtime> {
    // Both ring and aws-lc-rs may end up compiled in through dependencies; rustls refuses to
    // choose between them, so name the process-wide provider once, before any TLS.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}
