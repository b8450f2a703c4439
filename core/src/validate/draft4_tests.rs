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

#[test]
fn whole_floats_are_integers_and_numbers_compare_by_value() {
    assert_eq!(one(json!({"type": "integer"}), "1.0"), Ok(()));
    assert_eq!(one(json!({"type": "integer"}), "1e2"), Ok(()));
    // Messages name the type as the body writes it.
    assert_eq!(
        one(json!({"type": "string"}), "1.0"),
        Err(r#"[instance type (number) does not match any allowed primitive type (allowed: ["string"])]"#.to_owned())
    );
    assert_eq!(one(json!({"enum": [1, "a"]}), "1.0"), Ok(()));
    assert_eq!(
        one(json!({"enum": [{"a": [1, 2.0], "b": null}]}), r#"{"b": null, "a": [1.0, 2]}"#),
        Ok(())
    );
    assert_eq!(
        one(json!({"enum": [{"a": 1}]}), r#"{"a": 1, "b": 2}"#),
        Err(r#"[instance value ({"a":1,"b":2}) not found in enum (possible values: [{"a":1}])]"#
            .to_owned())
    );
    let unique = json!({"uniqueItems": true});
    assert!(one(unique.clone(), "[1, 1.0]").is_err());
    assert!(one(unique.clone(), r#"[{"a": 1, "b": [2]}, {"b": [2.0], "a": 1}]"#).is_err());
    assert_eq!(
        one(unique.clone(), r#"[{"a": 1}, {"a": 2}, [1], [1, 1], "1", 1, true, null]"#),
        Ok(())
    );
    // Large arrays hash their items first.
    let many: Vec<u32> = (0..1000).collect();
    assert_eq!(one(unique.clone(), &json!(many).to_string()), Ok(()));
    let mut repeated: Vec<serde_json::Value> = (0..1000).map(|i| json!({"id": i})).collect();
    repeated.push(json!({"id": 500.0}));
    assert_eq!(
        one(unique, &json!(repeated).to_string()),
        Err("[array must not contain duplicate elements]".to_owned())
    );
}

#[test]
fn multiple_of_decimal_fractions() {
    let cents = json!({"multipleOf": 0.01});
    assert_eq!(one(cents.clone(), "19.99"), Ok(()));
    assert_eq!(one(cents.clone(), "0.07"), Ok(()));
    assert_eq!(one(cents.clone(), "7"), Ok(()));
    assert_eq!(
        one(cents, "0.075"),
        Err("[remainder of division is not zero (0.075 / 0.01)]".to_owned())
    );
    assert_eq!(one(json!({"multipleOf": 2.5}), "7.5"), Ok(()));
}

#[test]
fn additional_items_and_pattern_properties() {
    let tuple = json!({"items": [{"type": "string"}], "additionalItems": {"type": "integer"}});
    assert_eq!(one(tuple.clone(), r#"["a", 1, 2]"#), Ok(()));
    let models = super::schema::Models::compile(&std::collections::BTreeMap::from([(
        "M".to_owned(),
        tuple,
    )]))
    .unwrap();
    let err = models.validate(models.id("M").unwrap(), br#"["a", 1, "b"]"#).unwrap_err();
    assert_eq!(err.issues[0].pointer, "/2");
    assert_eq!(
        one(json!({"items": [{}, {}], "additionalItems": false}), "[1, 2, 3, 4]"),
        Err("[array instance has 2 elements which are not allowed by the schema]".to_owned())
    );
    // Without `items` as an array, `additionalItems` has nothing to add to.
    assert_eq!(one(json!({"additionalItems": false}), "[1, 2]"), Ok(()));
    assert_eq!(one(json!({"items": {}, "additionalItems": false}), "[1, 2]"), Ok(()));

    let schema = json!({"properties": {"id": {"type": "string"}},
                        "patternProperties": {"^x-": {"type": "integer"}, "d$": {"minLength": 2}},
                        "additionalProperties": false});
    assert_eq!(one(schema.clone(), r#"{"id": "ab", "x-rate": 3}"#), Ok(()));
    assert_eq!(
        one(schema.clone(), r#"{"id": "a", "x-rate": "3", "other": 1, "more": 2}"#),
        Err(r#"[object instance has properties which are not allowed by the schema: ["more","other"], string "a" is too short (length: 1, required minimum: 2), instance type (string) does not match any allowed primitive type (allowed: ["integer"])]"#.to_owned())
    );
    // A pattern is a search, not a whole-string match.
    assert_eq!(one(json!({"pattern": "o+"}), r#""foo bar""#), Ok(()));
}

#[test]
fn dependencies_as_schemas_report_their_problems() {
    let schema = json!({"dependencies": {"card": {"required": ["billing"],
                        "properties": {"billing": {"type": "string"}}}}});
    assert_eq!(one(schema.clone(), r#"{"billing": 1}"#), Ok(()));
    assert_eq!(
        one(schema.clone(), r#"{"card": 1}"#),
        Err(r#"[object has missing required properties (["billing"])]"#.to_owned())
    );
    assert_eq!(
        one(schema, r#"{"card": 1, "billing": 2}"#),
        Err(r#"[instance type (integer) does not match any allowed primitive type (allowed: ["string"])]"#.to_owned())
    );
}

#[test]
fn combinators_of_one_report_its_problems() {
    // As `allOf` of one: the single cause is reported.
    assert_eq!(
        one(json!({"anyOf": [{"type": "string"}]}), "1"),
        Err(r#"[instance type (integer) does not match any allowed primitive type (allowed: ["string"])]"#.to_owned())
    );
    assert_eq!(
        one(json!({"oneOf": [{"type": "string"}, {"type": "boolean"}]}), "1"),
        Err("[instance failed to match exactly one schema (matched 0 out of 2)]".to_owned())
    );
    assert_eq!(one(json!({"not": {"type": "string"}}), "1"), Ok(()));
}

#[test]
fn problems_come_in_body_order() {
    let schema = json!({"required": ["z"], "properties": {
        "b": {"type": "string"}, "a": {"type": "array", "items": {"type": "string"}}}});
    assert_eq!(
        one(schema, r#"{"b": 1, "a": [true, "x", null]}"#),
        Err(r#"[object has missing required properties (["z"]), instance type (boolean) does not match any allowed primitive type (allowed: ["string"]), instance type (null) does not match any allowed primitive type (allowed: ["string"]), instance type (integer) does not match any allowed primitive type (allowed: ["string"])]"#.to_owned())
    );
}

#[test]
fn schemas_that_apply_themselves_endlessly_stop() {
    let err = one(json!({"allOf": [{"$ref": "#"}]}), "1").unwrap_err();
    assert_eq!(
        err,
        "[validation stopped: the schema applies itself without end, or nests too deeply]"
    );
    let schema = json!({"properties": {"a": {"anyOf": [{"$ref": "#/properties/a"}, {}]}}});
    assert!(one(schema, r#"{"a": 1}"#).is_err());
    // Recursion through the body is fine.
    let tree = json!({"properties": {"child": {"allOf": [{"$ref": "#"}]}}});
    assert_eq!(one(tree, r#"{"child": {"child": {"child": {}}}}"#), Ok(()));
}

#[test]
fn regex_and_other_formats() {
    assert_eq!(one(json!({"format": "regex"}), r#""^a+$""#), Ok(()));
    assert_eq!(
        one(json!({"format": "regex"}), r#""(a""#),
        Err(r#"[string "(a" is not a valid ECMA 262 regular expression]"#.to_owned())
    );
    assert_eq!(
        one(json!({"format": "uuid"}), r#""nope""#),
        Err(r#"[string "nope" is not a valid uuid]"#.to_owned())
    );
    assert_eq!(one(json!({"format": "date"}), r#""2024-02-29""#), Ok(()));
}

#[test]
fn properties_are_found_in_small_and_large_models() {
    // Few properties are scanned, many are searched: both find each one, and only it.
    for count in [3, 40] {
        let mut properties = serde_json::Map::new();
        for i in 0..count {
            properties.insert(format!("p{i}"), json!({"type": "integer"}));
        }
        // Same length and first byte as `p1`, but not declared: additional, and allowed.
        let schema = json!({"type": "object", "properties": properties});
        assert_eq!(one(schema.clone(), r#"{"p1": 1, "p2": 2, "q1": "x", "p": "y"}"#), Ok(()));
        let last = format!("p{}", count - 1);
        let bad = format!(r#"{{"p0": 0, "{last}": "text"}}"#);
        assert!(one(schema.clone(), &bad).is_err(), "{count}: `{last}` is checked");
        let closed =
            json!({"type": "object", "properties": properties, "additionalProperties": false});
        assert_eq!(
            one(closed, r#"{"p1": 1, "px": 2}"#),
            Err(r#"[object instance has properties which are not allowed by the schema: ["px"]]"#
                .to_owned()),
            "{count}"
        );
    }
}
