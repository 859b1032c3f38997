//! Progress of long steps (connecting, logging in, probing, applying, verifying) on a terminal.
//!
//! The library only names its steps: [`step`] returns a tracing span that lasts as long as the
//! step, so no layer below the command line depends on how (or whether) progress is shown. The
//! command line installs [`Display`] when a person is watching: it turns each step span into a
//! spinner line with what is going on and the time spent, and leaves a line for each step that
//! took longer than [`WORTH_A_LINE`].

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Subscriber, info_span};
use tracing_subscriber::layer::{Context, Layer};

/// The tracing target of step spans; [`Display`] listens to it alone.
pub const TARGET: &str = "lifeline::progress";
/// Steps at least this long leave a line with their duration once done.
pub const WORTH_A_LINE: Duration = Duration::from_secs(2);

/// Marks a step for as long as the returned span lives: `let _step = progress::step("probing the guest");`
pub fn step(what: &str) -> tracing::Span {
    info_span!(target: TARGET, "step", what)
}

/// Whether progress may be drawn: stderr is a terminal, and neither JSON output, `--quiet` nor
/// `NO_COLOR` (https://no-color.org) asks for a plain stream.
pub fn wanted(json: bool, quiet: bool) -> bool {
    !json && !quiet && std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal()
}

/// Draws step spans as spinners on stderr.
#[derive(Default)]
pub struct Display {
    lines: MultiProgress,
    bars: Mutex<HashMap<Id, ProgressBar>>,
}

impl Display {
    /// A stderr writer for log lines that lifts the spinners while it writes, so the two never
    /// interleave on one line.
    pub fn log_writer(&self) -> impl for<'w> tracing_subscriber::fmt::MakeWriter<'w> + use<> {
        let lines = self.lines.clone();
        move || LogWriter(lines.clone())
    }
}

impl<S: Subscriber> Layer<S> for Display {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if attrs.metadata().target() != TARGET {
            return;
        }
        let mut what = What::default();
        attrs.record(&mut what);
        let bar = self.lines.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})").expect("valid template"),
        );
        bar.set_message(what.0);
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars
            .lock()
            .expect("progress lock")
            .insert(id.clone(), bar);
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        let Some(bar) = self.bars.lock().expect("progress lock").remove(&id) else {
            return;
        };
        let took = bar.elapsed();
        bar.finish_and_clear();
        self.lines.remove(&bar);
        if took >= WORTH_A_LINE {
            let line = format!("✓ {} ({:.1} s)", bar.message(), took.as_secs_f64());
            self.lines.suspend(|| eprintln!("{line}"));
        }
    }
}

/// The `what` field of a step span.
#[derive(Default)]
struct What(String);

impl Visit for What {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "what" {
            self.0 = value.to_string();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "what" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}

struct LogWriter(MultiProgress);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.suspend(|| std::io::stderr().write(buf))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
