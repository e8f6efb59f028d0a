//! Portable f32 approximations of `ln`, `sin` and `cos`, made of `+ − × ÷`, `sqrt`-free bit
//! operations only: the same bits on every platform (no C library involved), and plain enough
//! for the compiler to vectorise loops over them. For bulk noise (film grain) and for the
//! decoder's `Sin` rewrite (`decoder/tract_graph.rs`), where 1e-6 is plenty.

/// `sin(2πf) ≈ f·(c0 + c1·f² + … + c5·f¹⁰)` on f ∈ [−0.5, 0.5]: a least-maximum-error fit
/// (1e-7 in exact arithmetic, 8.2e-7 evaluated in f32).
pub const SIN_TURNS: [f32; 6] = [6.283_183, -41.341_42, 81.596_18, -76.580_1, 41.205_395, -12.271_262];
/// `cos(2πf) ≈ c0 + c1·f² + … + c6·f¹²` on f ∈ [−0.5, 0.5] (1.1e-8 exact, 4.2e-7 in f32).
pub const COS_TURNS: [f32; 7] = [1.0, -19.739_204, 64.939_12, -85.450_165, 60.167_83, -25.968_313, 6.529_61];

const LN_2: f32 = std::f32::consts::LN_2;
const SQRT_2: f32 = std::f32::consts::SQRT_2;

/// `(sin 2πf, cos 2πf)` for `f` in [−0.5, 0.5] (whole turns removed by the caller); max error
/// 9e-7.
///
/// ```
/// let (s, c) = ntsbuild::dsp::approx::sin_cos_turns(0.125);
/// assert!((s - 0.5f32.sqrt()).abs() < 1e-6 && (c - 0.5f32.sqrt()).abs() < 1e-6);
/// ```
#[inline]
pub fn sin_cos_turns(f: f32) -> (f32, f32) {
    let f2 = f * f;
    let mut s = SIN_TURNS[5];
    for c in SIN_TURNS[..5].iter().rev() {
        s = s * f2 + c;
    }
    let mut k = COS_TURNS[6];
    for c in COS_TURNS[..6].iter().rev() {
        k = k * f2 + c;
    }
    (s * f, k)
}

/// Natural logarithm of a positive normal f32 (`x ≥ 2^-126`): `x = m·2^e` with m in
/// [√½, √2), `ln m = 2·atanh((m − 1)/(m + 1))` to the s⁹ term. Max error 4e-7 plus two f32
/// roundings at the result's magnitude (1.2e-7·|ln x|).
///
/// ```
/// assert!((ntsbuild::dsp::approx::ln(10.0) - 10f32.ln()).abs() < 1e-6);
/// ```
#[inline]
pub fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let exponent = ((bits >> 23) & 0xff) as i32 - 127;
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
    let high = mantissa > SQRT_2;
    let m = if high { mantissa * 0.5 } else { mantissa };
    let e = (exponent + i32::from(high)) as f32;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let p = (((s2 * (1.0 / 9.0) + 1.0 / 7.0) * s2 + 1.0 / 5.0) * s2 + 1.0 / 3.0) * s2 + 1.0;
    e * LN_2 + 2.0 * s * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_and_cosine_within_a_millionth() {
        let mut worst = 0.0f64;
        for i in -500_000..=500_000 {
            let f = i as f32 * 1e-6;
            let (s, c) = sin_cos_turns(f);
            let a = std::f64::consts::TAU * f64::from(f);
            worst = worst.max((f64::from(s) - a.sin()).abs()).max((f64::from(c) - a.cos()).abs());
        }
        assert!(worst < 9e-7, "max error {worst}");
    }

    #[test]
    fn logarithm_within_a_millionth_down_to_two_to_the_minus_24() {
        // Within 4e-7 plus two f32 roundings at the result's magnitude (1.2e-7·|ln x|).
        let mut worst = 0.0f64;
        let mut x = 2f32.powi(-24);
        while x < 1e6 {
            let exact = f64::from(x).ln();
            worst = worst.max((f64::from(ln(x)) - exact).abs() - 1.2e-7 * exact.abs());
            x *= 1.000_37;
        }
        assert!(worst < 4e-7, "max error beyond rounding {worst}");
        assert_eq!(ln(1.0), 0.0);
    }
}
