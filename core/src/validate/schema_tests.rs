//! Body validation against models: the AWS developer guide's PetStore models, references between
//! models, bodies that are empty or not JSON, messages, and models that do not compile.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::schema::{ModelError, Models, MAX_DEPTH};
use crate::test_support::test;

const API: &str = "https://apigateway.amazonaws.com/restapis/a1b2c3/models";

/// The developer guide's PetStore models, as API Gateway stores them.
fn petstore() -> BTreeMap<String, Value> {
    BTreeMap::from([
        (
            "PetType".to_owned(),
            json!({"type": "string", "enum": ["dog", "cat", "fish", "bird", "gecko"]}),
        ),
        (
            "Pet".to_owned(),
            json!({"type": "object", "properties": {
                "id": {"type": "integer"}, "type": {"type": "string"}, "price": {"type": "number"}}}),
        ),
        (
            "NewPet".to_owned(),
            json!({"type": "object", "properties": {
                "type": {"$ref": format!("{API}/PetType")},
                "price": {"type": "number", "minimum": 25, "maximum": 500}}}),
        ),
        ("Pets".to_owned(), json!({"type": "array", "items": {"$ref": format!("{API}/Pet")}})),
        (
            "NewPetResponse".to_owned(),
            json!({"type": "object", "properties": {
                "pet": {"$ref": format!("{API}/Pet")}, "message": {"type": "string"}}}),
        ),
        // The request validation tutorial's model.
        (
            "RequestBodyModel".to_owned(),
            json!({
                "$schema": "http://json-schema.org/draft-04/schema#",
                "type": "object",
                "required": ["name", "price", "type"],
                "properties": {
                    "id": {"type": "integer"},
                    "type": {"type": "string", "enum": ["dog", "cat", "fish"]},
                    "name": {"type": "string"},
                    "price": {"type": "number", "minimum": 25.0, "maximum": 500.0}
                }
            }),
        ),
        (
            "Empty".to_owned(),
            json!({"$schema": "http://json-schema.org/draft-04/schema#", "title": "Empty Schema", "type": "object"}),
        ),
    ])
}

/// `Ok(())` or the validation error string.
pub(super) fn check(models: &Models, model: &str, body: &str) -> Result<(), String> {
    let id = models.id(model).unwrap();
    models.validate(id, body.as_bytes()).map_err(|e| e.validation_error_string())
}

pub(super) fn one(schema: Value, body: &str) -> Result<(), String> {
    let models = Models::compile(&BTreeMap::from([("M".to_owned(), schema)])).unwrap();
    check(&models, "M", body)
}

pub(super) fn compile_error(models: &[(&str, Value)]) -> ModelError {
    let map: BTreeMap<String, Value> =
        models.iter().map(|(name, schema)| (name.to_string(), schema.clone())).collect();
    Models::compile(&map).unwrap_err()
}

#[test]
fn petstore_models_compile() {
    let models = Models::compile(&petstore()).unwrap();
    assert_eq!(
        models.names().collect::<Vec<_>>(),
        ["Empty", "NewPet", "NewPetResponse", "Pet", "PetType", "Pets", "RequestBodyModel"]
    );
    assert_eq!(models.id("Nope"), None);
}

#[test]
fn new_pet_accepts_a_valid_pet() {
    let models = Models::compile(&petstore()).unwrap();
    assert_eq!(check(&models, "NewPet", r#"{"type": "gecko", "price": 25}"#), Ok(()));
    assert_eq!(check(&models, "NewPet", r#"{"type": "dog", "price": 500.0}"#), Ok(()));
}

#[test]
fn new_pet_type_resolves_the_pet_type_model_by_its_api_gateway_address() {
    let models = Models::compile(&petstore()).unwrap();
    assert_eq!(
        check(&models, "NewPet", r#"{"type": "lizard", "price": 30}"#),
        Err(r#"[instance value ("lizard") not found in enum (possible values: ["dog","cat","fish","bird","gecko"])]"#.to_owned())
    );
}

#[test]
fn new_pet_price_bounds() {
    let models = Models::compile(&petstore()).unwrap();
    assert_eq!(
        check(&models, "NewPet", r#"{"type": "cat", "price": 10}"#),
        Err("[numeric instance is lower than the required minimum (minimum: 25, found: 10)]"
            .to_owned())
    );
    assert_eq!(
        check(&models, "NewPet", r#"{"type": "cat", "price": 500.5}"#),
        Err("[numeric instance is greater than the required maximum (maximum: 500, found: 500.5)]"
            .to_owned())
    );
    assert_eq!(
        check(&models, "NewPet", r#"{"price": "cheap"}"#),
        Err(r#"[instance type (string) does not match any allowed primitive type (allowed: ["number"])]"#.to_owned())
    );
}

#[test]
fn pets_items_reference_the_pet_model_through_another_api_id() {
    let models = Models::compile(&petstore()).unwrap();
    assert_eq!(check(&models, "Pets", r#"[{"id": 1, "type": "dog", "price": 249.99}]"#), Ok(()));
    assert_eq!(
        check(&models, "Pets", r#"[{"id": 1}, {"id": "two"}]"#),
        Err(r#"[instance type (string) does not match any allowed primitive type (allowed: ["integer"])]"#.to_owned())
    );
    assert_eq!(
        check(&models, "NewPetResponse", r#"{"pet": {"price": true}, "message": 1}"#),
        Err(r#"[instance type (integer) does not match any allowed primitive type (allowed: ["string"]), instance type (boolean) does not match any allowed primitive type (allowed: ["number"])]"#.to_owned())
    );
}

#[test]
fn required_properties_are_listed() {
    let models = Models::compile(&petstore()).unwrap();
    assert_eq!(
        check(&models, "RequestBodyModel", r#"{"type": "dog"}"#),
        Err(r#"[object has missing required properties (["name","price"])]"#.to_owned())
    );
    let ok = r#"{"name": "Rex", "type": "dog", "price": 25.5}"#;
    assert_eq!(check(&models, "RequestBodyModel", ok), Ok(()));
}

#[test]
fn empty_body_is_an_empty_object() {
    let models = Models::compile(&petstore()).unwrap();
    assert_eq!(
        check(&models, "RequestBodyModel", ""),
        Err(r#"[object has missing required properties (["name","price","type"])]"#.to_owned())
    );
    assert_eq!(check(&models, "Empty", ""), Ok(()));
    assert_eq!(check(&models, "NewPet", "  \n"), Ok(()));
    assert_eq!(
        check(&models, "PetType", ""),
        Err(r#"[instance type (object) does not match any allowed primitive type (allowed: ["string"])]"#.to_owned())
    );
}

#[test]
fn a_body_that_is_not_json_is_invalid() {
    let models = Models::compile(&petstore()).unwrap();
    let err = check(&models, "Empty", "<pet>Rex</pet>").unwrap_err();
    assert_eq!(err, "[Invalid JSON: expected value at line 1 column 1]");
    let err = check(&models, "Empty", r#"{"name": "Rex""#).unwrap_err();
    assert!(err.starts_with("[Invalid JSON: EOF while parsing an object"), "{err}");
    let err = check(&models, "Empty", "{} {}").unwrap_err();
    assert!(err.starts_with("[Invalid JSON: trailing characters"), "{err}");
    // `Empty` is `"type": "object"`: JSON that is not an object fails it.
    assert!(check(&models, "Empty", "[]").is_err());
}

#[test]
fn local_definitions_and_recursion() {
    let schema = json!({
        "definitions": {
            "node": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}
        },
        "$ref": "#/definitions/node"
    });
    let ok = r#"{"name": "root", "children": [{"name": "a", "children": [{"name": "b"}]}]}"#;
    assert_eq!(one(schema.clone(), ok), Ok(()));
    assert_eq!(
        one(schema, r#"{"name": "root", "children": [{"children": []}]}"#),
        Err(r#"[object has missing required properties (["name"])]"#.to_owned())
    );
}

#[test]
fn models_may_reference_each_other_in_a_cycle() {
    let models = BTreeMap::from([
        (
            "Person".to_owned(),
            json!({"type": "object", "properties": {
            "pets": {"type": "array", "items": {"$ref": format!("{API}/Pet")}}}}),
        ),
        (
            "Pet".to_owned(),
            json!({"type": "object", "properties": {
            "owner": {"$ref": format!("{API}/Person")}, "name": {"type": "string"}}}),
        ),
    ]);
    let models = Models::compile(&models).unwrap();
    assert_eq!(check(&models, "Person", r#"{"pets": [{"owner": {"pets": []}}]}"#), Ok(()));
    assert!(check(&models, "Person", r#"{"pets": [{"owner": {"pets": [{"name": 1}]}}]}"#).is_err());
}

#[test]
fn ref_into_another_models_definitions() {
    let models = BTreeMap::from([
        ("Shared".to_owned(), json!({"definitions": {"id": {"type": "string", "pattern": "^p-"}}})),
        (
            "Order".to_owned(),
            json!({"properties": {"petId": {"$ref": format!("{API}/Shared#/definitions/id")}}}),
        ),
    ]);
    let models = Models::compile(&models).unwrap();
    assert_eq!(check(&models, "Order", r#"{"petId": "p-1"}"#), Ok(()));
    assert!(check(&models, "Order", r#"{"petId": "x-1"}"#).is_err());
}

#[test]
fn at_most_five_messages_comma_separated() {
    let props: serde_json::Map<String, Value> =
        (0..8).map(|i| (format!("p{i}"), json!({"type": "string"}))).collect();
    let body: serde_json::Map<String, Value> =
        (0..8).map(|i| (format!("p{i}"), json!(i))).collect();
    let err = one(json!({"properties": props}), &Value::Object(body).to_string()).unwrap_err();
    let message = r#"instance type (integer) does not match any allowed primitive type (allowed: ["string"])"#;
    assert_eq!(err, format!("[{}]", [message; 5].join(", ")));
}

#[test]
fn issues_say_where() {
    let models = Models::compile(&petstore()).unwrap();
    let id = models.id("Pets").unwrap();
    let err = models.validate(id, br#"[{}, {"price": "x"}]"#).unwrap_err();
    assert_eq!(err.issues.len(), 1);
    assert_eq!(err.issues[0].pointer, "/1/price");
    assert_eq!(err.to_string(), err.validation_error_string());
}

#[test]
fn a_model_id_of_other_models_does_not_panic() {
    let small = Models::compile(&BTreeMap::from([("A".to_owned(), json!({}))])).unwrap();
    let big = Models::compile(&petstore()).unwrap();
    let foreign = big.id("RequestBodyModel").unwrap();
    // Either reported as unknown or validated against some schema of `small`; never a panic.
    let _ = small.validate(foreign, b"{}");
}

#[test]
fn invalid_schemas_name_the_model() {
    let err = compile_error(&[("Good", json!({})), ("Bad", json!({"type": "strin"}))]);
    assert_eq!(err.model, "Bad");
    assert!(err.reason.starts_with("invalid schema: "), "{err}");
    assert!(err.to_string().starts_with("model Bad: "), "{err}");

    let err = compile_error(&[("Bad", json!({"required": "name"}))]);
    assert!(err.reason.contains("/required"), "{err}");
    let err = compile_error(&[("Bad", json!({"minimum": "25"}))]);
    assert!(err.reason.contains("/minimum"), "{err}");
    // Draft 4's metaschema wants at least one required name.
    let err = compile_error(&[("Bad", json!({"required": []}))]);
    assert!(err.reason.contains("/required"), "{err}");
    let err = compile_error(&[("Bad", json!({"pattern": "(unclosed"}))]);
    assert_eq!(err.model, "Bad");
    let err = compile_error(&[("Bad", json!("not a schema"))]);
    assert_eq!(err.model, "Bad");
}

#[test]
fn unresolvable_references_name_the_model() {
    let err = compile_error(&[("NewPet", json!({"$ref": format!("{API}/PetType")}))]);
    assert_eq!(err.model, "NewPet");
    assert!(err.reason.contains("no model named \"PetType\""), "{err}");

    let err = compile_error(&[("M", json!({"$ref": "#/definitions/missing"}))]);
    assert_eq!(err.model, "M");
    for remote in ["https://example.com/schema.json", "file:///etc/passwd", "urn:pets:pet"] {
        let err = compile_error(&[("M", json!({"properties": {"a": {"$ref": remote}}}))]);
        assert_eq!(err.model, "M");
        assert!(err.reason.contains("only other models can be referenced"), "{remote}: {err}");
    }
    // A relative reference resolves against the model's own address: a sibling model.
    let err = compile_error(&[("M", json!({"$ref": "Other"}))]);
    assert!(err.reason.contains("no model named \"Other\""), "{err}");
    let models = BTreeMap::from([
        ("M".to_owned(), json!({"$ref": "PetType"})),
        ("PetType".to_owned(), json!({"enum": ["dog"]})),
    ]);
    let models = Models::compile(&models).unwrap();
    assert_eq!(check(&models, "M", r#""dog""#), Ok(()));
    assert!(check(&models, "M", r#""cat""#).is_err());
}

#[test]
fn models_are_send_and_sync() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Models>();
}

#[test]
fn deeply_nested_bodies_stop_at_the_depth_limit() {
    // The deepest body allowed validates (in a 2 MB test thread natively, and in wasm); one level
    // more is refused before parsing.
    let schema = json!({"type": ["array", "integer"], "items": {"$ref": "#"}});
    let nested =
        |depth: usize, leaf: &str| format!("{}{leaf}{}", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(one(schema.clone(), &nested(MAX_DEPTH, "1")), Ok(()));
    let err = one(schema.clone(), &nested(MAX_DEPTH, "true")).unwrap_err();
    assert!(err.contains("instance type (boolean)"), "{err}");
    let too_deep = format!("[Invalid JSON: nested deeper than {MAX_DEPTH} levels]");
    assert_eq!(one(schema.clone(), &nested(MAX_DEPTH + 1, "1")), Err(too_deep.clone()));
    assert_eq!(one(schema, &nested(10_000, "1")), Err(too_deep));
}

#[test]
fn malformed_schemas_say_where_and_what() {
    let reason = |schema: Value| compile_error(&[("M", schema)]).reason;
    assert_eq!(
        reason(json!({"type": "strnig"})),
        r#"invalid schema: [/type: "strnig" is not a type (one of null, boolean, number, integer, string, array, object)]"#
    );
    assert_eq!(
        reason(json!({"minimum": "x"})),
        "invalid schema: [/minimum: must be a number, not string]"
    );
    assert_eq!(
        reason(json!({"required": []})),
        "invalid schema: [/required: must list at least one name]"
    );
    assert_eq!(
        reason(json!({"properties": 5})),
        "invalid schema: [/properties: must be an object of schemas, not number]"
    );
    assert!(reason(json!({"pattern": "(unclosed"})).starts_with(
        r#"invalid schema: [/pattern: "(unclosed" is not a valid regular expression: "#
    ));
    assert!(reason(json!({"patternProperties": {"a(": {}}}))
        .starts_with("invalid schema: [/patternProperties/a(: not a valid regular expression"));
    assert_eq!(
        reason(json!({"properties": {"a/b": {"items": [{"maxLength": -1}, 3]}}})),
        "invalid schema: [/properties/a~1b/items/0/maxLength: must be a non-negative integer, not -1, /properties/a~1b/items/1: a schema is an object, not number]"
    );
    assert_eq!(
        reason(json!({"exclusiveMaximum": true})),
        "invalid schema: [/exclusiveMaximum: needs maximum beside it]"
    );
    assert_eq!(
        reason(json!({"multipleOf": 0})),
        "invalid schema: [/multipleOf: must be greater than 0]"
    );
    assert_eq!(
        reason(json!({"enum": [1, 1.0]})),
        "invalid schema: [/enum: must not list a value twice]"
    );
    assert_eq!(
        reason(json!({"type": []})),
        "invalid schema: [/type: must be a type name or a non-empty array of them]"
    );
    assert_eq!(
        reason(json!({"dependencies": {"a": []}})),
        "invalid schema: [/dependencies/a: must list at least one name]"
    );
    assert_eq!(
        reason(json!({"allOf": {}})),
        "invalid schema: [/allOf: must be an array of schemas, not object]"
    );
    assert_eq!(reason(json!({"$ref": 5})), "invalid schema: [/$ref: must be a string, not number]");
    // Unused places are checked too: definitions, and the ignored siblings of `$ref`.
    assert_eq!(
        reason(json!({"definitions": {"x": {"minItems": "1"}}})),
        "invalid schema: [/definitions/x/minItems: must be a non-negative integer, not \"1\"]"
    );
    assert_eq!(
        reason(json!({"definitions": {"s": {}}, "$ref": "#/definitions/s", "title": 1})),
        "invalid schema: [/title: must be a string, not number]"
    );
    // Counts may be written as whole floats; unknown keywords and formats are ignored.
    assert!(Models::compile(&BTreeMap::from([(
        "M".to_owned(),
        json!({"minLength": 2.0, "x-amazon-thing": {"type": 5}, "format": "pet-name"})
    )]))
    .is_ok());
}

#[test]
fn only_draft_4_is_read() {
    for draft4 in
        ["http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-04/schema"]
    {
        assert!(Models::compile(&BTreeMap::from([("M".to_owned(), json!({"$schema": draft4}))]))
            .is_ok());
    }
    let err =
        compile_error(&[("M", json!({"$schema": "http://json-schema.org/draft-07/schema#"}))]);
    assert!(err.reason.starts_with("invalid schema: [/$schema: "), "{err}");
    assert!(err.reason.contains("draft 4"), "{err}");
}

#[test]
fn references_that_only_lead_to_each_other_do_not_compile() {
    let err = compile_error(&[("M", json!({"$ref": "#"}))]);
    assert!(err.reason.contains("never to a schema"), "{err}");
    let err = compile_error(&[
        ("A", json!({"$ref": format!("{API}/B")})),
        ("B", json!({"$ref": format!("{API}/A")})),
    ]);
    assert_eq!(err.model, "A");
    assert!(err.reason.contains("never to a schema"), "{err}");
}

#[test]
fn reference_pointers_escape_and_decode() {
    let schema = json!({
        "definitions": {"a/b": {"type": "string"}, "c~d": {"type": "integer"}, "e f": {"type": "boolean"}},
        "properties": {
            "slash": {"$ref": "#/definitions/a~1b"},
            "tilde": {"$ref": "#/definitions/c~0d"},
            "space": {"$ref": "#/definitions/e%20f"},
            "tuple": {"items": [{"type": "null"}]},
            "first": {"$ref": "#/properties/tuple/items/0"},
            "shared": {"$ref": "#/x-shared/pet"}
        },
        "x-shared": {"pet": {"required": ["name"]}}
    });
    let ok = r#"{"slash": "s", "tilde": 1, "space": true, "first": null, "shared": {"name": 1}}"#;
    assert_eq!(one(schema.clone(), ok), Ok(()));
    assert!(one(schema.clone(), r#"{"tilde": "1"}"#).is_err());
    assert!(one(schema.clone(), r#"{"space": 1}"#).is_err());
    assert!(one(schema.clone(), r#"{"first": 1}"#).is_err());
    assert_eq!(
        one(schema, r#"{"shared": {}}"#),
        Err(r#"[object has missing required properties (["name"])]"#.to_owned())
    );
    let err = compile_error(&[("M", json!({"properties": {"a": {"$ref": "#pet"}}}))]);
    assert!(err.reason.contains("(at /properties/a/$ref)"), "{err}");
    let err = compile_error(&[("M", json!({"$ref": "#/x-shared/pet"}))]);
    assert!(err.reason.contains("there is nothing at \"/x-shared/pet\""), "{err}");
    let err =
        compile_error(&[("M", json!({"$ref": "#/x"})), ("N", json!({"x": {"type": "nope"}}))]);
    assert!(err.reason.contains("there is nothing"), "{err}");
    // A place outside the schema positions is checked when referenced.
    let err = compile_error(&[
        ("M", json!({"$ref": format!("{API}/N#/x")})),
        ("N", json!({"x": {"type": "nope"}})),
    ]);
    assert_eq!(err.model, "M");
    assert!(err.reason.starts_with("invalid schema: [model N /x/type: "), "{err}");
}

/// A JSON value of another shape: members in document order, numbers as i64 or f64.
#[derive(Debug)]
enum Doc {
    Null,
    Int(i64),
    Float(f64),
    Str(&'static str),
    List(Vec<Doc>),
    Map(Vec<(&'static str, Doc)>),
}

impl super::Instance for Doc {
    fn kind(&self) -> super::Kind<'_> {
        match self {
            Doc::Null => super::Kind::Null,
            Doc::Int(i) => super::Kind::Int(*i),
            Doc::Float(f) => super::Kind::Float(*f),
            Doc::Str(s) => super::Kind::Str(s),
            Doc::List(_) => super::Kind::Array,
            Doc::Map(_) => super::Kind::Object,
        }
    }

    fn len(&self) -> usize {
        match self {
            Doc::List(items) => items.len(),
            Doc::Map(members) => members.len(),
            _ => 0,
        }
    }

    fn item(&self, index: usize) -> Option<&Doc> {
        match self {
            Doc::List(items) => items.get(index),
            _ => None,
        }
    }

    fn member(&self, name: &str) -> Option<&Doc> {
        match self {
            Doc::Map(members) => members.iter().find(|(n, _)| *n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    fn for_each_member(
        &self,
        f: &mut dyn FnMut(&str, &Doc) -> std::ops::ControlFlow<()>,
    ) -> std::ops::ControlFlow<()> {
        if let Doc::Map(members) = self {
            for (name, value) in members {
                f(name, value)?;
            }
        }
        std::ops::ControlFlow::Continue(())
    }
}

#[test]
fn other_value_types_validate_as_they_are() {
    let models = Models::compile(&petstore()).unwrap();
    let model = models.id("RequestBodyModel").unwrap();
    let pet = Doc::Map(vec![
        ("type", Doc::Str("dog")),
        ("name", Doc::Str("Rex")),
        ("price", Doc::Float(25.5)),
    ]);
    assert_eq!(models.validate_instance(model, &pet), Ok(()));
    // Members out of order: the problems still come by property name.
    let bad = Doc::Map(vec![
        ("type", Doc::Str("lizard")),
        ("price", Doc::Int(10)),
        ("name", Doc::Null),
        ("id", Doc::Float(1.5)),
    ]);
    let err = models.validate_instance(model, &bad).unwrap_err();
    let pointers: Vec<&str> = err.issues.iter().map(|i| i.pointer.as_str()).collect();
    assert_eq!(pointers, ["/id", "/name", "/price", "/type"]);
    assert_eq!(
        err.issues[3].message,
        r#"instance value ("lizard") not found in enum (possible values: ["dog","cat","fish"])"#
    );
    // JSON equality across number representations, and objects in any order.
    let enums = Models::compile(&BTreeMap::from([(
        "E".to_owned(),
        json!({"items": {"enum": [1, {"a": 1, "b": [2.5]}]}, "uniqueItems": true}),
    )]))
    .unwrap();
    let e = enums.id("E").unwrap();
    let list = Doc::List(vec![
        Doc::Float(1.0),
        Doc::Map(vec![("b", Doc::List(vec![Doc::Float(2.5)])), ("a", Doc::Int(1))]),
    ]);
    assert_eq!(enums.validate_instance(e, &list), Ok(()));
    let twice = Doc::List(vec![Doc::Float(1.0), Doc::Int(1)]);
    assert_eq!(
        enums.validate_instance(e, &twice).unwrap_err().validation_error_string(),
        "[array must not contain duplicate elements]"
    );
}

#[test]
fn long_chains_of_schemas_stop_before_the_stack_does() {
    // Each definition applies the next to the same value: no cycle, but deeper than validation
    // goes. Reported, natively and in wasm, instead of overflowing the stack.
    let chain = |n: usize| {
        let definitions: serde_json::Map<String, Value> = (0..n)
            .map(|i| {
                let next = if i + 1 < n {
                    json!({"allOf": [{"$ref": format!("#/definitions/d{}", i + 1)}]})
                } else {
                    json!({"type": "integer"})
                };
                (format!("d{i}"), next)
            })
            .collect();
        json!({"definitions": definitions, "$ref": "#/definitions/d0"})
    };
    assert_eq!(one(chain(100), "1"), Ok(()));
    assert!(one(chain(100), "true").unwrap_err().contains("instance type (boolean)"));
    assert_eq!(
        one(chain(2000), "1"),
        Err("[validation stopped: the schema applies itself without end, or nests too deeply]"
            .to_owned())
    );
}

#[test]
fn deeply_nested_schemas_compile_up_to_a_limit() {
    let nested =
        |depth: usize| (0..depth).fold(json!({"type": "integer"}), |s, _| json!({"not": s}));
    let models = Models::compile(&BTreeMap::from([("M".to_owned(), nested(127))])).unwrap();
    assert!(check(&models, "M", "1").is_err());
    assert_eq!(check(&models, "M", "true"), Ok(()));
    let err = compile_error(&[("M", nested(200))]);
    assert!(err.reason.contains("schemas nest deeper than 128"), "{err}");
}
