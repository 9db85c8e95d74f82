//! Samples, summaries and the interleaved runner.

use std::time::Duration;

/// min / median / p99 of one method's samples.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Smallest sample.
    pub min: Duration,
    /// Median (mean of the two middle samples for an even count).
    pub median: Duration,
    /// 99th percentile (nearest rank).
    pub p99: Duration,
}

/// Summarises `samples` (sorted in place).
pub fn summarize(samples: &mut [Duration]) -> Option<Summary> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let n = samples.len();
    let median = if n % 2 == 1 {
        samples[n / 2]
    } else {
        (samples[n / 2 - 1] + samples[n / 2]) / 2
    };
    let rank = ((n as f64) * 0.99).ceil() as usize;
    Some(Summary {
        n,
        min: samples[0],
        median,
        p99: samples[rank.clamp(1, n) - 1],
    })
}

/// One competitor of a measure: a closure that runs `k` iterations and returns one duration
/// per iteration.
pub struct Method<'a> {
    /// Short name shown in the table.
    pub name: String,
    /// Runs a batch of `k` iterations.
    pub run: Box<dyn FnMut(usize) -> Result<Vec<Duration>, String> + 'a>,
    /// Collected samples.
    pub samples: Vec<Duration>,
}

impl<'a> Method<'a> {
    /// A method named `name` running `run`.
    pub fn new(
        name: impl Into<String>,
        run: impl FnMut(usize) -> Result<Vec<Duration>, String> + 'a,
    ) -> Self {
        Method {
            name: name.into(),
            run: Box::new(run),
            samples: Vec::new(),
        }
    }
}

/// Runs `warmup` unrecorded batches, then `rounds` rounds; each round runs one batch of
/// `batch` iterations of every method, starting with a different method each round, so drift
/// of a shared machine hits all methods alike.
pub fn interleave(
    methods: &mut [Method<'_>],
    rounds: usize,
    batch: usize,
    warmup: usize,
) -> Result<(), String> {
    let m = methods.len();
    for _ in 0..warmup {
        for method in methods.iter_mut() {
            (method.run)(batch.clamp(1, 5)).map_err(|e| format!("{}: {e}", method.name))?;
        }
    }
    for r in 0..rounds {
        for i in 0..m {
            let method = &mut methods[(r + i) % m];
            let got = (method.run)(batch).map_err(|e| format!("{}: {e}", method.name))?;
            method.samples.extend(got);
        }
    }
    Ok(())
}

/// Times `k` runs of `f`, one duration each.
pub fn time_each(
    k: usize,
    mut f: impl FnMut() -> Result<(), String>,
) -> Result<Vec<Duration>, String> {
    let mut out = Vec::with_capacity(k);
    for _ in 0..k {
        let t = std::time::Instant::now();
        f()?;
        out.push(t.elapsed());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_samples() {
        let mut s: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        s.reverse();
        let sum = summarize(&mut s).unwrap();
        assert_eq!(sum.n, 100);
        assert_eq!(sum.min, Duration::from_micros(1));
        assert_eq!(sum.median, Duration::from_nanos(50_500));
        assert_eq!(sum.p99, Duration::from_micros(99));
        assert!(summarize(&mut []).is_none());
    }

    #[test]
    fn interleave_rotates_and_counts() {
        let order = std::cell::RefCell::new(Vec::new());
        let mut methods = vec![
            Method::new("a", |k| {
                order.borrow_mut().push('a');
                Ok(vec![Duration::ZERO; k])
            }),
            Method::new("b", |k| {
                order.borrow_mut().push('b');
                Ok(vec![Duration::ZERO; k])
            }),
        ];
        interleave(&mut methods, 2, 3, 0).unwrap();
        assert_eq!(methods[0].samples.len(), 6);
        assert_eq!(methods[1].samples.len(), 6);
        drop(methods);
        assert_eq!(*order.borrow(), vec!['a', 'b', 'b', 'a']);
    }
}
