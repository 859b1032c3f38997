//! Where a session's time and bytes go, step by step: over a slow console every round trip and
//! every byte costs, so the next change needs to know which step to cut.
//!
//! A step runs from its [`Ledger::begin`] to the next one's (or to [`Ledger::steps`]); steps
//! of the same name add up. The ledger is shared, so a caller can keep it past the session.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The counters of the console engine at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub sent: u64,
    pub received: u64,
    pub round_trips: u64,
}

impl Counters {
    fn since(self, earlier: Counters) -> Counters {
        Counters {
            sent: self.sent - earlier.sent,
            received: self.received - earlier.received,
            round_trips: self.round_trips - earlier.round_trips,
        }
    }

    fn add(&mut self, other: Counters) {
        self.sent += other.sent;
        self.received += other.received;
        self.round_trips += other.round_trips;
    }
}

/// What one step cost.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StepCost {
    pub step: String,
    #[serde(serialize_with = "millis")]
    pub time: Duration,
    pub sent: u64,
    pub received: u64,
    pub round_trips: u64,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

#[derive(Debug)]
struct Open {
    step: String,
    since: Instant,
    at: Counters,
}

#[derive(Debug, Default)]
struct Book {
    done: Vec<StepCost>,
    open: Option<Open>,
}

/// The steps of one session and their costs.
#[derive(Debug, Clone, Default)]
pub struct Ledger(Arc<Mutex<Book>>);

impl Ledger {
    /// Ends the open step (if any) at `now` and opens `step`.
    pub fn begin(&self, step: &str, now: Counters) {
        let mut book = self.0.lock().expect("ledger lock");
        close(&mut book, now);
        book.open = Some(Open {
            step: step.to_string(),
            since: Instant::now(),
            at: now,
        });
    }

    /// The name of the open step.
    pub fn current(&self) -> Option<String> {
        let book = self.0.lock().expect("ledger lock");
        book.open.as_ref().map(|o| o.step.clone())
    }

    /// Ends the open step at `now`; nothing is counted until the next [`Ledger::begin`].
    pub fn end(&self, now: Counters) {
        close(&mut self.0.lock().expect("ledger lock"), now);
    }

    /// Every step so far, in the order each first began, same names added up.
    pub fn steps(&self) -> Vec<StepCost> {
        self.0.lock().expect("ledger lock").done.clone()
    }
}

fn close(book: &mut Book, now: Counters) {
    let Some(open) = book.open.take() else {
        return;
    };
    let spent = now.since(open.at);
    let time = open.since.elapsed();
    match book.done.iter_mut().find(|s| s.step == open.step) {
        Some(step) => {
            step.time += time;
            step.sent += spent.sent;
            step.received += spent.received;
            step.round_trips += spent.round_trips;
        }
        None => book.done.push(StepCost {
            step: open.step,
            time,
            sent: spent.sent,
            received: spent.received,
            round_trips: spent.round_trips,
        }),
    }
}

/// The steps as a table with each one's share of the time, and a total line.
pub fn render(steps: &[StepCost]) -> String {
    let total_time: Duration = steps.iter().map(|s| s.time).sum();
    let mut total = Counters::default();
    let mut out = format!(
        "{:<28} {:>8} {:>6} {:>9} {:>9} {:>6}\n",
        "step", "ms", "share", "sent B", "recv B", "trips"
    );
    let share = |t: Duration| 100.0 * t.as_secs_f64() / total_time.as_secs_f64().max(1e-9);
    for s in steps {
        total.add(Counters {
            sent: s.sent,
            received: s.received,
            round_trips: s.round_trips,
        });
        out.push_str(&format!(
            "{:<28} {:>8} {:>5.1}% {:>9} {:>9} {:>6}\n",
            s.step,
            s.time.as_millis(),
            share(s.time),
            s.sent,
            s.received,
            s.round_trips
        ));
    }
    out.push_str(&format!(
        "{:<28} {:>8} {:>5.1}% {:>9} {:>9} {:>6}\n",
        "total",
        total_time.as_millis(),
        100.0,
        total.sent,
        total.received,
        total.round_trips
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(sent: u64, received: u64, round_trips: u64) -> Counters {
        Counters {
            sent,
            received,
            round_trips,
        }
    }

    #[test]
    fn steps_are_charged_what_happened_between_their_marks_and_add_up_by_name() {
        let ledger = Ledger::default();
        ledger.begin("login", at(0, 0, 0));
        ledger.begin("probe", at(10, 100, 3));
        ledger.begin("login", at(15, 300, 5));
        ledger.end(at(16, 310, 6));
        ledger.begin("after the end", at(100, 100, 100));
        let steps = ledger.steps();
        assert_eq!(
            steps
                .iter()
                .map(|s| (s.step.as_str(), s.sent, s.received, s.round_trips))
                .collect::<Vec<_>>(),
            [("login", 11, 110, 4), ("probe", 5, 200, 2)]
        );
        let table = render(&steps);
        assert!(table.contains("total"), "{table}");
        assert!(table.lines().last().unwrap().contains(" 16 "), "{table}");
    }
}
