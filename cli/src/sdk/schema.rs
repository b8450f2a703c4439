//! The API's models (JSON Schema draft 4) as named types both generators write out: objects with
//! required and optional fields, arrays, maps, enums, unions, and references between models.
//!
//! A model is one named type. A `$ref` names its target: `#/definitions/Owner` inside a model,
//! or another model by its address `https://apigateway.amazonaws.com/restapis/{api}/models/Name`
//! (optionally with a fragment), as the validator resolves them; references may be recursive.
//! An object written inline gets a type of its own, named after where it sits (`Pet.owner` ->
//! `PetOwner`). What a type system cannot say (`not`, patterns, bounds) is left to the gateway's
//! validator.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{Map, Value};

use super::names::{is_identifier, pascal, words, Scope};

/// How deep a schema is followed; anything deeper is `Any`.
const MAX_DEPTH: usize = 64;
/// How deep `allOf`s may nest (through references) to be merged into one object.
const MAX_ALL_OF: usize = 12;
const MODELS_PREFIX: &str = "apigateway.amazonaws.com/restapis/";

#[derive(Debug, Clone, PartialEq)]
pub enum Type {
    Any,
    String,
    Number,
    Integer,
    Boolean,
    Null,
    Array(Box<Type>),
    /// An object with any keys, each value of this type.
    Map(Box<Type>),
    Named(String),
    /// One of these JSON values (`enum`): strings, numbers, booleans, null.
    Literals(Vec<Value>),
    Union(Vec<Type>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The property name in JSON.
    pub name: String,
    pub ty: Type,
    pub required: bool,
    pub doc: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// An object: every field of each base (named object types, from `allOf`), and its own.
    Object {
        bases: Vec<String>,
        fields: Vec<Field>,
    },
    Alias(Type),
}

#[derive(Debug, Clone, PartialEq)]
pub struct NamedType {
    pub name: String,
    pub doc: Option<String>,
    pub shape: Shape,
}

/// Every named type of an API, in a stable order, and which one each model is.
#[derive(Debug, Default)]
pub struct Types {
    pub defs: Vec<NamedType>,
    models: BTreeMap<String, String>,
}

impl Types {
    /// The type of the model named `model`.
    pub fn model(&self, model: &str) -> Type {
        self.models.get(model).map_or(Type::Any, |name| Type::Named(name.clone()))
    }
}

/// Where a type comes from: a model and a JSON pointer into it (`""`: the whole model).
type Target = (String, String);

struct Converter<'a> {
    models: &'a BTreeMap<String, Value>,
    scope: &'a mut Scope,
    names: BTreeMap<Target, String>,
    queue: VecDeque<Target>,
    defs: Vec<NamedType>,
}

/// The named types of `models`; names are claimed in `scope` (which holds the generated
/// code's own names).
pub fn convert(models: &BTreeMap<String, Value>, scope: &mut Scope) -> Types {
    let mut c =
        Converter { models, scope, names: BTreeMap::new(), queue: VecDeque::new(), defs: vec![] };
    let mut by_model = BTreeMap::new();
    for model in models.keys() {
        let name = c.name_of(&(model.clone(), String::new()));
        by_model.insert(model.clone(), name);
    }
    while let Some(target) = c.queue.pop_front() {
        c.define(&target);
    }
    Types { defs: c.defs, models: by_model }
}

/// A type name out of a model or definition name: kept (capitalised) when it is one already.
fn type_name(text: &str) -> String {
    if is_identifier(text) && text.starts_with(|c: char| c.is_ascii_alphabetic()) {
        let mut chars = text.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default()
    } else {
        pascal(&words(text))
    }
}

fn is_object_schema(schema: &Map<String, Value>) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(_) => false,
        None => schema.contains_key("properties"),
    }
}

fn doc_of(schema: &Map<String, Value>) -> Option<String> {
    schema
        .get("description")
        .or_else(|| schema.get("title"))
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// `~1` -> `/`, `~0` -> `~`, after percent-decoding (a fragment is a URI part).
fn pointer_tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|t| percent_decode(t).replace("~1", "/").replace("~0", "~"))
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes.get(i), hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (Some(b'%'), Some(b)) => {
                out.push(b);
                i += 3;
            }
            (Some(&b), _) => {
                out.push(b);
                i += 1;
            }
            (None, _) => break,
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Converter<'_> {
    fn schema_at(&self, (model, pointer): &Target) -> Option<&Value> {
        let mut at = self.models.get(model)?;
        for token in pointer_tokens(pointer) {
            at = match at {
                Value::Object(o) => o.get(&token)?,
                Value::Array(a) => a.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(at)
    }

    /// The target of `reference` written in `model`.
    fn resolve(&self, model: &str, reference: &str) -> Option<Target> {
        let (address, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let target_model = if address.is_empty() {
            model.to_string()
        } else {
            let rest = address.split_once(MODELS_PREFIX)?.1;
            let (_, name) = rest.split_once("/models/")?;
            percent_decode(name.trim_end_matches('/'))
        };
        let target = (target_model, fragment.to_string());
        self.schema_at(&target).map(|_| target)
    }

    fn name_of(&mut self, target: &Target) -> String {
        if let Some(name) = self.names.get(target) {
            return name.clone();
        }
        let (model, pointer) = target;
        let model_name = type_name(model);
        let name = match pointer_tokens(pointer).last() {
            None => self.scope.claim(&model_name, "Model"),
            Some(last) => self.scope.claim(&type_name(last), &model_name),
        };
        self.names.insert(target.clone(), name.clone());
        self.queue.push_back(target.clone());
        name
    }

    fn define(&mut self, target: &Target) {
        let Some(name) = self.names.get(target).cloned() else { return };
        let schema = self.schema_at(target).cloned().unwrap_or(Value::Null);
        let model = &target.0;
        let (doc, shape) = match &schema {
            Value::Object(o) => (doc_of(o), self.shape_of(o, model, &name, 0)),
            _ => (None, Shape::Alias(Type::Any)),
        };
        self.defs.push(NamedType { name, doc, shape });
    }

    /// The shape of a named type: an object's fields, or an alias of any other type.
    fn shape_of(
        &mut self,
        schema: &Map<String, Value>,
        model: &str,
        name: &str,
        depth: usize,
    ) -> Shape {
        if self.is_record(schema, model) {
            let (bases, fields) = self.fields_of(schema, model, name, depth);
            return Shape::Object { bases, fields };
        }
        Shape::Alias(self.type_of_map(schema, model, name, depth, true))
    }

    /// Whether a schema is an object with fields: `type: object` (or `properties`) without
    /// alternatives, or an `allOf` of such.
    fn objectish(&self, schema: &Map<String, Value>, model: &str, hops: usize) -> bool {
        if hops > MAX_ALL_OF {
            return false;
        }
        if let Some(Value::Array(parts)) = schema.get("allOf") {
            return !parts.is_empty()
                && parts.iter().all(|part| {
                    self.follow(part, model).is_some_and(|(p, m)| self.objectish(&p, &m, hops + 1))
                });
        }
        is_object_schema(schema) && !schema.contains_key("anyOf") && !schema.contains_key("oneOf")
    }

    /// Whether a schema becomes an object type (with fields or bases): an
    /// [`objectish`](Self::objectish) one that is not just a map of any keys.
    fn is_record(&self, schema: &Map<String, Value>, model: &str) -> bool {
        let has_properties =
            schema.get("properties").and_then(Value::as_object).is_some_and(|p| !p.is_empty());
        let closed = matches!(schema.get("additionalProperties"), Some(Value::Bool(false)));
        self.objectish(schema, model, 0)
            && (has_properties || closed || schema.contains_key("allOf"))
    }

    /// The bases and fields of an [`objectish`](Self::objectish) schema: an `allOf` part that
    /// references an object type is a base; other parts' fields are merged in.
    fn fields_of(
        &mut self,
        schema: &Map<String, Value>,
        model: &str,
        name: &str,
        depth: usize,
    ) -> (Vec<String>, Vec<Field>) {
        let (mut bases, mut fields): (Vec<String>, Vec<Field>) = (Vec::new(), Vec::new());
        if depth > MAX_DEPTH {
            return (bases, fields);
        }
        if let Some(Value::Array(parts)) = schema.get("allOf") {
            for part in parts {
                let reference = part.get("$ref").and_then(Value::as_str);
                let target = reference.and_then(|r| self.resolve(model, r));
                if let Some(target) = target {
                    let is_record = self
                        .schema_at(&target)
                        .and_then(Value::as_object)
                        .is_some_and(|o| self.is_record(o, &target.0));
                    if is_record {
                        let base = self.name_of(&target);
                        if !bases.contains(&base) {
                            bases.push(base);
                        }
                        continue;
                    }
                }
                let Some((part, part_model)) = self.follow(part, model) else { continue };
                let (part_bases, part_fields) = self.fields_of(&part, &part_model, name, depth + 1);
                for base in part_bases {
                    if !bases.contains(&base) {
                        bases.push(base);
                    }
                }
                for field in part_fields {
                    match fields.iter_mut().find(|f| f.name == field.name) {
                        Some(existing) => existing.required |= field.required,
                        None => fields.push(field),
                    }
                }
            }
            return (bases, fields);
        }
        let required: Vec<&str> = match schema.get("required") {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if let Some(Value::Object(properties)) = schema.get("properties") {
            for (prop, sub) in properties {
                let hint = format!("{name}{}", pascal(&words(prop)));
                let doc = sub.as_object().and_then(doc_of);
                let ty = self.type_of(sub, model, &hint, depth + 1);
                let required = required.contains(&prop.as_str());
                fields.push(Field { name: prop.clone(), ty, required, doc });
            }
        }
        (bases, fields)
    }

    /// `schema` with its `$ref` followed (a few hops), and the model it sits in.
    fn follow(&self, schema: &Value, model: &str) -> Option<(Map<String, Value>, String)> {
        let mut current = (schema.as_object()?.clone(), model.to_string());
        for _ in 0..8 {
            let Some(reference) = current.0.get("$ref").and_then(Value::as_str) else {
                return Some(current);
            };
            let target = self.resolve(&current.1, reference)?;
            let next = self.schema_at(&target)?.as_object()?.clone();
            current = (next, target.0);
        }
        None
    }

    fn type_of(&mut self, schema: &Value, model: &str, hint: &str, depth: usize) -> Type {
        match schema {
            Value::Object(o) if depth <= MAX_DEPTH => {
                self.type_of_map(o, model, hint, depth, false)
            }
            _ => Type::Any,
        }
    }

    /// The type of a schema; an inline object becomes a named type called `hint` unless `root`
    /// (then the caller is naming it already and found no fields).
    fn type_of_map(
        &mut self,
        schema: &Map<String, Value>,
        model: &str,
        hint: &str,
        depth: usize,
        root: bool,
    ) -> Type {
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            return match self.resolve(model, reference) {
                Some(target) => Type::Named(self.name_of(&target)),
                None => Type::Any,
            };
        }
        if let Some(Value::Array(values)) = schema.get("enum") {
            let scalar = values.iter().all(|v| !v.is_object() && !v.is_array());
            return if scalar && !values.is_empty() {
                Type::Literals(values.clone())
            } else {
                Type::Any
            };
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(Value::Array(parts)) = schema.get(key) {
                let types = parts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| self.type_of(p, model, &format!("{hint}{}", i + 1), depth + 1))
                    .collect();
                return union(types);
            }
        }
        if let Some(Value::Array(parts)) = schema.get("allOf") {
            if !root && self.is_record(schema, model) {
                return self.hoist(schema, model, hint, depth);
            }
            return match parts.as_slice() {
                [one] => self.type_of(one, model, hint, depth + 1),
                _ => Type::Any,
            };
        }
        match schema.get("type") {
            Some(Value::String(t)) => self.type_named(t, schema, model, hint, depth, root),
            Some(Value::Array(ts)) => {
                let types = ts
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|t| self.type_named(t, schema, model, hint, depth, root))
                    .collect();
                union(types)
            }
            _ if schema.contains_key("properties") => {
                self.type_named("object", schema, model, hint, depth, root)
            }
            _ => Type::Any,
        }
    }

    fn type_named(
        &mut self,
        t: &str,
        schema: &Map<String, Value>,
        model: &str,
        hint: &str,
        depth: usize,
        root: bool,
    ) -> Type {
        match t {
            "string" => Type::String,
            "number" => Type::Number,
            "integer" => Type::Integer,
            "boolean" => Type::Boolean,
            "null" => Type::Null,
            "array" => {
                let item = match schema.get("items") {
                    Some(items @ Value::Object(_)) => {
                        self.type_of(items, model, &format!("{hint}Item"), depth + 1)
                    }
                    _ => Type::Any,
                };
                Type::Array(Box::new(item))
            }
            "object" => {
                let has_properties = schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .is_some_and(|p| !p.is_empty());
                if has_properties && !root {
                    return self.hoist(schema, model, hint, depth);
                }
                let values = match schema.get("additionalProperties") {
                    Some(v @ Value::Object(_)) => {
                        self.type_of(v, model, &format!("{hint}Value"), depth + 1)
                    }
                    _ => Type::Any,
                };
                Type::Map(Box::new(values))
            }
            _ => Type::Any,
        }
    }

    /// An inline object schema as a named type of its own.
    fn hoist(
        &mut self,
        schema: &Map<String, Value>,
        model: &str,
        hint: &str,
        depth: usize,
    ) -> Type {
        let name = self.scope.claim(hint, "");
        let (bases, fields) = self.fields_of(schema, model, &name, depth);
        let shape = Shape::Object { bases, fields };
        self.defs.push(NamedType { name: name.clone(), doc: doc_of(schema), shape });
        Type::Named(name)
    }
}

/// One type, or a union of distinct types.
fn union(types: Vec<Type>) -> Type {
    let mut distinct: Vec<Type> = Vec::new();
    for t in types {
        if t == Type::Any {
            return Type::Any;
        }
        if !distinct.contains(&t) {
            distinct.push(t);
        }
    }
    match distinct.len() {
        0 => Type::Any,
        1 => distinct.pop().unwrap_or(Type::Any),
        _ => Type::Union(distinct),
    }
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
