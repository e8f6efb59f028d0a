//! Portable f32 approximations of `ln`, `sin` and `cos`, made of `+ − × ÷`, `sqrt`-free bit
//! operations only: the same bits on every platform (no C library involved), and plain enough
//! for the compiler to vectorise loops over them. For bulk noise (film grain) and for the
//! decoder's `Sin` rewrite (`decoder/tract_graph.rs`), where 1e-6 is plenty. And [`sin_cos`],
//! f64 within a few ulp, for the grain window (`textures::clouds`).

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

/// `x` rounded to the nearest integer, ties to even, for |x| < 2⁵¹: adding and removing
/// 1.5·2⁵² leaves no fraction bits. Branch-free (`f64::round` is a library call on the baseline
/// x86-64 target, which stops loops vectorising).
#[inline(always)]
pub fn round_even(x: f64) -> f64 {
    const SHIFT: f64 = 6_755_399_441_055_744.0; // 1.5·2⁵²
    (x + SHIFT) - SHIFT
}

/// `(sin x, cos x)` for |x| ≤ 1e6, each within 2e-16·max(1, |x|) of the true value: `x` is
/// reduced by the nearest multiple of π/2 (π/2 in two parts, so the reduction is exact to
/// ~1e-21 per multiple), then fdlibm's minimax polynomials on [−π/4, π/4] and the quadrant's
/// swap and signs, chosen without branches so loops over it vectorise.
///
/// ```
/// let (s, c) = ntsbuild::dsp::approx::sin_cos(1.0);
/// assert!((s - 1f64.sin()).abs() < 1e-15 && (c - 1f64.cos()).abs() < 1e-15);
/// ```
#[inline(always)]
pub fn sin_cos(x: f64) -> (f64, f64) {
    const FRAC_2_PI: f64 = std::f64::consts::FRAC_2_PI;
    // π/2 = PIO2_HI + PIO2_LO, PIO2_HI with 33 significant bits (q·PIO2_HI is exact).
    const PIO2_HI: f64 = 1.570_796_326_734_125_6;
    const PIO2_LO: f64 = 6.077_100_506_506_192e-11;
    const S: [f64; 6] = [
        -1.666_666_666_666_663_2e-1,
        8.333_333_333_322_49e-3,
        -1.984_126_982_985_795e-4,
        2.755_731_370_707_006_8e-6,
        -2.505_076_025_340_686_3e-8,
        1.589_690_995_211_55e-10,
    ];
    const C: [f64; 6] = [
        4.166_666_666_666_602e-2,
        -1.388_888_888_887_411e-3,
        2.480_158_728_947_673e-5,
        -2.755_731_435_139_066_3e-7,
        2.087_572_321_298_175e-9,
        -1.135_964_755_778_819_5e-11,
    ];
    let q = round_even(x * FRAC_2_PI);
    let r = (x - q * PIO2_HI) - q * PIO2_LO;
    let z = r * r;
    let sp = S[0] + z * (S[1] + z * (S[2] + z * (S[3] + z * (S[4] + z * S[5]))));
    let cp = C[0] + z * (C[1] + z * (C[2] + z * (C[3] + z * (C[4] + z * C[5]))));
    let sin_r = r + r * z * sp;
    let cos_r = 1.0 - 0.5 * z + z * z * cp;
    // Quadrant n = q mod 4: (sin, cos) = (s, c), (c, −s), (−s, −c), (−c, s).
    let n = (q as i64) & 3;
    let (s, c) = if n & 1 == 0 { (sin_r, cos_r) } else { (cos_r, -sin_r) };
    if n & 2 == 0 { (s, c) } else { (-s, -c) }
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

    #[test]
    fn sin_cos_matches_the_library_to_a_few_ulp() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            // Across ±1000 rad, and densely around the quadrant boundaries of the first turns.
            for x in [f64::from(i) * 0.005_000_1, f64::from(i) * 1e-5 + std::f64::consts::FRAC_PI_4] {
                let (s, c) = sin_cos(x);
                let scale = x.abs().max(1.0);
                worst = worst.max((s - x.sin()).abs() / scale).max((c - x.cos()).abs() / scale);
            }
        }
        assert!(worst < 4e-16, "worst error {worst:e}");
        for k in -8..=8 {
            let x = f64::from(k) * std::f64::consts::FRAC_PI_2;
            let (s, c) = sin_cos(x);
            assert!((s - x.sin()).abs() < 1e-15 && (c - x.cos()).abs() < 1e-15, "{k}·π/2");
        }
        assert_eq!((round_even(2.5), round_even(-3.5), round_even(0.49)), (2.0, -4.0, 0.0));
    }
}
