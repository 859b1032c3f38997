//! The one report layer: every result lifeline prints (a diagnosis, a rescue, a remedy's
//! outcome, a bulk run) is rendered here, as text for a person and as JSON for scripts, from
//! the same value.
//!
//! The library's result types carry data only; their text comes from the files below and
//! [`render`] is the one way out to the command line: text is escaped for a terminal (it
//! quotes the guest, a stranger), JSON follows each document's schema in docs/ and fields are
//! only ever added.
//!
//! | result | text | JSON document |
//! |---|---|---|
//! | [`DiagnosisReport`] | [`diagnosis`] | `lifeline.diagnosis/1`, docs/diagnose-json.md |
//! | [`RescueReport`](crate::rescue::RescueReport) | [`rescue`] | docs/rescue-json.md |
//! | [`Outcome`](crate::remedy::Outcome) | [`outcome`] | the outcome object of docs/rescue-json.md |
//! | [`BulkReport`] | [`bulk`] | the bulk document of docs/rescue-json.md |

pub mod bulk;
pub mod diagnosis;
pub mod outcome;
pub mod rescue;

pub use bulk::{BulkDiagnosis, BulkReport, BulkSummary, OperationResult, TargetResult};
pub use diagnosis::{SCHEMA, describe_cloud, render_json, render_text, verdict};

use crate::access::{AccessRecord, Ledger};
use crate::diagnose::Diagnosis;
/// Guest text printed outside a report (an error quoting the guest, a console's answer) is
/// escaped here too: the report layer is the one way out to a terminal.
pub use crate::term::escape::for_terminal;

/// What each step of a session cost on the console (`--timings`), as a table.
pub fn timings(ledger: &Ledger) -> String {
    crate::shell::render_costs(&ledger.steps())
}

/// For a person or for a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// A result the report layer knows how to write both ways.
pub trait Render {
    /// The text for a person, unescaped.
    fn text(&self) -> String;
    /// The JSON document.
    fn json(&self) -> String;
}

/// `report` in `format`, ready to print: ends with a newline; text escaped for a terminal.
pub fn render(report: &impl Render, format: Format) -> String {
    let mut out = match format {
        Format::Text => for_terminal(&report.text()).into_owned(),
        Format::Json => report.json(),
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A diagnosis with what the report says about where it was made.
pub struct DiagnosisReport<'a> {
    pub diagnosis: &'a Diagnosis,
    pub target: &'a str,
    pub access: Option<&'a AccessRecord>,
}

impl Render for DiagnosisReport<'_> {
    fn text(&self) -> String {
        render_text(self.diagnosis, self.target, self.access)
    }
    fn json(&self) -> String {
        render_json(self.diagnosis, self.target, self.access)
    }
}

/// The results whose text is their `Display` (in this layer) and whose JSON is their
/// `Serialize`, on one line.
macro_rules! displayed_and_serialized {
    ($($result:ty),*) => {$(
        impl Render for $result {
            fn text(&self) -> String {
                self.to_string()
            }
            fn json(&self) -> String {
                serde_json::to_string(self).expect("a report serialises")
            }
        }
    )*};
}

displayed_and_serialized!(
    crate::rescue::RescueReport,
    crate::remedy::Outcome,
    BulkReport
);
