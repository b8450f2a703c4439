//! Request body validation (JSON Schema draft 4 models): hostile bodies against fixed models,
//! and hostile models (first byte odd: `schema SEP body`) compiled and applied.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use tollgate_core::validate::Models;
use tollgate_fuzz::{rich_config, sections};

fn fixed_models() -> BTreeMap<String, Value> {
    let mut models: BTreeMap<String, Value> =
        serde_json::from_value(rich_config()["models"].clone()).expect("models");
    models.insert(
        "Everything".into(),
        json!({
            "type": ["object", "array", "string", "number", "boolean", "null"],
            "properties": {
                "s": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^(a|b)+$", "format": "email"},
                "n": {"type": "number", "minimum": -1.5, "maximum": 1e300, "exclusiveMaximum": true, "multipleOf": 0.01},
                "i": {"type": "integer", "multipleOf": 7},
                "d": {"type": "object", "minProperties": 1, "maxProperties": 3,
                      "patternProperties": {"^x-": {"type": "string"}}, "additionalProperties": {"type": "integer"},
                      "dependencies": {"a": ["b"], "c": {"required": ["d"]}}},
                "l": {"type": "array", "items": [{"type": "string"}, {"type": "number"}], "additionalItems": false,
                      "minItems": 1, "uniqueItems": true},
                "deep": {"$ref": "#"},
                "all": {"allOf": [{"type": "string"}, {"not": {"enum": ["no"]}}]},
                "date": {"type": "string", "format": "date-time"},
                "ip": {"type": "string", "format": "ipv4"},
                "uri": {"type": "string", "format": "uri"},
            },
            "required": ["s"],
        }),
    );
    models
}

thread_local! {
    static MODELS: (Models, Vec<String>) = {
        let models = fixed_models();
        let names = models.keys().cloned().collect();
        (Models::compile(&models).expect("the fixed models"), names)
    };
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode % 2 == 0 {
        MODELS.with(|(models, names)| {
            for name in names {
                let Some(id) = models.id(name) else { continue };
                if let Err(e) = models.validate(id, rest) {
                    let _ = e.validation_error_string();
                }
            }
        });
        return;
    }
    let parts = sections(rest);
    let Ok(schema) = serde_json::from_slice::<Value>(parts.first().copied().unwrap_or_default())
    else {
        return;
    };
    let mut models = fixed_models();
    models.insert("M".into(), schema);
    let Ok(compiled) = Models::compile(&models) else { return };
    let Some(id) = compiled.id("M") else { return };
    for body in parts.iter().skip(1) {
        if let Err(e) = compiled.validate(id, body) {
            let _ = e.validation_error_string();
        }
    }
});
