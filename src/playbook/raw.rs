//! The playbook as written: serde's view of the TOML, every value with its place in the file.
//! Only "a known key with a value of the right type" is checked here; the rules that make a
//! playbook meaningful are applied by the modules that turn these into the public types.

use super::error::PlaybookError;
use super::source::Source;
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::fmt;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A string value and where it is written.
pub(super) type Text = Option<Spanned<String>>;

/// A list of operations and where each is written.
pub(super) type Operations = Option<Spanned<Vec<Spanned<OperationEntry>>>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlaybook {
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default, rename = "target")]
    pub targets: Vec<Spanned<RawTarget>>,
}

/// `[defaults]`: what every target gets unless it says otherwise.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDefaults {
    pub user: Text,
    pub password_env: Text,
    pub password_file: Text,
    pub root_password_env: Text,
    pub subscription: Text,
    pub operations: Operations,
    pub verify_host: Option<Spanned<RawVerifyHost>>,
    pub parallel: Option<Spanned<i64>>,
}

/// One `[[target]]`: a console, and optionally its own login, operations and verification.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTarget {
    pub name: Text,
    pub serial: Text,
    pub id: Text,
    pub resource_group: Text,
    pub vm: Text,
    pub vmss: Text,
    pub instance_id: Text,
    pub subscription: Text,
    pub user: Text,
    pub password_env: Text,
    pub password_file: Text,
    pub root_password_env: Text,
    pub operations: Operations,
    pub verify_host: Option<Spanned<RawVerifyHost>>,
    pub reset_cmd: Text,
}

/// `verify_host`: `false`, or the `"host[:port]"` to log in at (`true` is refused later,
/// with a message, rather than by serde with a less helpful one).
#[derive(Debug)]
pub(super) enum RawVerifyHost {
    Flag(bool),
    Host(String),
}

/// An operation's table: its name and the keys an operation may take.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOperation {
    pub op: String,
    pub keep_ports: Option<Spanned<bool>>,
    pub user: Text,
    pub sudo: Option<Spanned<bool>>,
    pub ssh_key_file: Text,
    pub new_password_env: Text,
    pub new_password_file: Text,
}

impl RawOperation {
    /// The keys given besides `op`, with their places: an operation refuses those it does not
    /// take, since a key silently ignored is a request silently not carried out.
    pub fn keys(&self) -> Vec<(&'static str, Range<usize>)> {
        let bools = [("keep_ports", &self.keep_ports), ("sudo", &self.sudo)];
        let texts = [
            ("user", &self.user),
            ("ssh_key_file", &self.ssh_key_file),
            ("new_password_env", &self.new_password_env),
            ("new_password_file", &self.new_password_file),
        ];
        let bools = bools
            .into_iter()
            .map(|(k, v)| (k, v.as_ref().map(Spanned::span)));
        let texts = texts
            .into_iter()
            .map(|(k, v)| (k, v.as_ref().map(Spanned::span)));
        bools
            .chain(texts)
            .filter_map(|(key, span)| Some((key, span?)))
            .collect()
    }
}

/// Parses the text into the raw structure: TOML syntax, plain secrets, unknown keys, types.
pub(super) fn read(source: &Source) -> Result<RawPlaybook, PlaybookError> {
    let toml_error = |e: toml::de::Error| source.error(e.span().unwrap_or(0..0), e.message());
    let table = DeTable::parse(source.text).map_err(toml_error)?;
    if let Some((span, key, instead)) = first_plain_secret(table.get_ref()) {
        return Err(source.error(
            span,
            format!(
                "`{key}` would put a secret in the playbook, where everyone who can read the \
                 file (or its history) learns it; say where the secret is instead: {instead}"
            ),
        ));
    }
    RawPlaybook::deserialize(toml::de::Deserializer::from(table)).map_err(toml_error)
}

/// Keys that would hold a secret itself, and what to write instead.
const PLAIN_SECRETS: [(&str, &str); 3] = [
    (
        "password",
        "password_env = \"VAR\" or password_file = \"PATH\"",
    ),
    (
        "new_password",
        "new_password_env = \"VAR\" or new_password_file = \"PATH\"",
    ),
    ("root_password", "root_password_env = \"VAR\""),
];

/// The first key anywhere in the document (tables, arrays of tables, inline tables) that would
/// hold a plain secret. Checked before the keys are matched against the format, so the message
/// says why the key is refused instead of only that it is unknown.
fn first_plain_secret(table: &DeTable) -> Option<(Range<usize>, &'static str, &'static str)> {
    let mut found = Vec::new();
    collect_plain_secrets(table, &mut found);
    found.into_iter().min_by_key(|(span, ..)| span.start)
}

fn collect_plain_secrets(
    table: &DeTable,
    found: &mut Vec<(Range<usize>, &'static str, &'static str)>,
) {
    for (key, value) in table {
        if let Some((name, instead)) = PLAIN_SECRETS.iter().find(|(k, _)| k == key.get_ref()) {
            found.push((key.span(), name, instead));
        }
        collect_in_value(value.get_ref(), found);
    }
}

fn collect_in_value(value: &DeValue, found: &mut Vec<(Range<usize>, &'static str, &'static str)>) {
    match value {
        DeValue::Table(table) => collect_plain_secrets(table, found),
        DeValue::Array(items) => items
            .iter()
            .for_each(|item| collect_in_value(item.get_ref(), found)),
        _ => {}
    }
}

impl<'de> Deserialize<'de> for RawVerifyHost {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HostOrFlag;
        impl Visitor<'_> for HostOrFlag {
            type Value = RawVerifyHost;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"host[:port]\" or false")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(RawVerifyHost::Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawVerifyHost::Host(v.to_string()))
            }
        }
        deserializer.deserialize_any(HostOrFlag)
    }
}

/// One entry of `operations` as written: a bare name (`"rescue"`) or a table
/// (`{ op = "…", … }`); a bare name is read as the table with only `op`.
#[derive(Debug)]
pub(super) struct OperationEntry(pub RawOperation);

impl<'de> Deserialize<'de> for OperationEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameOrTable;
        impl<'de> Visitor<'de> for NameOrTable {
            type Value = OperationEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "an operation: a name such as \"rescue\", or a table such as \
                     { op = \"reset-ssh\", keep_ports = true }",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(OperationEntry(RawOperation {
                    op: v.to_string(),
                    ..RawOperation::default()
                }))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                RawOperation::deserialize(MapAccessDeserializer::new(map)).map(OperationEntry)
            }
        }
        deserializer.deserialize_any(NameOrTable)
    }
}
