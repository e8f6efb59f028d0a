//! Compiles libsoxr as its CMake build does by default on x86-64 and AArch64: the HQ
//! constant-rate engine in its SIMD form (`cr32s`, PFFFT transforms) and nothing else, so one
//! engine serves every `SOXR_HQ` resampler whatever the CPU or the environment (libsoxr chooses
//! between a plain and a SIMD engine at run time, `SOXR_USE_SIMD` included, only when both are
//! compiled in). Other architectures get the plain engine (`cr32`, Ooura transforms).

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let arch = env::var("CARGO_CFG_TARGET_ARCH").unwrap();
    let simd = matches!(arch.as_str(), "x86_64" | "x86" | "aarch64");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let flag = |b: bool| if b { 1 } else { 0 };
    let config = format!(
        "#if !defined soxr_config_included\n#define soxr_config_included\n\
         #define AVCODEC_FOUND 0\n#define AVUTIL_FOUND 0\n#define WITH_PFFFT {simd}\n\
         #define HAVE_FENV_H 1\n#define HAVE_STDBOOL_H 1\n#define HAVE_STDINT_H 1\n#define HAVE_LRINT 0\n\
         #define HAVE_BIGENDIAN 0\n#define WITH_CR32 {plain}\n#define WITH_CR32S {simd}\n#define WITH_CR64 0\n\
         #define WITH_CR64S 0\n#define WITH_VR32 0\n#define WITH_HI_PREC_CLOCK 0\n\
         #define WITH_FLOAT_STD_PREC_CLOCK 0\n#define WITH_DEV_TRACE 0\n#endif\n",
        simd = flag(simd),
        plain = flag(!simd),
    );
    fs::write(out.join("soxr-config.h"), config).unwrap();

    let mut build = cc::Build::new();
    build.include(&out).include("src").define("SOXR_LIB", "0").flag_if_supported("-std=gnu89");
    build.warnings(false);
    let mut sources = vec!["soxr.c", "data-io.c", "dbesi0.c", "filter.c", "fft4g64.c", "cr.c"];
    if simd {
        sources.extend(["cr32s.c", "pffft32s.c", "util32s.c"]);
    } else {
        sources.extend(["cr32.c", "fft4g32.c"]);
    }
    for s in sources {
        build.file(format!("src/{s}"));
        println!("cargo:rerun-if-changed=src/{s}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    build.compile("soxr");
    if env::var("CARGO_CFG_TARGET_OS").unwrap() != "windows" {
        println!("cargo:rustc-link-lib=m");
    }
}
