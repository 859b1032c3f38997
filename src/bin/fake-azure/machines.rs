//! The machines the fake knows: plain VMs and scale-set instances, named the way the command
//! line and the control API name them (`SUB/RG/NAME`, `SUB/RG/SCALESET/INSTANCE`).
//!
//! ARM compares subscription, resource-group and resource names without regard to case, so a
//! [`MachineKey`] is lower-case, while [`Machine`] keeps the names as given for the JSON it serves.

use crate::network::Network;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// What the fake plays a machine's serial port with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialSpec {
    /// A qemu serial chardev socket (`unix:PATH`). qemu serves one client at a time, so the fake
    /// keeps one connection per machine, shared by its successive websocket sessions.
    Unix(PathBuf),
    /// A stand-in getty: echoes input and answers `\r` with a login prompt (spec tests).
    Echo,
}

impl FromStr for SerialSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "echo" {
            return Ok(SerialSpec::Echo);
        }
        match s.strip_prefix("unix:") {
            Some(path) if !path.is_empty() => Ok(SerialSpec::Unix(PathBuf::from(path))),
            _ => Err(format!(
                "serial {s:?}: expected unix:/path/to/serial.sock or echo"
            )),
        }
    }
}

/// Which machine: a VM, or one instance of a scale set. Names are as given (not folded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MachineName {
    Vm(String),
    ScaleSetInstance { scale_set: String, instance: String },
}

/// `--vm SUB/RG/NAME=SERIAL` or `--vmss SUB/RG/SCALESET/INSTANCE=SERIAL`.
#[derive(Debug, Clone)]
pub struct MachineSpec {
    pub subscription: String,
    pub resource_group: String,
    pub name: MachineName,
    pub serial: SerialSpec,
    /// The guest's qemu monitor socket (`--monitor`): reset and NMI then act on the guest.
    pub monitor: Option<std::path::PathBuf>,
}

impl MachineSpec {
    pub fn parse_vm(s: &str) -> Result<MachineSpec, String> {
        let (path, serial) = split_serial(s)?;
        match path.as_slice() {
            [sub, rg, vm] => Ok(MachineSpec {
                subscription: sub.clone(),
                resource_group: rg.clone(),
                name: MachineName::Vm(vm.clone()),
                serial,
                monitor: None,
            }),
            _ => Err(format!("--vm {s:?}: expected SUB/RG/NAME=SERIAL")),
        }
    }

    pub fn parse_vmss(s: &str) -> Result<MachineSpec, String> {
        let (path, serial) = split_serial(s)?;
        match path.as_slice() {
            [sub, rg, ss, id] => Ok(MachineSpec {
                subscription: sub.clone(),
                resource_group: rg.clone(),
                name: MachineName::ScaleSetInstance {
                    scale_set: ss.clone(),
                    instance: id.clone(),
                },
                serial,
                monitor: None,
            }),
            _ => Err(format!(
                "--vmss {s:?}: expected SUB/RG/SCALESET/INSTANCE=SERIAL"
            )),
        }
    }

    pub fn key(&self) -> MachineKey {
        let (name, instance) = match &self.name {
            MachineName::Vm(vm) => (vm.as_str(), None),
            MachineName::ScaleSetInstance {
                scale_set,
                instance,
            } => (scale_set.as_str(), Some(instance.as_str())),
        };
        MachineKey::new(&self.subscription, &self.resource_group, name, instance)
    }
}

fn split_serial(s: &str) -> Result<(Vec<String>, SerialSpec), String> {
    let (path, serial) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: missing =SERIAL (unix:PATH or echo)"))?;
    let parts: Vec<String> = path.split('/').map(str::to_owned).collect();
    if parts.iter().any(String::is_empty) {
        return Err(format!("{s:?}: empty name in {path:?}"));
    }
    Ok((parts, serial.parse()?))
}

/// `--monitor SUB/RG/NAME=PATH` or `SUB/RG/SCALESET/INSTANCE=PATH`: the machine's key and its
/// qemu monitor socket.
pub fn parse_monitor(s: &str) -> Result<(MachineKey, std::path::PathBuf), String> {
    let (path, socket) = s
        .split_once('=')
        .ok_or_else(|| format!("--monitor {s:?}: expected SUB/RG/NAME=PATH"))?;
    let parts: Vec<&str> = path.split('/').collect();
    let key = match parts.as_slice() {
        [sub, rg, vm] => MachineKey::new(sub, rg, vm, None),
        [sub, rg, ss, id] => MachineKey::new(sub, rg, ss, Some(id)),
        _ => return Err(format!("--monitor {s:?}: expected SUB/RG/NAME=PATH")),
    };
    Ok((key, socket.into()))
}

/// A machine's identity for lookups: lower-case, as ARM compares names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MachineKey {
    pub subscription: String,
    pub resource_group: String,
    /// The VM name, or the scale set's name.
    pub name: String,
    /// The instance id inside a scale set.
    pub instance: Option<String>,
}

impl MachineKey {
    pub fn new(sub: &str, rg: &str, name: &str, instance: Option<&str>) -> MachineKey {
        MachineKey {
            subscription: sub.to_ascii_lowercase(),
            resource_group: rg.to_ascii_lowercase(),
            name: name.to_ascii_lowercase(),
            instance: instance.map(str::to_ascii_lowercase),
        }
    }

    /// Parses the control API's `SUB/RG/NAME` or `SUB/RG/SCALESET/INSTANCE`.
    pub fn parse(s: &str) -> Option<MachineKey> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [sub, rg, vm] => Some(MachineKey::new(sub, rg, vm, None)),
            [sub, rg, ss, id] => Some(MachineKey::new(sub, rg, ss, Some(id))),
            _ => None,
        }
    }
}

impl fmt::Display for MachineKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.subscription, self.resource_group, self.name
        )?;
        if let Some(id) = &self.instance {
            write!(f, "/{id}")?;
        }
        Ok(())
    }
}

/// A power state, as ARM reports it in `PowerState/<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Running,
    Starting,
    Stopping,
    Stopped,
    Deallocating,
    Deallocated,
}

impl Power {
    pub const ALL: [Power; 6] = [
        Power::Running,
        Power::Starting,
        Power::Stopping,
        Power::Stopped,
        Power::Deallocating,
        Power::Deallocated,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Power::Running => "running",
            Power::Starting => "starting",
            Power::Stopping => "stopping",
            Power::Stopped => "stopped",
            Power::Deallocating => "deallocating",
            Power::Deallocated => "deallocated",
        }
    }

    pub fn display(self) -> String {
        format!("VM {}", self.code())
    }

    /// Whether the machine has a host, and so a serial port the gateway can reach. A stopped VM
    /// stays allocated (az does not reject it); a deallocated one has nothing to connect to.
    pub fn allocated(self) -> bool {
        !matches!(self, Power::Deallocating | Power::Deallocated)
    }

    /// Whether the guest runs and its serial port carries anything.
    pub fn running(self) -> bool {
        self == Power::Running
    }
}

impl FromStr for Power {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Power::ALL
            .into_iter()
            .find(|p| p.code().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<_> = Power::ALL.iter().map(|p| p.code()).collect();
                format!("power state {s:?}: expected one of {}", names.join(", "))
            })
    }
}

/// One machine's mutable record.
#[derive(Debug, Clone)]
pub struct Machine {
    pub spec: MachineSpec,
    pub power: Power,
    pub boot_diagnostics: bool,
    /// A stable per-machine id (`properties.vmId`).
    pub vm_id: String,
    /// NIC, security group, public IP and routes (plain VMs only).
    pub network: Option<Network>,
    /// The loopback port the guest's SSH is forwarded to (`--ssh`), behind the SSH front.
    pub ssh_backend: Option<u16>,
    /// Resource health's `availabilityState`.
    pub health: String,
    /// Whether the guest agent reports Ready in the instance view.
    pub agent_ready: bool,
    /// The in-guest agent's socket (`--agent`): Run Command and VMAccess run through it.
    pub agent: Option<PathBuf>,
    /// A Run Command or extension operation is running: the VM takes one at a time.
    pub agent_busy: bool,
    /// Extensions as ARM shows them (never with their protected settings), by name.
    pub extensions: std::collections::BTreeMap<String, serde_json::Value>,
    /// A file served as the boot diagnostics serial log (`--boot-log`); else the scrollback.
    pub boot_log: Option<PathBuf>,
    /// Where in that file the VM's last start begins: Azure's serial log holds the boots
    /// since then (restarts included), not those before a stop.
    pub boot_log_from: u64,
    /// The admin user and the public keys the VM was created with (`--admin`).
    pub admin: Admin,
}

/// `osProfile`'s admin user and the SSH public keys given at creation.
#[derive(Debug, Clone)]
pub struct Admin {
    pub user: String,
    pub keys: Vec<String>,
}

impl Default for Admin {
    fn default() -> Admin {
        Admin {
            user: "azureuser".into(),
            keys: Vec::new(),
        }
    }
}

impl Machine {
    pub fn new(spec: MachineSpec, vm_id: String, index: u8) -> Machine {
        let network = matches!(spec.name, MachineName::Vm(_)).then(|| Network::new(index, true));
        Machine {
            spec,
            power: Power::Running,
            boot_diagnostics: true,
            vm_id,
            network,
            ssh_backend: None,
            health: "Available".into(),
            agent_ready: true,
            agent: None,
            agent_busy: false,
            extensions: Default::default(),
            boot_log: None,
            boot_log_from: 0,
            admin: Admin::default(),
        }
    }

    /// The name the guest would print before `login:`.
    pub fn host_name(&self) -> String {
        match &self.spec.name {
            MachineName::Vm(vm) => vm.clone(),
            MachineName::ScaleSetInstance {
                scale_set,
                instance,
            } => format!("{scale_set}_{instance}"),
        }
    }

    /// The ARM resource id of the VM or the scale-set instance.
    pub fn resource_id(&self) -> String {
        let base = format!(
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute",
            self.spec.subscription, self.spec.resource_group
        );
        match &self.spec.name {
            MachineName::Vm(vm) => format!("{base}/virtualMachines/{vm}"),
            MachineName::ScaleSetInstance {
                scale_set,
                instance,
            } => format!("{base}/virtualMachineScaleSets/{scale_set}/virtualMachines/{instance}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs_and_keys() {
        let vm = MachineSpec::parse_vm("Sub1/RG/Vm1=echo").unwrap();
        assert_eq!(vm.key(), MachineKey::parse("sub1/rg/VM1").unwrap());
        assert_eq!(vm.key().to_string(), "sub1/rg/vm1");
        let ss = MachineSpec::parse_vmss("s/rg/ss/2=unix:/tmp/x.sock").unwrap();
        assert_eq!(ss.serial, SerialSpec::Unix("/tmp/x.sock".into()));
        assert_eq!(ss.key().instance.as_deref(), Some("2"));
        assert!(MachineSpec::parse_vm("s/rg=echo").is_err());
        assert!(MachineSpec::parse_vm("s/rg/vm=pty").is_err());
        assert!(MachineSpec::parse_vmss("s/rg/ss=echo").is_err());
        assert_eq!("Deallocated".parse::<Power>(), Ok(Power::Deallocated));
    }
}
