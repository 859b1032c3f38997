use super::*;
use crate::azure::target::Machine;

const PATH: &str = "/srv/fleet/fleet.toml";

fn parse(text: &str) -> Playbook {
    Playbook::parse(text, Path::new(PATH)).unwrap_or_else(|e| panic!("{e}"))
}

/// The error for `text`, with its location checked: `PATH:line:column: …`.
fn error_at(text: &str, line: usize, column: usize) -> String {
    let e = Playbook::parse(text, Path::new(PATH)).expect_err(text);
    let message = e.to_string();
    let prefix = format!("{PATH}:{line}:{column}: ");
    assert!(
        message.starts_with(&prefix),
        "want {prefix}…, got {message}"
    );
    message
}

fn vm(rg: &str, name: &str) -> Console {
    Console::AzureVm {
        subscription: None,
        resource_group: rg.into(),
        vm: name.into(),
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/playbooks")
        .join(name)
}

#[test]
fn the_documented_example_parses_into_the_expected_targets() {
    let path = fixture("example.toml");
    let book = Playbook::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let dir = path.parent().unwrap();
    let sub0 = "00000000-0000-0000-0000-000000000000";
    let fleet_login = Login {
        user: Some("azureuser".into()),
        password: Some(SecretSource::Env("VM_PASSWORD".into())),
        root_password_env: Some("ROOT_PW".into()),
    };
    let azure = |name: &str, console: Console| PlaybookTarget {
        name: name.into(),
        console,
        login: fleet_login.clone(),
        operations: vec![Operation::Rescue],
        verify_host: None,
        reset_cmd: None,
    };
    let expected = Playbook {
        path: path.clone(),
        parallel: Some(4),
        targets: vec![
            azure(
                "web-1",
                Console::AzureId(VmTarget {
                    subscription: sub0.into(),
                    resource_group: "rg-web".into(),
                    machine: Machine::Vm {
                        name: "web-1".into(),
                    },
                }),
            ),
            azure(
                "rg-web/web-2",
                Console::AzureVm {
                    subscription: Some(sub0.into()),
                    resource_group: "rg-web".into(),
                    vm: "web-2".into(),
                },
            ),
            azure(
                "rg-web/pool/3",
                Console::AzureScaleSet {
                    subscription: Some("11111111-1111-1111-1111-111111111111".into()),
                    resource_group: "rg-web".into(),
                    scale_set: "pool".into(),
                    instance_id: "3".into(),
                },
            ),
            PlaybookTarget {
                name: "vm9".into(),
                console: Console::Serial(LinkSpec::Unix("/run/qemu/vm9.sock".into())),
                login: Login {
                    user: Some("root".into()),
                    password: Some(SecretSource::File(dir.join("secrets/vm9.pw"))),
                    root_password_env: Some("ROOT_PW".into()),
                },
                operations: vec![
                    Operation::ResetSsh { keep_ports: true },
                    Operation::ResetPassword {
                        user: "alice".into(),
                        password: SecretSource::Env("ALICE_PW".into()),
                    },
                    Operation::ResetKey {
                        user: "alice".into(),
                        ssh_key_file: dir.join("keys/alice.pub"),
                    },
                    Operation::AddUser {
                        user: "rescuer".into(),
                        sudo: true,
                        ssh_key_file: Some(dir.join("keys/rescuer.pub")),
                        password: Some(SecretSource::Env("RESCUER_PW".into())),
                    },
                    Operation::RemoveUser {
                        user: "olduser".into(),
                    },
                    Operation::Rescue,
                ],
                verify_host: Some("10.0.0.9:22".into()),
                reset_cmd: Some("virsh reset vm9".into()),
            },
        ],
    };
    assert_eq!(book, expected);
}

#[test]
fn the_docs_show_the_example_fixture_verbatim() {
    let docs =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/playbook.md"))
            .unwrap();
    let example = std::fs::read_to_string(fixture("example.toml")).unwrap();
    assert!(
        docs.contains(&format!("```toml\n{example}```")),
        "docs/playbook.md must show fixtures/playbooks/example.toml in a ```toml block"
    );
}

#[test]
fn defaults_apply_to_every_target_and_each_target_can_override_them() {
    let book = parse(
        r#"
[defaults]
user = "azureuser"
password_env = "PW"
root_password_env = "ROOT_PW"
subscription = "sub-a"
operations = [{ op = "reset-ssh", keep_ports = true }]

[[target]]
resource_group = "rg"
vm = "plain"

[[target]]
resource_group = "rg"
vm = "own"
subscription = "sub-b"
user = "admin"
password_file = "/etc/pw"
operations = ["rescue"]
"#,
    );
    let [plain, own] = &book.targets[..] else {
        panic!("{book:?}")
    };
    assert_eq!(
        plain.login,
        Login {
            user: Some("azureuser".into()),
            password: Some(SecretSource::Env("PW".into())),
            root_password_env: Some("ROOT_PW".into()),
        }
    );
    assert_eq!(plain.operations, [Operation::ResetSsh { keep_ports: true }]);
    assert!(
        matches!(&plain.console, Console::AzureVm { subscription: Some(s), .. } if s == "sub-a")
    );
    // A password file on the target replaces the default's variable: no conflict across levels.
    assert_eq!(
        own.login,
        Login {
            user: Some("admin".into()),
            password: Some(SecretSource::File("/etc/pw".into())),
            root_password_env: Some("ROOT_PW".into()),
        }
    );
    assert_eq!(own.operations, [Operation::Rescue]);
    assert!(matches!(&own.console, Console::AzureVm { subscription: Some(s), .. } if s == "sub-b"));
    assert_eq!(book.parallel, None);
}

#[test]
fn without_any_operations_a_target_is_rescued() {
    let book = parse("[[target]]\nserial = \"tcp:127.0.0.1:4555\"\n");
    assert_eq!(book.targets[0].operations, [Operation::Rescue]);
    assert_eq!(book.targets[0].login, Login::default());
}

#[test]
fn names_are_derived_from_the_console_when_not_given() {
    let book = parse(
        r#"
[[target]]
serial = "cmd:virsh console vm1"
[[target]]
id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-1"
[[target]]
resource_group = "rg"
vm = "web-2"
[[target]]
resource_group = "rg"
vmss = "pool"
instance_id = "3"
[[target]]
id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/pool/virtualMachines/4"
"#,
    );
    let names: Vec<&str> = book.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cmd:virsh console vm1",
            "rg/web-1",
            "rg/web-2",
            "rg/pool/3",
            "rg/pool/4"
        ]
    );
    assert_eq!(book.targets[2].console, vm("rg", "web-2"));
}

#[test]
fn a_name_used_twice_is_refused_with_both_lines() {
    let text = "[[target]]\nname = \"db\"\nserial = \"unix:/a\"\n\n[[target]]\nname = \"db\"\nserial = \"unix:/b\"\n";
    let e = error_at(text, 6, 8);
    assert!(
        e.contains("\"db\" is also the name of the target at line 2"),
        "{e}"
    );
    // A derived name collides with a given one the same way.
    let text = "[[target]]\nname = \"unix:/b\"\nserial = \"unix:/a\"\n\n[[target]]\nserial = \"unix:/b\"\n";
    let e = error_at(text, 5, 1);
    assert!(e.contains("line 2"), "{e}");
}

#[test]
fn one_machine_named_twice_is_refused_however_it_is_written() {
    let text = r#"[[target]]
id = "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/Web"

[[target]]
name = "again"
resource_group = "rg"
vm = "web"
"#;
    let e = error_at(text, 5, 8);
    assert!(
        e.contains("console (rg/web) is also the console of the target at line 1"),
        "{e}"
    );
    // The same names in two different subscriptions are two machines.
    parse(
        "[[target]]\nresource_group = \"rg\"\nvm = \"a\"\nsubscription = \"s1\"\n\
         [[target]]\nresource_group = \"rg\"\nvm = \"a\"\nsubscription = \"s2\"\nname = \"a2\"\n",
    );
}

#[test]
fn relative_paths_start_from_the_playbooks_directory() {
    let book = parse(
        r#"
[defaults]
password_file = "secrets/pw"

[[target]]
serial = "unix:/a"
operations = [
  { op = "reset-key", user = "a", ssh_key_file = "keys/a.pub" },
  { op = "reset-key", user = "b", ssh_key_file = "/etc/keys/b.pub" },
  { op = "reset-password", user = "c", new_password_file = "../c.pw" },
]
"#,
    );
    let target = &book.targets[0];
    assert_eq!(
        target.login.password,
        Some(SecretSource::File("/srv/fleet/secrets/pw".into()))
    );
    let files: Vec<PathBuf> = target
        .operations
        .iter()
        .map(|op| match op {
            Operation::ResetKey { ssh_key_file, .. } => ssh_key_file.clone(),
            Operation::ResetPassword {
                password: SecretSource::File(f),
                ..
            } => f.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        files,
        [
            PathBuf::from("/srv/fleet/keys/a.pub"),
            "/etc/keys/b.pub".into(),
            "/srv/fleet/../c.pw".into()
        ]
    );
    // A playbook given as a bare file name resolves against the current directory.
    let book = Playbook::parse(
        "[[target]]\nserial = \"unix:/a\"\npassword_file = \"pw\"\n",
        Path::new("fleet.toml"),
    )
    .unwrap();
    assert_eq!(
        book.targets[0].login.password,
        Some(SecretSource::File("pw".into()))
    );
}

#[test]
fn tilde_paths_are_under_home() {
    let Some(home) = std::env::var_os("HOME") else {
        return;
    };
    let book = parse(
        "[[target]]\nserial = \"unix:/a\"\noperations = [{ op = \"reset-key\", user = \"a\", ssh_key_file = \"~/.ssh/id_ed25519.pub\" }]\n",
    );
    assert_eq!(
        book.targets[0].operations,
        [Operation::ResetKey {
            user: "a".into(),
            ssh_key_file: PathBuf::from(home).join(".ssh/id_ed25519.pub"),
        }]
    );
}

#[test]
fn each_mistake_is_named_at_its_place() {
    let serial = "[[target]]\nserial = \"unix:/a\"\n";
    let cases: &[(&str, usize, usize, &str)] = &[
        // TOML itself, unknown keys, wrong types.
        ("[[target]\n", 1, 10, "unclosed array table"),
        (
            "[[target]]\nserial = \"unix:/a\"\nbogus = 1\n",
            3,
            1,
            "unknown field `bogus`",
        ),
        ("[defaults]\nusr = \"x\"\n", 2, 1, "unknown field `usr`"),
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = [{ op = \"reset-ssh\", keep = true }]\n",
            3,
            35,
            "unknown field `keep`",
        ),
        ("[[target]]\nserial = 3\n", 2, 10, "expected a string"),
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = [3]\n",
            3,
            15,
            "expected an operation",
        ),
        // Plain secrets, anywhere.
        (
            "[defaults]\npassword = \"hunter2\"\n",
            2,
            1,
            "password_env = \"VAR\" or password_file = \"PATH\"",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\nroot_password = \"x\"\n",
            3,
            1,
            "root_password_env",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = [{ op = \"add-user\", user = \"u\", new_password = \"x\" }]\n",
            3,
            46,
            "new_password_env = \"VAR\" or new_password_file",
        ),
        // Consoles.
        ("[[target]]\nname = \"x\"\n", 1, 1, "names no console"),
        (
            "[[target]]\nserial = \"unix:/a\"\nid = \"/subscriptions/s\"\n",
            3,
            6,
            "`serial` and `id` both name",
        ),
        (
            "[[target]]\nresource_group = \"rg\"\n",
            1,
            1,
            "add vm = \"NAME\", or vmss",
        ),
        (
            "[[target]]\nvm = \"web\"\n",
            2,
            6,
            "`vm` needs `resource_group`",
        ),
        (
            "[[target]]\nresource_group = \"rg\"\nvmss = \"pool\"\n",
            3,
            8,
            "`vmss` needs `instance_id`",
        ),
        (
            "[[target]]\nresource_group = \"rg\"\nvm = \"a\"\ninstance_id = \"1\"\n",
            4,
            15,
            "`instance_id` does not go with `vm`",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\nresource_group = \"rg\"\n",
            3,
            18,
            "`resource_group` does not go with `serial`",
        ),
        (
            "[[target]]\nid = \"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/a\"\nsubscription = \"s\"\n",
            3,
            16,
            "already names the subscription",
        ),
        (
            "[[target]]\nserial = \"serial.sock\"\n",
            2,
            10,
            "is not a serial target",
        ),
        (
            "[[target]]\nid = \"/subscriptions/s/resourceGroups/rg\"\n",
            2,
            6,
            "is not a VM resource id",
        ),
        (
            "[[target]]\nresource_group = \"\"\nvm = \"a\"\n",
            2,
            18,
            "`resource_group` is empty",
        ),
        // Logins and secrets.
        (
            "[defaults]\npassword_env = \"PW\"\npassword_file = \"pw\"\n",
            3,
            17,
            "both say where the secret is",
        ),
        (
            "[defaults]\npassword_env = \"$PW\"\n",
            2,
            16,
            "write \"PW\" without the $",
        ),
        (
            "[defaults]\nroot_password_env = \"ROOT PW\"\n",
            2,
            21,
            "not a variable name",
        ),
        (
            "[defaults]\npassword_file = \"~bob/pw\"\n",
            2,
            17,
            "only ~/",
        ),
        // Operations.
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = []\n",
            3,
            14,
            "`operations` is empty",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = [\"reset-pw\"]\n",
            3,
            15,
            "\"reset-pw\" is not an operation; the operations are rescue, reset-ssh",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = [{ op = \"add-user\", user = \"u\", keep_ports = true }]\n",
            3,
            59,
            "add-user does not take `keep_ports`",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = [\"remove-user\"]\n",
            3,
            15,
            "remove-user needs `user`",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = [{ op = \"reset-password\", user = \"a\" }]\n",
            3,
            15,
            "reset-password needs the new password",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = [{ op = \"reset-key\", user = \"a\" }]\n",
            3,
            15,
            "reset-key needs the public key",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = [{ op = \"remove-user\", user = \"a b\" }]\n",
            3,
            44,
            "is not a user name lifeline accepts",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\noperations = [{ op = \"rescue\", user = \"a\" }]\n",
            3,
            39,
            "rescue does not take `user` (it takes no other keys)",
        ),
        // The run as a whole.
        ("[defaults]\nparallel = 0\n", 2, 12, "from 1 to 64"),
        ("[defaults]\nparallel = 65\n", 2, 12, "from 1 to 64"),
        ("[defaults]\nuser = \"root\"\n", 1, 1, "names no target"),
        ("", 1, 1, "names no target"),
        // SSH verification.
        (
            "[defaults]\nverify_host = \"10.0.0.1\"\n",
            2,
            15,
            "can only be false",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\nverify_host = true\n",
            3,
            15,
            "does not say where",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\nverify_host = \"host:99999\"\n",
            3,
            15,
            "the port is a number",
        ),
        (
            "[[target]]\nserial = \"unix:/a\"\nverify_host = \"a host\"\n",
            3,
            15,
            "contains spaces",
        ),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|(text, line, column, want)| {
            let e = Playbook::parse(text, Path::new(PATH))
                .map_or_else(|e| e.to_string(), |_| "accepted".into());
            let prefix = format!("{PATH}:{line}:{column}: ");
            (!(e.starts_with(&prefix) && e.contains(want)))
                .then(|| format!("{text:?}\n  want {prefix}…{want}\n  got  {e}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The first target is fine: the mistake is in the second.
    let e = error_at(&format!("{serial}[[target]]\nbogus = 1\n"), 4, 1);
    assert!(e.contains("bogus"), "{e}");
}

#[test]
fn verify_hosts_in_every_usual_form_are_accepted() {
    for host in [
        "10.0.0.9",
        "10.0.0.9:22",
        "vm9.example.com:2222",
        "[::1]:22",
        "[fe80::1]",
        "fe80::1",
    ] {
        let book = parse(&format!(
            "[[target]]\nserial = \"unix:/a\"\nverify_host = {host:?}\n"
        ));
        assert_eq!(book.targets[0].verify_host.as_deref(), Some(host));
    }
    let book = parse("[[target]]\nserial = \"unix:/a\"\nverify_host = false\n");
    assert_eq!(book.targets[0].verify_host, None);
}

#[test]
fn oversized_and_unreadable_files_are_refused() {
    let big = format!("# {}\n", "x".repeat(MAX_SIZE));
    assert!(matches!(
        Playbook::parse(&big, Path::new(PATH)),
        Err(PlaybookError::TooLarge { .. })
    ));
    let e = Playbook::load(&fixture("no-such-playbook.toml")).unwrap_err();
    assert!(matches!(e, PlaybookError::Read { .. }), "{e}");
    assert!(e.to_string().contains("no-such-playbook.toml"), "{e}");
}

#[test]
fn operations_are_named_like_their_commands() {
    let names: Vec<&str> = [
        Operation::Rescue,
        Operation::ResetSsh { keep_ports: false },
        Operation::ResetPassword {
            user: "a".into(),
            password: SecretSource::Env("PW".into()),
        },
        Operation::ResetKey {
            user: "a".into(),
            ssh_key_file: "k".into(),
        },
        Operation::AddUser {
            user: "a".into(),
            sudo: false,
            ssh_key_file: None,
            password: None,
        },
        Operation::RemoveUser { user: "a".into() },
    ]
    .iter()
    .map(Operation::name)
    .collect();
    assert_eq!(
        names,
        [
            "rescue",
            "reset-ssh",
            "user reset-password",
            "user reset-key",
            "user add",
            "user remove"
        ]
    );
}
