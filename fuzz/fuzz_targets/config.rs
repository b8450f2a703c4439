//! The config document: parse, validate and compile (what `on_configure` and `tollgate validate`
//! do with an operator's JSON). A config that parses is written back the same (the CLI saves
//! specs with these types) and compiles or is refused, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tollgate_core::config::Config;
use tollgate_core::deployment::Deployment;

fuzz_target!(|data: &[u8]| {
    let Ok(config) = Config::from_json(data) else { return };
    let saved = serde_json::to_vec(&config).expect("a config serializes");
    let loaded = Config::from_json(&saved);
    assert_eq!(loaded.as_ref().ok(), Some(&config), "saved: {}", String::from_utf8_lossy(&saved));
    let env = |name: &str| (name == "FUZZ_SECRET").then(|| "from-env".to_string());
    let _ = Deployment::compile(&config, &env);
});
