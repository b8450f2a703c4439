//! Draft 4 keywords one by one, with the messages AWS's validator gives for them.

use serde_json::json;

use super::schema_tests::one;
use crate::test_support::test;

#[test]
fn exclusive_minimum_and_maximum_are_booleans_in_draft_4() {
    let schema = json!({"type": "number", "minimum": 0, "exclusiveMinimum": true,
                        "maximum": 10, "exclusiveMaximum": true});
    assert_eq!(one(schema.clone(), "0.5"), Ok(()));
    assert_eq!(
        one(schema.clone(), "0"),
        Err("[numeric instance is not strictly greater than the required minimum 0]".to_owned())
    );
    assert_eq!(
        one(schema, "10"),
        Err("[numeric instance is not strictly lower than the required maximum 10]".to_owned())
    );
    // Without exclusiveMinimum the bound itself passes.
    assert_eq!(one(json!({"minimum": 0}), "0"), Ok(()));
}

#[test]
fn additional_properties_false() {
    let schema = json!({"type": "object", "properties": {"name": {"type": "string"}},
                        "additionalProperties": false});
    assert_eq!(one(schema.clone(), r#"{"name": "Rex"}"#), Ok(()));
    assert_eq!(
        one(schema, r#"{"name": "Rex", "owner": "me"}"#),
        Err(r#"[object instance has properties which are not allowed by the schema: ["owner"]]"#
            .to_owned())
    );
    let typed = json!({"additionalProperties": {"type": "integer"}});
    assert_eq!(one(typed.clone(), r#"{"a": 1, "b": 2}"#), Ok(()));
    assert!(one(typed, r#"{"a": 1, "b": "x"}"#).is_err());
}

#[test]
fn arrays_items_and_sizes() {
    let schema = json!({"type": "array", "items": {"type": "string"}, "minItems": 1,
                        "maxItems": 3, "uniqueItems": true});
    assert_eq!(one(schema.clone(), r#"["a", "b"]"#), Ok(()));
    assert_eq!(
        one(schema.clone(), "[]"),
        Err("[array is too short: must have at least 1 elements but instance has 0 elements]"
            .to_owned())
    );
    assert_eq!(
        one(schema.clone(), r#"["a", "b", "c", "d"]"#),
        Err("[array is too long: must have at most 3 elements but instance has 4 elements]"
            .to_owned())
    );
    assert_eq!(
        one(schema.clone(), r#"["a", "a"]"#),
        Err("[array must not contain duplicate elements]".to_owned())
    );
    assert_eq!(
        one(schema, r#"["a", 2]"#),
        Err(r#"[instance type (integer) does not match any allowed primitive type (allowed: ["string"])]"#.to_owned())
    );
    // Draft 4 tuple items with additionalItems false.
    let tuple =
        json!({"items": [{"type": "string"}, {"type": "integer"}], "additionalItems": false});
    assert_eq!(one(tuple.clone(), r#"["a", 1]"#), Ok(()));
    assert!(one(tuple, r#"["a", 1, null]"#).is_err());
}

#[test]
fn string_pattern_and_lengths() {
    let schema = json!({"type": "string", "pattern": "^[A-Za-z0-9]{4,10}$"});
    assert_eq!(one(schema.clone(), r#""johnsmith""#), Ok(()));
    assert_eq!(
        one(schema, r#""n@me!!""#),
        Err(r#"[ECMA 262 regex "^[A-Za-z0-9]{4,10}$" does not match input string "n@me!!"]"#
            .to_owned())
    );
    let sized = json!({"minLength": 2, "maxLength": 3});
    assert_eq!(
        one(sized.clone(), r#""a""#),
        Err(r#"[string "a" is too short (length: 1, required minimum: 2)]"#.to_owned())
    );
    assert_eq!(
        one(sized.clone(), r#""abcd""#),
        Err(r#"[string "abcd" is too long (length: 4, maximum allowed: 3)]"#.to_owned())
    );
    // Lengths count characters, not bytes.
    assert_eq!(one(sized, r#""été""#), Ok(()));
}

#[test]
fn formats_are_asserted() {
    let cases = [
        ("email", r#""rex@example.com""#, r#""rex.example.com""#, "is not a valid email address"),
        (
            "date-time",
            r#""2024-02-29T12:00:00Z""#,
            r#""yesterday""#,
            "is invalid against requested date format(s)",
        ),
        ("ipv4", r#""192.0.2.1""#, r#""192.0.2.256""#, "is not a valid IPv4 address"),
        ("ipv6", r#""2001:db8::1""#, r#""2001:db8:::1""#, "is not a valid IPv6 address"),
        ("uri", r#""https://example.com/a?b""#, r#""not a uri""#, "is not a valid URI"),
        ("hostname", r#""api.example.com""#, r#""-bad-.example""#, "is not a valid hostname"),
    ];
    for (format, good, bad, message) in cases {
        let schema = json!({"type": "string", "format": format});
        assert_eq!(one(schema.clone(), good), Ok(()), "{format}");
        let err = one(schema, bad).unwrap_err();
        assert!(err.contains(message), "{format}: {err}");
    }
    // Unknown formats are ignored; formats do not apply to other types.
    assert_eq!(one(json!({"format": "pet-name"}), r#""anything""#), Ok(()));
    assert_eq!(one(json!({"format": "email"}), "42"), Ok(()));
}

#[test]
fn integer_and_number_types() {
    assert_eq!(one(json!({"type": "integer"}), "3"), Ok(()));
    assert_eq!(
        one(json!({"type": "integer"}), "1.5"),
        Err(r#"[instance type (number) does not match any allowed primitive type (allowed: ["integer"])]"#.to_owned())
    );
    assert_eq!(one(json!({"type": "number"}), "3"), Ok(()));
    assert_eq!(one(json!({"type": ["string", "null"]}), "null"), Ok(()));
    assert_eq!(
        one(json!({"type": ["string", "null"]}), "true"),
        Err(r#"[instance type (boolean) does not match any allowed primitive type (allowed: ["null","string"])]"#.to_owned())
    );
    assert_eq!(
        one(json!({"multipleOf": 4}), "15"),
        Err("[remainder of division is not zero (15 / 4)]".to_owned())
    );
}

#[test]
fn combinators() {
    let any = json!({"anyOf": [{"type": "string"}, {"type": "integer"}]});
    assert_eq!(one(any.clone(), "1"), Ok(()));
    assert_eq!(
        one(any, "true"),
        Err("[instance failed to match at least one required schema among 2]".to_owned())
    );
    let exactly = json!({"oneOf": [{"type": "integer"}, {"minimum": 2}]});
    assert_eq!(one(exactly.clone(), "1"), Ok(()));
    assert_eq!(
        one(exactly, "3"),
        Err("[instance failed to match exactly one schema (matched more than one)]".to_owned())
    );
    let all = json!({"allOf": [{"type": "string"}, {"maxLength": 2}]});
    assert_eq!(
        one(all, r#""abc""#),
        Err(r#"[string "abc" is too long (length: 3, maximum allowed: 2)]"#.to_owned())
    );
    assert_eq!(
        one(json!({"not": {"type": "null"}}), "null"),
        Err("[instance matched a schema which it should not have]".to_owned())
    );
}

#[test]
fn property_dependencies() {
    let schema = json!({"dependencies": {"card": ["billing"]}});
    assert_eq!(one(schema.clone(), r#"{"card": 1, "billing": 2}"#), Ok(()));
    assert_eq!(
        one(schema, r#"{"card": 1}"#),
        Err(r#"[property "card" of object has missing property dependencies (missing: ["billing"])]"#.to_owned())
    );
}

#[test]
fn draft_4_ignores_siblings_of_ref() {
    let schema = json!({"definitions": {"s": {"type": "string"}},
                        "properties": {"a": {"$ref": "#/definitions/s", "maxLength": 1}}});
    assert_eq!(one(schema, r#"{"a": "long"}"#), Ok(()));
}
