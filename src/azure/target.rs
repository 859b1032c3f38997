//! Which machine: a VM or a scale-set instance, from names or from a resource id.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Machine {
    Vm { name: String },
    ScaleSetInstance { scale_set: String, instance: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VmTarget {
    pub subscription: String,
    pub resource_group: String,
    pub machine: Machine,
}

impl VmTarget {
    /// Parses `/subscriptions/S/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/VM`
    /// or `…/virtualMachineScaleSets/SS/virtualMachines/N`.
    pub fn from_resource_id(id: &str) -> Result<VmTarget, String> {
        let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
        let lower: Vec<String> = parts.iter().map(|p| p.to_ascii_lowercase()).collect();
        let at = |i: usize, want: &str| lower.get(i).map(String::as_str) == Some(want);
        let bad = || {
            format!(
                "{id:?} is not a VM resource id; expected /subscriptions/SUB/resourceGroups/RG/providers/\
                 Microsoft.Compute/virtualMachines/VM or …/virtualMachineScaleSets/SS/virtualMachines/N"
            )
        };
        if !(at(0, "subscriptions")
            && at(2, "resourcegroups")
            && at(4, "providers")
            && at(5, "microsoft.compute"))
        {
            return Err(bad());
        }
        let machine = match (parts.len(), lower.get(6).map(String::as_str)) {
            (8, Some("virtualmachines")) => Machine::Vm {
                name: parts[7].into(),
            },
            (10, Some("virtualmachinescalesets")) if at(8, "virtualmachines") => {
                Machine::ScaleSetInstance {
                    scale_set: parts[7].into(),
                    instance: parts[9].into(),
                }
            }
            _ => return Err(bad()),
        };
        Ok(VmTarget {
            subscription: parts[1].into(),
            resource_group: parts[3].into(),
            machine,
        })
    }

    /// The ARM path of the machine (no leading slash), with literal slashes for scale sets.
    pub fn resource_path(&self) -> String {
        let base = format!(
            "subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute",
            self.subscription, self.resource_group
        );
        match &self.machine {
            Machine::Vm { name } => format!("{base}/virtualMachines/{name}"),
            Machine::ScaleSetInstance {
                scale_set,
                instance,
            } => {
                format!("{base}/virtualMachineScaleSets/{scale_set}/virtualMachines/{instance}")
            }
        }
    }

    /// The `az` arguments naming the machine, for commands we suggest to the user.
    pub fn az_args(&self) -> String {
        match &self.machine {
            Machine::Vm { name } => format!("-g {} -n {}", self.resource_group, name),
            Machine::ScaleSetInstance {
                scale_set,
                instance,
            } => format!(
                "-g {} --name {} --instance-id {}",
                self.resource_group, scale_set, instance
            ),
        }
    }
}

impl fmt::Display for VmTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.machine {
            Machine::Vm { name } => write!(f, "VM {}/{}", self.resource_group, name),
            Machine::ScaleSetInstance {
                scale_set,
                instance,
            } => {
                write!(
                    f,
                    "scale-set instance {}/{}/{}",
                    self.resource_group, scale_set, instance
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_and_scale_set_ids() {
        let vm = VmTarget::from_resource_id(
            "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1",
        )
        .unwrap();
        assert_eq!(vm.machine, Machine::Vm { name: "vm1".into() });
        assert_eq!(
            vm.resource_path(),
            "subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
        );
        let ss = VmTarget::from_resource_id(
            "/subscriptions/s1/resourcegroups/rg1/providers/microsoft.compute/virtualMachineScaleSets/ss/virtualMachines/3",
        )
        .unwrap();
        assert!(
            ss.resource_path()
                .ends_with("virtualMachineScaleSets/ss/virtualMachines/3")
        );
    }

    #[test]
    fn rejects_other_resources() {
        for id in [
            "/subscriptions/s1/resourceGroups/rg1",
            "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/x/y",
        ] {
            assert!(VmTarget::from_resource_id(id).is_err(), "{id}");
        }
    }
}
