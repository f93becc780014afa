//! Hybrid logical clocks: wall-clock milliseconds, a counter for changes within one
//! millisecond (or when another device's clock ran ahead), and the device as the last tie
//! breaker. Encoded as fixed-width text so that comparing the strings compares the clocks,
//! in Rust and in SQL alike.

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hlc {
    pub ms: u64,
    pub counter: u32,
    /// The first 12 hex digits of the device id that made the change.
    pub device: String,
}

impl Hlc {
    pub fn new(ms: u64, counter: u32, device: &str) -> Hlc {
        Hlc {
            ms,
            counter,
            device: short_device(device),
        }
    }

    pub fn zero() -> Hlc {
        Hlc {
            ms: 0,
            counter: 0,
            device: String::new(),
        }
    }

    pub fn parse(s: &str) -> Option<Hlc> {
        let mut it = s.splitn(3, '.');
        let ms = it.next()?.parse().ok()?;
        let counter = it.next()?.parse().ok()?;
        let device = it.next().unwrap_or("").to_owned();
        Some(Hlc {
            ms,
            counter,
            device,
        })
    }

    /// The clock for a change made at `at_ms` on `device`, after every clock in `last`: the
    /// wall clock when it is ahead, else one tick past the newest clock seen.
    pub fn next(last: &Hlc, at_ms: u64, device: &str) -> Hlc {
        if at_ms > last.ms {
            Hlc::new(at_ms, 0, device)
        } else {
            Hlc::new(last.ms, last.counter.saturating_add(1), device)
        }
    }
}

/// Device ids are UUIDs; their first 12 hex digits are unique enough to break ties between
/// clocks that agree to the millisecond and counter.
pub fn short_device(device: &str) -> String {
    device
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .take(12)
        .collect()
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:015}.{:06}.{}", self.ms, self.counter, self.device)
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.ms, self.counter, &self.device).cmp(&(other.ms, other.counter, &other.device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_order_is_clock_order() {
        let a = Hlc::new(999, 5, "aaaa");
        let b = Hlc::new(1000, 0, "aaaa");
        let c = Hlc::new(1000, 1, "0000");
        let d = Hlc::new(1000, 1, "ffff");
        let clocks = [&a, &b, &c, &d];
        for w in clocks.windows(2) {
            assert!(w[0] < w[1]);
            assert!(w[0].to_string() < w[1].to_string());
        }
        assert_eq!(Hlc::parse(&d.to_string()).unwrap(), d);
    }

    #[test]
    fn next_is_after_the_last_clock_even_when_the_wall_clock_is_behind() {
        let last = Hlc::new(5000, 3, "abc");
        assert_eq!(Hlc::next(&last, 4000, "def"), Hlc::new(5000, 4, "def"));
        assert_eq!(Hlc::next(&last, 6000, "def"), Hlc::new(6000, 0, "def"));
    }
}
