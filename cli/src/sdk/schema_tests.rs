use serde_json::json;

use super::*;

fn types_of(models: serde_json::Value) -> Types {
    let models: BTreeMap<String, Value> = serde_json::from_value(models).unwrap();
    convert(&models, &mut Scope::with(&["ApiError", "BaseClient"]))
}

fn def<'a>(types: &'a Types, name: &str) -> &'a NamedType {
    types.defs.iter().find(|t| t.name == name).unwrap_or_else(|| panic!("no {name}: {types:?}"))
}

fn fields(types: &Types, name: &str) -> Vec<(String, Type, bool)> {
    match &def(types, name).shape {
        Shape::Object { fields, .. } => {
            fields.iter().map(|f| (f.name.clone(), f.ty.clone(), f.required)).collect()
        }
        other => panic!("{name} is {other:?}"),
    }
}

fn named(name: &str) -> Type {
    Type::Named(name.into())
}

#[test]
fn objects_have_required_and_optional_typed_fields() {
    let types = types_of(json!({"Pet": {
        "type": "object",
        "description": "A pet.",
        "required": ["name", "id"],
        "properties": {
            "id": {"type": "integer"},
            "name": {"type": "string", "description": "Its name"},
            "price": {"type": "number"},
            "vaccinated": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "kind": {"type": "string", "enum": ["dog", "cat"]},
            "note": {"type": ["string", "null"]},
            "extra": {"type": "object", "additionalProperties": {"type": "integer"}},
            "anything": {},
        },
    }}));
    assert_eq!(def(&types, "Pet").doc.as_deref(), Some("A pet."));
    assert_eq!(
        fields(&types, "Pet"),
        vec![
            ("anything".into(), Type::Any, false),
            ("extra".into(), Type::Map(Box::new(Type::Integer)), false),
            ("id".into(), Type::Integer, true),
            ("kind".into(), Type::Literals(vec![json!("dog"), json!("cat")]), false),
            ("name".into(), Type::String, true),
            ("note".into(), Type::Union(vec![Type::String, Type::Null]), false),
            ("price".into(), Type::Number, false),
            ("tags".into(), Type::Array(Box::new(Type::String)), false),
            ("vaccinated".into(), Type::Boolean, false),
        ]
    );
    assert_eq!(types.model("Pet"), named("Pet"));
    assert_eq!(types.model("Nope"), Type::Any);
}

#[test]
fn inline_objects_become_types_named_after_their_place() {
    let types = types_of(json!({"Pet": {"type": "object", "properties": {
        "owner": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "visits": {"type": "array", "items": {"properties": {"at": {"type": "string"}}}},
    }}}));
    assert_eq!(
        fields(&types, "Pet"),
        vec![
            ("owner".into(), named("PetOwner"), false),
            ("visits".into(), Type::Array(Box::new(named("PetVisitsItem"))), false),
        ]
    );
    assert_eq!(fields(&types, "PetOwner"), vec![("name".into(), Type::String, true)]);
    assert_eq!(fields(&types, "PetVisitsItem"), vec![("at".into(), Type::String, false)]);
}

#[test]
fn references_name_other_models_and_definitions_even_recursively() {
    let types = types_of(json!({
        "Pet": {"type": "object", "properties": {
            "owner": {"$ref": "https://apigateway.amazonaws.com/restapis/abc123/models/Person"},
            "home": {"$ref": "#/definitions/Address"},
            "city": {"$ref": "https://apigateway.amazonaws.com/restapis/x/models/Person#/definitions/City"},
        }, "definitions": {"Address": {"type": "object", "properties": {"street": {"type": "string"}}}}},
        "Person": {"type": "object", "properties": {
            "friends": {"type": "array", "items": {"$ref": "#"}},
        }, "definitions": {"City": {"type": "string"}}},
        "Pets": {"type": "array", "items": {"$ref": "https://apigateway.amazonaws.com/restapis/x/models/Pet"}},
    }));
    assert_eq!(
        fields(&types, "Pet"),
        vec![
            ("city".into(), named("City"), false),
            ("home".into(), named("Address"), false),
            ("owner".into(), named("Person"), false),
        ]
    );
    assert_eq!(
        fields(&types, "Person"),
        vec![("friends".into(), Type::Array(Box::new(named("Person"))), false)]
    );
    assert_eq!(def(&types, "City").shape, Shape::Alias(Type::String));
    assert_eq!(def(&types, "Pets").shape, Shape::Alias(Type::Array(Box::new(named("Pet")))));
    assert_eq!(fields(&types, "Address"), vec![("street".into(), Type::String, false)]);
}

#[test]
fn all_of_extends_object_models_and_merges_the_rest() {
    let types = types_of(json!({
        "NewPet": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
        "Pet": {"allOf": [
            {"$ref": "https://apigateway.amazonaws.com/restapis/x/models/NewPet"},
            {"type": "object", "required": ["id"], "properties": {"id": {"type": "integer"}}},
            {"properties": {"tag": {"type": "string"}}},
        ]},
    }));
    match &def(&types, "Pet").shape {
        Shape::Object { bases, fields } => {
            assert_eq!(bases, &["NewPet".to_string()]);
            let names: Vec<(&str, bool)> =
                fields.iter().map(|f| (f.name.as_str(), f.required)).collect();
            assert_eq!(names, [("id", true), ("tag", false)]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn alternatives_maps_and_oddities() {
    let types = types_of(json!({
        "Empty": {"type": "object", "title": "Empty Schema"},
        "Closed": {"type": "object", "additionalProperties": false},
        "IdOrName": {"anyOf": [{"type": "integer"}, {"type": "string"}, {"type": "integer"}]},
        "Shape": {"oneOf": [{"type": "object", "properties": {"r": {"type": "number"}}}, {"type": "null"}]},
        "Level": {"enum": [1, 2, "high", null, true]},
        "Mixed": {"enum": [{"a": 1}]},
        "Dangling": {"type": "object", "properties": {"x": {"$ref": "#/definitions/Missing"}}},
        "ApiError": {"type": "object", "properties": {"code": {"type": "string"}}},
        "pet-input": {"type": "string"},
        "_BaseClient": {"type": "string"},
    }));
    assert_eq!(def(&types, "Empty").shape, Shape::Alias(Type::Map(Box::new(Type::Any))));
    assert_eq!(def(&types, "Closed").shape, Shape::Object { bases: vec![], fields: vec![] });
    assert_eq!(
        def(&types, "IdOrName").shape,
        Shape::Alias(Type::Union(vec![Type::Integer, Type::String]))
    );
    assert_eq!(
        def(&types, "Shape").shape,
        Shape::Alias(Type::Union(vec![named("Shape1"), Type::Null]))
    );
    assert_eq!(fields(&types, "Shape1"), vec![("r".into(), Type::Number, false)]);
    assert_eq!(
        def(&types, "Level").shape,
        Shape::Alias(Type::Literals(vec![
            json!(1),
            json!(2),
            json!("high"),
            json!(null),
            json!(true)
        ]))
    );
    assert_eq!(def(&types, "Mixed").shape, Shape::Alias(Type::Any));
    assert_eq!(fields(&types, "Dangling"), vec![("x".into(), Type::Any, false)]);
    // A model named like the SDK's own types gets another name; odd names become identifiers.
    assert_eq!(types.model("ApiError"), named("ApiErrorModel"));
    assert_eq!(types.model("pet-input"), named("PetInput"));
    assert_eq!(types.model("_BaseClient"), named("BaseClientModel"));
}

#[test]
fn self_referencing_all_of_does_not_loop() {
    let types = types_of(json!({"Loop": {"allOf": [{"$ref": "#"}, {"$ref": "#"}]}}));
    assert_eq!(def(&types, "Loop").shape, Shape::Alias(Type::Any));
}
