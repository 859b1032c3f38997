//! `[defaults]` and `[[target]]`: which console each target is, how to log in on it, what to
//! do there and where SSH should answer afterwards.

use super::error::PlaybookError;
use super::operation::operations;
use super::raw::{RawDefaults, RawTarget, RawVerifyHost, Text};
use super::source::Source;
use super::{Console, Login, Operation, PlaybookTarget};
use crate::azure::VmTarget;
use crate::azure::target::Machine;
use crate::link::LinkSpec;
use std::ops::Range;
use toml::Spanned;

/// `[defaults]`, checked once (so a mistake there is reported even when every target
/// overrides it) and then applied to each target.
pub(super) struct Defaults {
    login: Login,
    subscription: Option<String>,
    operations: Option<Vec<Operation>>,
}

/// What the console ways of naming a target are, for messages.
const CONSOLE_CHOICES: &str =
    "serial, id, resource_group + vm, or resource_group + vmss + instance_id";

pub(super) fn defaults(source: &Source, raw: &RawDefaults) -> Result<Defaults, PlaybookError> {
    if let Some(verify) = &raw.verify_host
        && !matches!(verify.get_ref(), RawVerifyHost::Flag(false))
    {
        return Err(source.error(
            verify.span(),
            "in [defaults], verify_host can only be false: every target answers SSH at its own \
             address, so set verify_host = \"HOST[:PORT]\" in the [[target]]",
        ));
    }
    Ok(Defaults {
        login: login(
            source,
            &raw.user,
            &raw.password_env,
            &raw.password_file,
            &raw.root_password_env,
        )?,
        subscription: optional_text(source, &raw.subscription, "subscription")?,
        operations: raw
            .operations
            .as_ref()
            .map(|list| operations(source, list))
            .transpose()?,
    })
}

/// One target with the defaults applied, and the place its name is written (or its
/// `[[target]]` line when the name is derived), for the checks across targets.
pub(super) fn target(
    source: &Source,
    raw: &Spanned<RawTarget>,
    defaults: &Defaults,
) -> Result<(PlaybookTarget, Range<usize>), PlaybookError> {
    let t = raw.get_ref();
    let console = console(source, raw, defaults)?;
    let own = login(
        source,
        &t.user,
        &t.password_env,
        &t.password_file,
        &t.root_password_env,
    )?;
    let base = &defaults.login;
    let login = Login {
        user: own.user.or_else(|| base.user.clone()),
        password: own.password.or_else(|| base.password.clone()),
        root_password_env: own
            .root_password_env
            .or_else(|| base.root_password_env.clone()),
    };
    let operations = match &t.operations {
        Some(list) => operations(source, list)?,
        None => defaults
            .operations
            .clone()
            .unwrap_or(vec![Operation::Rescue]),
    };
    let (name, at) = match &t.name {
        Some(name) => (source.text(name, "name")?, name.span()),
        None => (derived_name(&console), raw.span()),
    };
    let verify_host = t
        .verify_host
        .as_ref()
        .map(|v| verify_host(source, v))
        .transpose()?
        .flatten();
    let target = PlaybookTarget {
        name,
        console,
        login,
        operations,
        verify_host,
        reset_cmd: optional_text(source, &t.reset_cmd, "reset_cmd")?,
    };
    Ok((target, at))
}

fn login(
    source: &Source,
    user: &Text,
    password_env: &Text,
    password_file: &Text,
    root_password_env: &Text,
) -> Result<Login, PlaybookError> {
    Ok(Login {
        user: optional_text(source, user, "user")?,
        password: source.secret(
            ("password_env", password_env),
            ("password_file", password_file),
        )?,
        root_password_env: root_password_env
            .as_ref()
            .map(|v| source.env_name(v, "root_password_env"))
            .transpose()?,
    })
}

fn optional_text(
    source: &Source,
    value: &Text,
    key: &str,
) -> Result<Option<String>, PlaybookError> {
    value.as_ref().map(|v| source.text(v, key)).transpose()
}

/// Exactly one way of naming the console; the keys that belong to another way are refused
/// rather than ignored, since the target meant is then unclear.
fn console(
    source: &Source,
    raw: &Spanned<RawTarget>,
    defaults: &Defaults,
) -> Result<Console, PlaybookError> {
    let t = raw.get_ref();
    let given: Vec<(&str, &Spanned<String>)> = [
        ("serial", &t.serial),
        ("id", &t.id),
        ("vm", &t.vm),
        ("vmss", &t.vmss),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key, value.as_ref()?)))
    .collect();
    match given[..] {
        [] => Err(source.error(raw.span(), no_console(t))),
        [(first, _), (second, value), ..] => Err(source.error(
            value.span(),
            format!(
                "`{first}` and `{second}` both name this target's console; give exactly one of \
                 {CONSOLE_CHOICES}"
            ),
        )),
        [("serial", value)] => {
            refuse_with(
                source,
                "serial",
                [
                    ("resource_group", &t.resource_group),
                    ("instance_id", &t.instance_id),
                    ("subscription", &t.subscription),
                ],
            )?;
            let spec = source.text(value, "serial")?.parse::<LinkSpec>();
            spec.map(Console::Serial)
                .map_err(|e| source.error(value.span(), e))
        }
        [("id", value)] => {
            refuse_with(
                source,
                "id",
                [
                    ("resource_group", &t.resource_group),
                    ("instance_id", &t.instance_id),
                    ("subscription", &t.subscription),
                ],
            )?;
            VmTarget::from_resource_id(&source.text(value, "id")?)
                .map(Console::AzureId)
                .map_err(|e| source.error(value.span(), e))
        }
        [("vm", value)] => {
            refuse_with(source, "vm", [("instance_id", &t.instance_id)])?;
            Ok(Console::AzureVm {
                subscription: subscription(source, t, defaults)?,
                resource_group: required(source, &t.resource_group, "resource_group", value, "vm")?,
                vm: source.text(value, "vm")?,
            })
        }
        [(_, value)] => Ok(Console::AzureScaleSet {
            subscription: subscription(source, t, defaults)?,
            resource_group: required(source, &t.resource_group, "resource_group", value, "vmss")?,
            scale_set: source.text(value, "vmss")?,
            instance_id: required(source, &t.instance_id, "instance_id", value, "vmss")?,
        }),
    }
}

fn no_console(t: &RawTarget) -> String {
    if t.resource_group.is_some() {
        "`resource_group` names no machine by itself: add vm = \"NAME\", or vmss = \"NAME\" and \
         instance_id = \"N\""
            .into()
    } else {
        format!("this target names no console; give exactly one of {CONSOLE_CHOICES}")
    }
}

/// Refuses the keys of `others` that are given alongside `key`.
fn refuse_with<const N: usize>(
    source: &Source,
    key: &str,
    others: [(&str, &Text); N],
) -> Result<(), PlaybookError> {
    let Some((other, value)) = others
        .into_iter()
        .find_map(|(other, value)| Some((other, value.as_ref()?)))
    else {
        return Ok(());
    };
    let why = match key {
        "id" => "; the resource id already names the subscription, group and machine",
        _ => "",
    };
    Err(source.error(
        value.span(),
        format!("`{other}` does not go with `{key}`{why}"),
    ))
}

/// A key the console needs alongside `key` (whose value is at `beside`).
fn required(
    source: &Source,
    value: &Text,
    name: &str,
    beside: &Spanned<String>,
    key: &str,
) -> Result<String, PlaybookError> {
    match value {
        Some(value) => source.text(value, name),
        None => Err(source.error(beside.span(), format!("`{key}` needs `{name}` beside it"))),
    }
}

fn subscription(
    source: &Source,
    t: &RawTarget,
    defaults: &Defaults,
) -> Result<Option<String>, PlaybookError> {
    Ok(optional_text(source, &t.subscription, "subscription")?
        .or_else(|| defaults.subscription.clone()))
}

/// The name a target is reported under when it has none: the same machine gets the same
/// name however it is written (`rg/vm`, `rg/scale-set/instance`, the serial spec).
pub(super) fn derived_name(console: &Console) -> String {
    match console {
        Console::Serial(spec) => spec.to_string(),
        Console::AzureId(VmTarget {
            resource_group,
            machine,
            ..
        }) => match machine {
            Machine::Vm { name } => format!("{resource_group}/{name}"),
            Machine::ScaleSetInstance {
                scale_set,
                instance,
            } => format!("{resource_group}/{scale_set}/{instance}"),
        },
        Console::AzureVm {
            resource_group, vm, ..
        } => format!("{resource_group}/{vm}"),
        Console::AzureScaleSet {
            resource_group,
            scale_set,
            instance_id,
            ..
        } => format!("{resource_group}/{scale_set}/{instance_id}"),
    }
}

/// `verify_host`: `false` is no verification; a string must look like `host[:port]`.
fn verify_host(
    source: &Source,
    value: &Spanned<RawVerifyHost>,
) -> Result<Option<String>, PlaybookError> {
    match value.get_ref() {
        RawVerifyHost::Flag(false) => Ok(None),
        RawVerifyHost::Flag(true) => Err(source.error(
            value.span(),
            "verify_host = true does not say where SSH should answer; write verify_host = \
             \"HOST[:PORT]\"",
        )),
        RawVerifyHost::Host(host) => {
            check_host_port(host)
                .map(|()| Some(host.clone()))
                .map_err(|why| {
                    source.error(
                        value.span(),
                        format!("verify_host = {host:?} is not HOST[:PORT]: {why}"),
                    )
                })
        }
    }
}

/// `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address.
fn check_host_port(text: &str) -> Result<(), &'static str> {
    if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it is empty or contains spaces");
    }
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (host, after) = rest.split_once(']').ok_or("the [ has no ]")?;
            match after {
                "" => (host, None),
                _ => (
                    host,
                    Some(after.strip_prefix(':').ok_or("write [ADDRESS]:PORT")?),
                ),
            }
        }
        None => match text.split_once(':') {
            Some((host, port)) if !port.contains(':') => (host, Some(port)),
            _ => (text, None),
        },
    };
    if host.is_empty() {
        return Err("the host is empty");
    }
    match port.map(str::parse::<u16>) {
        Some(Ok(0) | Err(_)) => Err("the port is a number from 1 to 65535"),
        _ => Ok(()),
    }
}
