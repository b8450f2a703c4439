//! Lets one test run natively (`cargo test`) and inside a wasm VM (`wasm-bindgen-test` on Node).

#[cfg(not(target_arch = "wasm32"))]
pub use core::prelude::v1::test;
#[cfg(target_arch = "wasm32")]
pub use wasm_bindgen_test::wasm_bindgen_test as test;
