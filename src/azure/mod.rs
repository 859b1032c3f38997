//! The Azure Serial Console: credentials, ARM, the websocket session and admin commands.
//!
//! The path: a credential ([`credential`]) gets an ARM token; the ARM client ([`arm`]) checks
//! that the console can work ([`precheck`]) and asks `serialPorts/0/connect` for a session URL;
//! [`websocket`] opens it, answers the gateway's challenge with the token and carries the
//! serial bytes; [`console_link`] turns that into a [`crate::link::Link`] that reconnects on its
//! own, so every console feature works over Azure unchanged. [`admin`] sends NMI, SysRq and
//! reset, which are HTTPS calls beside the websocket, not websocket messages.
//!
//! Beside the console, [`observe`] reads the VM's [`facts::CloudFacts`] (network path in,
//! health, agent, boot log) through ARM, polling long-running operations with [`lro`]; and
//! [`agent`] reaches inside the guest without the console (Run Command, VMAccessForLinux);
//! [`power`] restarts, redeploys and starts the VM.

pub mod admin;
pub mod agent;
pub mod arm;
pub mod body;
pub mod boot_log;
pub mod cloud;
pub mod console_link;
pub mod credential;
pub mod facts;
mod lro;
pub mod observe;
pub mod power;
pub mod precheck;
pub mod sign_in;
pub mod target;
pub mod watcher;
pub mod websocket;

pub use arm::{ArmClient, ArmError};
pub use cloud::Cloud;
pub use credential::AuthMethod;
pub use target::VmTarget;
