//! Every `ll_*` function of the guest-side shell (the remedy runtime and libraries, the login
//! check) is named in some unit test: they run on this machine against a scratch root
//! (`run_locally`), so a slip in one is found in seconds, not only by a guest scenario.

use std::path::{Path, PathBuf};

/// The files under `dir` (recursively) whose names end in `suffix`.
fn files(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path, suffix));
        } else if path.to_string_lossy().ends_with(suffix) {
            out.push(path);
        }
    }
    out
}

/// The names of the functions a shell library defines (`ll_name() {` in column 0).
fn functions(library: &str) -> impl Iterator<Item = &str> {
    library
        .lines()
        .filter_map(|l| l.strip_suffix("() {"))
        .filter(|name| name.starts_with("ll_"))
}

/// `text` uses `name` as a whole word; an escape before it (`\\n`, `\\t` in a Rust string)
/// ends the word before.
fn names(text: &str, name: &str) -> bool {
    let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    text.match_indices(name).any(|(at, _)| {
        let before = &text[..at];
        let starts =
            !word(before.chars().next_back()) || before.ends_with("\\n") || before.ends_with("\\t");
        starts && !word(text[at + name.len()..].chars().next())
    })
}

#[test]
fn every_shell_function_is_named_in_a_unit_test() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // The unit tests: what follows `#[cfg(test)]` in each source file.
    let tests: String = files(&src, ".rs")
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .filter_map(|text| text.split_once("#[cfg(test)]").map(|(_, t)| t.to_string()))
        .collect();
    let mut defined = 0;
    let mut untested = Vec::new();
    for library in files(&src, ".sh") {
        let text = std::fs::read_to_string(&library).unwrap();
        for name in functions(&text) {
            defined += 1;
            if !names(&tests, name) {
                untested.push(name.to_string());
            }
        }
    }
    assert!(
        defined > 100,
        "only {defined} ll_ functions found under {}",
        src.display()
    );
    untested.sort();
    assert!(
        untested.is_empty(),
        "shell functions named in no unit test ({defined} defined): {untested:?}; test each \
         with plan::run_locally, or run_over_private_etc where it works on the guest's fixed paths"
    );
}
