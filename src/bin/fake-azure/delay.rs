//! The gateway's injected latency (`--latency-ms`): every websocket frame is held for the same
//! time in each direction, as a far gateway would, without limiting how many are in flight.

use std::collections::VecDeque;
use std::future::pending;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// Frames in flight in one direction, each due `delay` after it arrived.
pub struct DelayLine {
    delay: Duration,
    queue: VecDeque<(Instant, Vec<u8>)>,
}

impl DelayLine {
    pub fn new(delay: Duration) -> Self {
        DelayLine {
            delay,
            queue: VecDeque::new(),
        }
    }

    /// The frame to pass on now (no latency), or `None` when it is held until it is due.
    pub fn pass(&mut self, bytes: Vec<u8>) -> Option<Vec<u8>> {
        if self.delay.is_zero() {
            return Some(bytes);
        }
        self.queue.push_back((Instant::now() + self.delay, bytes));
        None
    }

    /// The next held frame, once it is due (never, while none is held). Cancel-safe.
    pub async fn due(&mut self) -> Vec<u8> {
        let Some(&(at, _)) = self.queue.front() else {
            return pending().await;
        };
        sleep_until(at).await;
        self.queue.pop_front().expect("a held frame").1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_come_out_in_order_each_after_the_delay() {
        let mut line = DelayLine::new(Duration::from_millis(50));
        let start = Instant::now();
        assert_eq!(line.pass(b"a".to_vec()), None);
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(line.pass(b"b".to_vec()), None);
        assert_eq!(line.due().await, b"a");
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert_eq!(line.due().await, b"b");
        assert!(start.elapsed() >= Duration::from_millis(70));
    }

    #[test]
    fn without_latency_a_frame_passes_at_once() {
        assert_eq!(
            DelayLine::new(Duration::ZERO).pass(b"x".to_vec()),
            Some(b"x".to_vec())
        );
    }
}
