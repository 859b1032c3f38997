//! The checks across targets: each console and each name used once.

use super::error::PlaybookError;
use super::source::Source;
use super::target::derived_name;
use super::{Console, PlaybookTarget};
use std::collections::HashMap;
use std::ops::Range;

/// Refuses a console used twice, and a name used twice: a console takes one session at a
/// time, so two targets on it would fight over it when run in parallel.
pub(super) fn check_unique(
    source: &Source,
    targets: &[(PlaybookTarget, Range<usize>)],
) -> Result<(), PlaybookError> {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut consoles: HashMap<String, Vec<(Option<String>, usize)>> = HashMap::new();
    for (target, at) in targets {
        let (key, subscription) = console_key(&target.console);
        let seen = consoles.entry(key).or_default();
        let same = |(other, _): &&(Option<String>, usize)| {
            other.is_none() || subscription.is_none() || *other == subscription
        };
        if let Some((_, first)) = seen.iter().find(same) {
            return Err(source.error(
                at.clone(),
                format!(
                    "this target's console ({}) is also the console of the target at line {}: \
                     a console takes one session at a time, so list all its operations in one \
                     target",
                    derived_name(&target.console),
                    source.line(*first)
                ),
            ));
        }
        seen.push((subscription, at.start));
        if let Some(&first) = names.get(target.name.as_str()) {
            return Err(source.error(
                at.clone(),
                format!(
                    "the target name {:?} is also the name of the target at line {}; give each \
                     target its own `name`",
                    target.name,
                    source.line(first)
                ),
            ));
        }
        names.insert(&target.name, at.start);
    }
    Ok(())
}

/// What identifies a console: the serial spec, or the machine (Azure names are
/// case-insensitive) and its subscription when given.
fn console_key(console: &Console) -> (String, Option<String>) {
    let subscription = match console {
        Console::Serial(_) => None,
        Console::AzureId(t) => Some(t.subscription.clone()),
        Console::AzureVm { subscription, .. } | Console::AzureScaleSet { subscription, .. } => {
            subscription.clone()
        }
    };
    let key = match console {
        Console::Serial(spec) => format!("serial {spec}"),
        _ => format!("azure {}", derived_name(console).to_ascii_lowercase()),
    };
    (key, subscription.map(|s| s.to_ascii_lowercase()))
}
