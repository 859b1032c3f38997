//! The SSH front: a TCP listener on loopback that plays a VM's public address on port 22 and
//! forwards to the guest's SSH port, but only for connections its network security group
//! admits, judged on each connection's real client address. A deny rule on 22 therefore
//! really breaks SSH, and the allow rule that fixes it really brings it back.
//!
//! A denied connection is closed at once: the real NSG drops packets silently and clients
//! time out, which would only make tests slow. A redeploy moves the VM to a new address, so
//! the front moves to a new port and the old one stops answering.

use crate::machines::MachineKey;
use crate::state::Fake;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tracing::{debug, info, warn};

/// The port sshd listens on inside the guest, behind the forwarded port.
const GUEST_SSH_PORT: u16 = 22;

/// The running fronts, one per VM with a public address and a forwarded SSH port.
#[derive(Default)]
pub struct Fronts {
    running: Mutex<HashMap<MachineKey, AbortHandle>>,
}

impl Fronts {
    /// Opens (or moves) the front of `key`, forwarding to `backend` on loopback; returns the
    /// new port. The previous front of the machine, if any, stops.
    pub async fn open(fake: &Arc<Fake>, key: &MachineKey, backend: u16) -> std::io::Result<u16> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let port = listener.local_addr()?.port();
        let task = tokio::spawn(serve(Arc::clone(fake), key.clone(), listener, backend));
        if let Some(old) = fake
            .fronts
            .running
            .lock()
            .expect("fronts lock")
            .insert(key.clone(), task.abort_handle())
        {
            old.abort();
        }
        info!(vm = %key, port, backend, "SSH front open");
        Ok(port)
    }
}

async fn serve(fake: Arc<Fake>, key: MachineKey, listener: TcpListener, backend: u16) {
    loop {
        let (client, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                warn!("SSH front accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        if !admitted(&fake, &key, peer) {
            fake.world().counters.nsg_denied += 1;
            debug!(vm = %key, %peer, "NSG denies the connection");
            drop(client);
            continue;
        }
        fake.world().counters.nsg_admitted += 1;
        tokio::spawn(forward(client, backend));
    }
}

fn admitted(fake: &Fake, key: &MachineKey, peer: SocketAddr) -> bool {
    let IpAddr::V4(client) = peer.ip() else {
        return false;
    };
    let w = fake.world();
    w.machines
        .get(key)
        .and_then(|m| m.network.as_ref())
        .is_some_and(|n| n.admits(client, GUEST_SSH_PORT))
}

async fn forward(mut client: TcpStream, backend: u16) {
    match TcpStream::connect((Ipv4Addr::LOCALHOST, backend)).await {
        Ok(mut guest) => {
            let _ = tokio::io::copy_bidirectional(&mut client, &mut guest).await;
        }
        Err(e) => debug!(backend, "the guest's SSH port does not answer: {e}"),
    }
}
