//! `lifeline rescue` (or `lifeline diagnose`) on many targets: several `--ids`, or a playbook
//! (`--targets FILE`, docs/playbook.md). Targets run concurrently, at most `--parallel` at a
//! time; each gets its own console, session and result, and one failing never stops the
//! others. The output is one JSON document (or a text summary) with a result per target, in
//! the order given. A bulk diagnosis reads each playbook target's console and login and runs
//! none of its operations.
//!
//! An Azure target's side (NSG, routes, health, agent, boot log) is read beside its console
//! login, as for one target: a diagnosis joins its findings, a rescue orders its fixes across
//! both, and a target no login reaches is still diagnosed from Azure's side. This machine's
//! side (the key file, known_hosts for the target's SSH address: SSH801-803) joins each
//! target's diagnosis too, as for one target.
//!
//! Every input (passwords, new passwords, key files) is read before the first console is
//! opened, so a typo costs no login; nothing asks on the terminal.
//!
//! Root is reached through the same ladder as for one target. With `--allow-reboot` a target
//! no credential gets into is restarted into the break-in (Azure's reset, or its playbook
//! `reset_cmd`), and a rescue repairs offline first what stops the boot; without it, the
//! target's error names the rung it would need and the flag.

use super::UsageError;
use super::args::{Cli, CloudArgs, DiagnoseArgs, LoginArgs, RescueArgs, TargetArgs};
use super::remedy::{Change, read_keys};
use super::session::{self, Endpoint};
use super::{exit_code_for, password};
use crate::access::{Access, Channel, Need, Secret};
use crate::azure::VmTarget;
use crate::azure::target::Machine;
use crate::diagnose::{Diagnosis, diagnose};
use crate::exit;
use crate::login::client_facts::of_this_user;
use crate::playbook::{self, Console, Operation, Playbook, SecretSource};
use crate::remedy::UserName;
use crate::report::{self, BulkDiagnosis, BulkReport, BulkSummary, OperationResult, TargetResult};
use crate::rescue::cloud::Allowed;
use crate::rescue::{RescueOptions, rescue};
use anyhow::{Result, bail};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::Semaphore;
use tracing::{info, warn};

/// Targets at once when neither `--parallel` nor the playbook says.
const DEFAULT_PARALLEL: usize = 4;

/// One target, ready to run.
struct Job {
    name: String,
    endpoint: Endpoint,
    access: Access,
    steps: Vec<Step>,
    verify_host: Option<String>,
}

enum Step {
    Rescue,
    Diagnose,
    Change { name: &'static str, change: Change },
}

/// What every target's operations share.
struct Shared {
    dry_run: bool,
    ssh_user: Option<String>,
    verify_key: Option<russh::keys::PrivateKey>,
    /// The key file this machine's ssh would use (`--login-key`, `--verify-key`), judged per
    /// target with known_hosts for its address.
    key_file: Option<std::path::PathBuf>,
    /// Azure's side: the client's address, --guest-only, --allow-redeploy.
    cloud: CloudArgs,
}

pub async fn run(cli: &Cli, args: &RescueArgs) -> Result<u8> {
    if !args.change.yes && !args.change.dry_run {
        bail!(UsageError(
            "with several targets lifeline never asks: pass --yes to apply, or --dry-run to see the plans"
                .into()
        ));
    }
    if args.ssh_key_file.is_some() {
        bail!(UsageError(
            "--ssh-key-file rescues one target; for several, give each a reset-key operation in a playbook".into()
        ));
    }
    let (jobs, playbook_parallel) = match &args.targets {
        Some(path) => {
            let playbook = load(path)?;
            let jobs = from_playbook(cli, &playbook, |t| {
                t.operations.iter().map(prepare).collect()
            })?;
            (jobs, playbook.parallel)
        }
        None => (
            from_ids(cli, args.verify_host.as_deref(), || Step::Rescue)?,
            None,
        ),
    };
    let shared = Shared {
        dry_run: args.change.dry_run,
        ssh_user: args.ssh_user.clone(),
        verify_key: super::rescue::verify_key(args)?,
        key_file: args.verify_key.clone(),
        cloud: args.cloud.clone(),
    };
    let parallel = args.parallel.map(usize::from).or(playbook_parallel);
    Ok(run_and_report(cli, jobs, parallel, shared).await)
}

/// `lifeline diagnose` on several `--ids` or a playbook's targets (their operations are not
/// run: a diagnosis changes nothing).
pub async fn diagnose_all(cli: &Cli, args: &DiagnoseArgs) -> Result<u8> {
    let (jobs, playbook_parallel) = match &args.targets {
        Some(path) => {
            let playbook = load(path)?;
            let jobs = from_playbook(cli, &playbook, |_| Ok(vec![Step::Diagnose]))?;
            (jobs, playbook.parallel)
        }
        None => (from_ids(cli, None, || Step::Diagnose)?, None),
    };
    let shared = Shared {
        dry_run: true,
        ssh_user: args.ssh_user.clone(),
        verify_key: None,
        key_file: args.login_key.clone(),
        cloud: args.cloud.clone(),
    };
    let parallel = args.parallel.map(usize::from).or(playbook_parallel);
    Ok(run_and_report(cli, jobs, parallel, shared).await)
}

fn load(path: &Path) -> Result<Playbook> {
    Playbook::load(path).map_err(|e| UsageError(e.to_string()).into())
}

/// Runs the jobs, prints the report, and returns the exit code.
async fn run_and_report(cli: &Cli, jobs: Vec<Job>, parallel: Option<usize>, shared: Shared) -> u8 {
    let parallel = parallel.unwrap_or(DEFAULT_PARALLEL);
    let started = Instant::now();
    let targets = run_all(jobs, parallel, shared).await;
    let ok = targets.iter().filter(|t| t.ok).count();
    let report = BulkReport {
        ok: ok == targets.len(),
        parallel,
        summary: BulkSummary {
            targets: targets.len(),
            ok,
            failed: targets.len() - ok,
        },
        targets,
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    print!("{}", report::render(&report, cli.output.into()));
    if report.ok { exit::OK } else { exit::PROBLEMS }
}

/// Runs every job, at most `parallel` at once; results come back in the jobs' order.
async fn run_all(jobs: Vec<Job>, parallel: usize, shared: Shared) -> Vec<TargetResult> {
    let permits = Arc::new(Semaphore::new(parallel));
    let shared = Arc::new(shared);
    let total = jobs.len();
    let handles: Vec<_> = jobs
        .into_iter()
        .enumerate()
        .map(|(n, job)| {
            let permits = permits.clone();
            let shared = shared.clone();
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("never closed");
                eprintln!("lifeline: [{}/{total}] {}: starting", n + 1, job.name);
                let result = run_job(job, &shared).await;
                let state = if result.ok { "ok" } else { "FAILED" };
                eprintln!(
                    "lifeline: [{}/{total}] {}: {state} in {:.1} s",
                    n + 1,
                    result.name,
                    result.elapsed_ms as f64 / 1000.0
                );
                result
            })
        })
        .collect();
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        match handle.await {
            Ok(result) => results.push(result),
            // A panic in one target's task is that target's failure, not the run's.
            Err(e) => results.push(TargetResult {
                name: "?".into(),
                target: String::new(),
                ok: false,
                exit_code: exit::SOFTWARE,
                error: Some(format!("internal error: {e}")),
                operations: Vec::new(),
                elapsed_ms: 0,
            }),
        }
    }
    results
}

async fn run_job(job: Job, shared: &Shared) -> TargetResult {
    let started = Instant::now();
    let mut result = TargetResult {
        name: job.name.clone(),
        target: session::target_description(&job.endpoint.target),
        ok: false,
        exit_code: exit::OK,
        error: None,
        operations: Vec::new(),
        elapsed_ms: 0,
    };
    // A rescue repairs what stops the boot in the break-in's offline shell, as for one target.
    let rescues = job.steps.iter().any(|s| matches!(s, Step::Rescue));
    // Azure's facts are read while the console logs in.
    let (cloud, opened) = tokio::join!(
        super::azure::cloud_side(&job.endpoint.target, &shared.cloud),
        session::open_with(&job.endpoint, &job.access, Need::Root, rescues)
    );
    // This machine's side, for the address ssh would connect to.
    let address = job
        .verify_host
        .clone()
        .or_else(|| cloud.as_ref().and_then(|side| side.facts.ssh_address()));
    let client = of_this_user(shared.key_file.as_deref(), address.as_deref());
    match opened {
        Err(e) => {
            warn!(target = %job.name, "could not reach a root shell: {e:#}");
            result.exit_code = exit_code_for(&e);
            result.error = Some(format!("{e:#}"));
            // No way into the guest: a diagnosis still reports Azure's side.
            if let Some(cloud) = cloud
                && job.steps.iter().any(|s| matches!(s, Step::Diagnose))
            {
                let diagnosis = Diagnosis::cloud_only(cloud.facts, format!("{e:#}"));
                result
                    .operations
                    .push(diagnosed(&diagnosis.with_client(&client)));
            }
        }
        Ok(mut opened) => {
            let options = RescueOptions {
                client: Some(client),
                verify_host: job.verify_host.clone(),
                verify_key: shared.verify_key.clone(),
                dry_run: shared.dry_run,
                cloud,
                allowed: Allowed {
                    reboot: job.endpoint.login.allow_reboot,
                    redeploy: shared.cloud.allow_redeploy,
                },
                package_mirrors: job.access.package_mirrors.clone(),
                ..RescueOptions::new(shared.ssh_user.as_deref(), &job.access.credentials)
            };
            let offline =
                super::rescue::offline_part(&mut opened.channel, &options, &mut |_, _| true).await;
            let offline = match offline {
                Ok(offline) => offline,
                Err(e) => {
                    if let Err(left) = opened.channel.close().await {
                        warn!(target = %job.name, "leaving the console: {left}");
                    }
                    result.exit_code = exit_code_for(&e);
                    result.error = Some(format!("{e:#}"));
                    result.elapsed_ms = started.elapsed().as_millis() as u64;
                    return result;
                }
            };
            for step in &job.steps {
                let done = run_step(&mut opened.channel, step, &options, &result.target).await;
                let failed = !done.ok;
                result.operations.push(done);
                if failed {
                    break;
                }
            }
            if let Err(e) = opened.channel.close().await {
                warn!(target = %job.name, "leaving the console: {e}");
            }
            if let Some(round) = offline
                && let Some(op) = result.operations.iter_mut().find(|o| o.rescue.is_some())
            {
                op.rescue = op.rescue.take().map(|r| r.with_offline(round));
            }
            result.ok = result.operations.iter().all(|o| o.ok);
            result.exit_code = if result.ok { exit::OK } else { exit::PROBLEMS };
        }
    }
    result.elapsed_ms = started.elapsed().as_millis() as u64;
    info!(target = %result.name, ok = result.ok, "target done");
    result
}

impl OperationResult {
    fn failed(step: &Step, error: String) -> OperationResult {
        OperationResult {
            operation: match step {
                Step::Rescue => "rescue",
                Step::Diagnose => "diagnose",
                Step::Change { name, .. } => name,
            },
            ok: false,
            rescue: None,
            diagnosis: None,
            outcome: None,
            script: None,
            error: Some(error),
        }
    }
}

/// A diagnose operation's result: ok when SSH is healthy, as `lifeline diagnose` exits 0.
fn diagnosed(diagnosis: &Diagnosis) -> OperationResult {
    OperationResult {
        ok: diagnosis.healthy(),
        diagnosis: Some(BulkDiagnosis::of(diagnosis)),
        error: None,
        ..OperationResult::failed(&Step::Diagnose, String::new())
    }
}

async fn run_step(
    channel: &mut Channel,
    step: &Step,
    options: &RescueOptions,
    target: &str,
) -> OperationResult {
    let mut done = OperationResult::failed(step, String::new());
    done.error = None;
    // A diagnosis runs on any channel (the console or the guest agent); the rest need the
    // console's session.
    if let Step::Diagnose = step {
        let cloud = options.cloud.as_ref().map(|c| c.facts.clone());
        return match diagnose(channel, &options.user).await {
            Ok(diagnosis) => {
                let diagnosis = diagnosis.with_cloud(cloud);
                diagnosed(&match &options.client {
                    Some(client) => diagnosis.with_client(client),
                    None => diagnosis,
                })
            }
            Err(e) => OperationResult::failed(step, e.to_string()),
        };
    }
    let session = match channel.session() {
        Ok(session) => session,
        Err(e) => return OperationResult::failed(step, e.to_string()),
    };
    match step {
        Step::Diagnose => {}
        Step::Rescue => match rescue(session, options, &mut |_, _| true).await {
            Ok(mut report) => {
                report.target = target.to_string();
                done.ok = report.verified;
                done.rescue = Some(report);
            }
            Err(e) => done.error = Some(e.to_string()),
        },
        Step::Change { change, .. } => match change.plan(session).await {
            Ok(plan) if options.dry_run => {
                done.ok = true;
                done.script = Some(plan.script());
            }
            Ok(plan) => match plan.apply(session).await {
                Ok(outcome) => {
                    done.ok = outcome.succeeded();
                    done.outcome = Some(outcome);
                }
                Err(e) => done.error = Some(e.to_string()),
            },
            Err(e) => done.error = Some(format!("{e:#}")),
        },
    }
    done
}

/// `--ids A --ids B …`: `step` on each, with the command line's login.
fn from_ids(cli: &Cli, verify_host: Option<&str>, step: fn() -> Step) -> Result<Vec<Job>> {
    if verify_host.is_some() {
        bail!(UsageError(
            "--verify-host names one host; with several targets give each its verify_host in a playbook (--targets)"
                .into()
        ));
    }
    if cli.login.reset_cmd.is_some() {
        bail!(UsageError(
            "--reset-cmd restarts one target; for several, give each its reset_cmd in a playbook (--targets)"
                .into()
        ));
    }
    let access = session::access(&cli.login, false)?;
    cli.target
        .ids
        .iter()
        .map(|id| {
            let target = TargetArgs {
                ids: vec![id.clone()],
                ..cli.target.clone()
            };
            Ok(Job {
                // RG/VM, as a playbook names it: VM names repeat across resource groups.
                name: VmTarget::from_resource_id(id)
                    .map(|t| match t.machine {
                        Machine::Vm { name } => format!("{}/{name}", t.resource_group),
                        Machine::ScaleSetInstance {
                            scale_set,
                            instance,
                        } => format!("{}/{scale_set}/{instance}", t.resource_group),
                    })
                    .unwrap_or_else(|_| id.clone()),
                endpoint: endpoint(cli, target, cli.login.clone(), id),
                access: access.clone(),
                steps: vec![step()],
                verify_host: None,
            })
        })
        .collect()
}

/// The playbook's targets, each with the steps `steps` makes of it.
fn from_playbook(
    cli: &Cli,
    playbook: &Playbook,
    steps: impl Fn(&playbook::PlaybookTarget) -> Result<Vec<Step>>,
) -> Result<Vec<Job>> {
    playbook
        .targets
        .iter()
        .map(|t| {
            let target = target_args(cli, &t.console);
            let login = LoginArgs {
                allow_reboot: cli.login.allow_reboot,
                reset_cmd: t.reset_cmd.clone(),
                package_mirror: cli.login.package_mirror.clone(),
                ..login_args(&t.login)
            };
            let access =
                session::access(&login, false).map_err(|e| anyhow::anyhow!("{}: {e:#}", t.name))?;
            let steps = steps(t).map_err(|e| anyhow::anyhow!("{}: {e:#}", t.name))?;
            Ok(Job {
                name: t.name.clone(),
                endpoint: endpoint(cli, target, login, &t.name),
                access,
                steps,
                verify_host: t.verify_host.clone(),
            })
        })
        .collect()
}

fn endpoint(cli: &Cli, target: TargetArgs, login: LoginArgs, name: &str) -> Endpoint {
    Endpoint {
        target,
        login,
        record: cli.record.as_deref().map(|p| per_target(p, name)),
        timeouts: session::timeouts(cli),
        timings: cli.timings,
    }
}

/// `--record run.cast` with several targets: `run.NAME.cast` for each.
fn per_target(path: &Path, name: &str) -> std::path::PathBuf {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}.{safe}.cast"))
}

/// The playbook's console as the command line's target flags; Azure settings (auth, cloud,
/// endpoints) and the default subscription come from the command line.
fn target_args(cli: &Cli, console: &Console) -> TargetArgs {
    let shared = TargetArgs {
        serial: None,
        resource_group: None,
        name: None,
        ids: Vec::new(),
        vmss: None,
        instance_id: None,
        ..cli.target.clone()
    };
    match console {
        Console::Serial(spec) => TargetArgs {
            serial: Some(spec.clone()),
            ..shared
        },
        Console::AzureId(vm) => TargetArgs {
            ids: vec![format!("/{}", vm.resource_path())],
            ..shared
        },
        Console::AzureVm {
            subscription,
            resource_group,
            vm,
        } => TargetArgs {
            subscription: subscription.clone().or(shared.subscription.clone()),
            resource_group: Some(resource_group.clone()),
            name: Some(vm.clone()),
            ..shared
        },
        Console::AzureScaleSet {
            subscription,
            resource_group,
            scale_set,
            instance_id,
        } => TargetArgs {
            subscription: subscription.clone().or(shared.subscription.clone()),
            resource_group: Some(resource_group.clone()),
            vmss: Some(scale_set.clone()),
            instance_id: Some(instance_id.clone()),
            ..shared
        },
    }
}

fn login_args(login: &playbook::Login) -> LoginArgs {
    let (password_env, password_file) = match &login.password {
        Some(SecretSource::Env(var)) => (Some(var.clone()), None),
        Some(SecretSource::File(path)) => (None, Some(path.clone())),
        None => (None, None),
    };
    LoginArgs {
        user: login.user.clone(),
        password_env,
        password_file,
        root_password_env: login.root_password_env.clone(),
        ..LoginArgs::default()
    }
}

/// Reads what an operation needs (new passwords, key files) and checks the user name.
fn prepare(operation: &Operation) -> Result<Step> {
    let secret = |source: &SecretSource| -> Result<Secret> {
        match source {
            SecretSource::Env(var) => password::from_env(var),
            SecretSource::File(path) => password::from_file(path),
        }
    };
    let change = match operation {
        Operation::Rescue => return Ok(Step::Rescue),
        Operation::ResetSsh { keep_ports } => Change::ResetSsh {
            keep_ports: *keep_ports,
        },
        Operation::ResetPassword { user, password } => Change::ResetPassword {
            user: UserName::new(user)?,
            password: secret(password)?,
        },
        Operation::ResetKey { user, ssh_key_file } => Change::ResetKey {
            user: UserName::new(user)?,
            keys: read_keys(ssh_key_file)?,
            replace: false,
        },
        Operation::AddUser {
            user,
            sudo,
            ssh_key_file,
            password,
        } => Change::AddUser {
            user: UserName::new(user)?,
            sudo: *sudo,
            keys: ssh_key_file.as_deref().map(read_keys).transpose()?,
            password: password.as_ref().map(secret).transpose()?,
        },
        Operation::RemoveUser { user } => Change::RemoveUser {
            user: UserName::new(user)?,
        },
    };
    Ok(Step::Change {
        name: operation.name(),
        change,
    })
}
