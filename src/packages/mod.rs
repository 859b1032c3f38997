//! Files as their distribution's packages shipped them, read where lifeline runs: to put back a
//! file the guest can no longer restore itself (a damaged library that its own package tools
//! load).

pub mod archive;
pub mod copies;
pub mod deb;
