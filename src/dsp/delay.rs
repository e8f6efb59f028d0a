//! A ring-buffer delay line with linearly interpolated fractional reads.

/// Delay line holding up to `capacity − 2` samples of delay.
#[derive(Debug, Clone)]
pub struct DelayLine {
    buf: Vec<f64>,
    mask: usize,
    write: usize,
}

impl DelayLine {
    /// A silent line able to delay by at least `max_delay_samples` (rounded up to a power of
    /// two internally).
    pub fn new(max_delay_samples: usize) -> Self {
        let len = (max_delay_samples.saturating_add(2)).next_power_of_two().max(4);
        Self { buf: vec![0.0; len], mask: len - 1, write: 0 }
    }

    /// Largest delay [`DelayLine::read`] supports.
    pub fn max_delay(&self) -> f64 {
        (self.buf.len() - 2) as f64
    }

    /// The input from `delay_samples` ago (clamped to `[1, max_delay]`), linearly interpolated.
    /// A delay of 1 returns the most recently written sample.
    ///
    /// ```
    /// use ntsbuild::dsp::delay::DelayLine;
    /// let mut d = DelayLine::new(8);
    /// d.write(1.0);
    /// d.write(0.0);
    /// assert_eq!(d.read(2.0), 1.0);
    /// assert_eq!(d.read(1.5), 0.5);
    /// ```
    #[inline]
    pub fn read(&self, delay_samples: f64) -> f64 {
        let d = delay_samples.clamp(1.0, self.max_delay());
        let whole = d.floor();
        let frac = d - whole;
        let i = self.write.wrapping_add(1).wrapping_sub(whole as usize) & self.mask;
        let j = i.wrapping_sub(1) & self.mask;
        self.buf[i] * (1.0 - frac) + self.buf[j] * frac
    }

    /// Push one sample.
    #[inline]
    pub fn write(&mut self, x: f64) {
        self.write = (self.write + 1) & self.mask;
        self.buf[self.write] = x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_delay_reproduces_input() {
        let mut d = DelayLine::new(100);
        let mut out = Vec::new();
        for n in 0..300 {
            out.push(d.read(37.0));
            d.write(n as f64);
        }
        for (n, &y) in out.iter().enumerate().skip(37) {
            assert_eq!(y, (n - 37) as f64);
        }
        assert!(out[..37].iter().all(|&x| x == 0.0));
    }

    #[test]
    fn fractional_delay_interpolates() {
        let mut d = DelayLine::new(16);
        for n in 0..10 {
            d.write(n as f64);
        }
        // Most recent is 9 at delay 1, 8 at delay 2.
        assert_eq!(d.read(1.0), 9.0);
        assert_eq!(d.read(1.25), 8.75);
        assert_eq!(d.read(0.0), 9.0);
        assert_eq!(d.read(1e9), d.read(d.max_delay()));
    }
}
