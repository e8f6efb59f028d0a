//! Portable f32 approximations of `ln`, `sin` and `cos`, made of `+ − × ÷`, `sqrt`-free bit
//! operations only: the same bits on every platform (no C library involved), and plain enough
//! for the compiler to vectorise loops over them. For bulk noise (film grain) and for the
//! decoder's `Sin` rewrite (`decoder/tract_graph.rs`), where 1e-6 is plenty. And [`sin_cos`]
//! and [`atan2`], f64 within a few ulp, for the phase vocoder (`textures::drones`).

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

/// `atan2(y, x)` within a few ulp, with the C library's results for signed zeros (`atan2(±0,
/// −0) = ±π`, `atan2(±0, +0) = ±0`): the ratio of the smaller to the larger magnitude, above
/// tan(π/8) moved by π/4 (`atan t = π/4 + atan((t − 1)/(t + 1))`), fdlibm's `atan` polynomial on
/// what is left, then the octant's reflections, chosen without branches so loops over it
/// vectorise. For finite arguments (the phases of FFT bins).
///
/// ```
/// let a = ntsbuild::dsp::approx::atan2(1.0, -2.0);
/// assert!((a - 1f64.atan2(-2.0)).abs() < 1e-15);
/// ```
#[inline(always)]
pub fn atan2(y: f64, x: f64) -> f64 {
    const AT: [f64; 11] = [
        3.333_333_333_333_293e-1,
        -1.999_999_999_987_648_3e-1,
        1.428_571_427_250_346_6e-1,
        -1.111_111_040_546_235_6e-1,
        9.090_887_133_436_507e-2,
        -7.691_876_205_044_83e-2,
        6.661_073_137_387_531e-2,
        -5.833_570_133_790_573_5e-2,
        4.976_877_994_615_932_4e-2,
        -3.653_157_274_421_691_6e-2,
        1.628_582_011_536_578_2e-2,
    ];
    const PI_4_HI: f64 = std::f64::consts::FRAC_PI_4;
    const PI_4_LO: f64 = 3.061_616_997_868_383e-17;
    const TAN_PI_8: f64 = 0.414_213_562_373_095_03;
    let (ax, ay) = (x.abs(), y.abs());
    let (small, large) = if ay > ax { (ax, ay) } else { (ay, ax) };
    let t = if large > 0.0 { small / large } else { 0.0 };
    let shifted = t > TAN_PI_8;
    let u = if shifted { (t - 1.0) / (t + 1.0) } else { t };
    let z = u * u;
    let w = z * z;
    let s1 = z * (AT[0] + w * (AT[2] + w * (AT[4] + w * (AT[6] + w * (AT[8] + w * AT[10])))));
    let s2 = w * (AT[1] + w * (AT[3] + w * (AT[5] + w * (AT[7] + w * AT[9]))));
    let tail = u * (s1 + s2);
    // atan t in [0, π/4].
    let a = if shifted { PI_4_HI - ((tail - PI_4_LO) - u) } else { u - tail };
    let a = if ay > ax { (PI_4_HI - a + PI_4_LO) + PI_4_HI } else { a };
    let a = if x.is_sign_negative() { (2.0 * PI_4_HI - a + 2.0 * PI_4_LO) + 2.0 * PI_4_HI } else { a };
    if y.is_sign_negative() { -a } else { a }
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
    fn atan2_matches_the_library_to_a_few_ulp_in_every_octant_and_at_zeros() {
        let mut worst = 0.0f64;
        for i in 0..200_000 {
            let angle = -std::f64::consts::PI + f64::from(i) * (std::f64::consts::TAU / 200_000.0);
            for r in [1e-300, 3e-9, 0.7, 1.0, 12_345.6] {
                let (y, x) = (r * angle.sin(), r * angle.cos());
                worst = worst.max((atan2(y, x) - y.atan2(x)).abs());
            }
        }
        // At and around the octant edges, where the reductions switch.
        for (y, x) in
            [(1.0, 1.0), (0.414_213_562_373_095, 1.0), (0.414_213_562_373_096, 1.0), (1.0, 1e-300), (-3.0, -3.0)]
        {
            worst = worst.max((atan2(y, x) - f64::atan2(y, x)).abs());
        }
        assert!(worst < 9e-16, "worst error {worst:e}");
        for (y, x) in
            [(0.0, 0.0), (-0.0, 0.0), (0.0, -0.0), (-0.0, -0.0), (0.0, 5.0), (-0.0, -5.0), (3.0, 0.0), (-3.0, -0.0)]
        {
            assert_eq!(atan2(y, x).to_bits(), f64::atan2(y, x).to_bits(), "atan2({y}, {x})");
        }
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
