//! Raw bindings to libsoxr 0.1.3 (bindings and C source as published in the `soxr-sys` 0.1.3
//! crate; `build.rs` compiles the SIMD single-precision engine as libsoxr's own CMake build does).
#![allow(non_upper_case_globals)]
#![allow(non_camel_case_types)]
#![allow(non_snake_case)]
#![allow(dead_code)]
#![allow(clippy::all)]

include!("soxr.rs");
