//! Models (JSON Schema draft 4 documents) compiled to [`Node`]s. Every schema of every model is
//! compiled and checked as draft 4's metaschema would (each keyword's type and bounds, regular
//! expressions, `required` lists), so a mistake anywhere in a model is a config error that says
//! where. Then every `$ref` is resolved to a node: a place in a model that is not a schema
//! position (`#/x-shared/Pet`) is compiled when first referenced.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Number, Value};

use super::formats::{regex, Format};
use super::instance::{has_duplicates, Num};
use super::node::{
    type_bit, Additional, ArrayRules, Bound, Dependency, Items, Node, NumberRules, ObjectRules,
    StringRules, TYPE_NAMES,
};
use super::refs::{escape, resolve};
use super::schema::ModelError;
use super::MAX_MESSAGES;

/// How deeply schemas may nest within a model (serde_json reads no deeper JSON anyway).
const MAX_SCHEMA_DEPTH: usize = 128;

/// The compiled models: their nodes, and each model's root node by name.
pub(super) struct Compiled {
    pub(super) nodes: Vec<Node>,
    pub(super) roots: BTreeMap<String, u32>,
}

pub(super) fn compile(models: &BTreeMap<String, Value>) -> Result<Compiled, ModelError> {
    let mut c = Compiler {
        models,
        nodes: Vec::new(),
        places: HashMap::new(),
        refs: Vec::new(),
        errors: Vec::new(),
    };
    let mut roots = BTreeMap::new();
    for (name, schema) in models {
        let root = c.schema(name, String::new(), schema, 0);
        c.fail_if_errors(name)?;
        roots.insert(name.clone(), root);
    }
    c.resolve_refs()?;
    Ok(Compiled { nodes: c.nodes, roots })
}

/// A `$ref` to resolve: in model `model`, at `pointer` (the schema holding it), made node `node`.
struct Ref<'d> {
    node: u32,
    model: &'d str,
    pointer: String,
    reference: &'d str,
}

struct Compiler<'d> {
    models: &'d BTreeMap<String, Value>,
    nodes: Vec<Node>,
    /// The node compiled for each place: (model, JSON pointer).
    places: HashMap<(&'d str, String), u32>,
    refs: Vec<Ref<'d>>,
    /// (model, pointer, what is wrong).
    errors: Vec<(&'d str, String, String)>,
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl<'d> Compiler<'d> {
    fn error(&mut self, model: &'d str, pointer: &str, what: String) {
        if self.errors.len() < MAX_MESSAGES {
            self.errors.push((model, pointer.to_owned(), what));
        }
    }

    /// The errors so far, as model `model`'s.
    fn fail_if_errors(&mut self, model: &str) -> Result<(), ModelError> {
        if self.errors.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = self
            .errors
            .drain(..)
            .map(|(m, pointer, what)| match (m == model, pointer.is_empty()) {
                (true, true) => what,
                (true, false) => format!("{pointer}: {what}"),
                (false, _) => format!("model {m} {pointer}: {what}"),
            })
            .collect();
        let reason = format!("invalid schema: [{}]", list.join(", "));
        Err(ModelError { model: model.to_owned(), reason })
    }

    /// Compiles the schema at `pointer` in `model`, once.
    fn schema(&mut self, model: &'d str, pointer: String, value: &'d Value, depth: usize) -> u32 {
        if let Some(&node) = self.places.get(&(model, pointer.clone())) {
            return node;
        }
        let Ok(node) = u32::try_from(self.nodes.len()) else {
            self.error(model, &pointer, "too many schemas".to_owned());
            return 0;
        };
        self.nodes.push(Node::default());
        self.places.insert((model, pointer.clone()), node);
        let Value::Object(keywords) = value else {
            self.error(model, &pointer, format!("a schema is an object, not {}", type_of(value)));
            return node;
        };
        if depth >= MAX_SCHEMA_DEPTH {
            self.error(model, &pointer, format!("schemas nest deeper than {MAX_SCHEMA_DEPTH}"));
            return node;
        }
        let compiled = Keywords { c: self, model, pointer: &pointer, keywords, depth }.node(node);
        if let Some(slot) = self.nodes.get_mut(node as usize) {
            *slot = compiled;
        }
        node
    }

    /// Resolves every `$ref` (those of schemas compiled on the way too), then makes each point
    /// straight at a schema that is not itself a `$ref`.
    fn resolve_refs(&mut self) -> Result<(), ModelError> {
        let mut i = 0;
        while let Some(r) = self.refs.get(i) {
            let (node, model, reference) = (r.node, r.model, r.reference);
            let at = format!("{}/$ref", r.pointer);
            i += 1;
            let cannot = |why: String| ModelError {
                model: model.to_owned(),
                reason: format!("cannot resolve {reference:?} (at {at}): {why}"),
            };
            let target = resolve(model, reference).map_err(cannot)?;
            let models = self.models;
            let Some((target_model, document)) = models.get_key_value(&target.model) else {
                return Err(cannot(format!("there is no model named {:?}", target.model)));
            };
            let pointer: String = target.tokens.iter().map(|t| format!("/{}", escape(t))).collect();
            let Some(value) = lookup(document, &target.tokens) else {
                let whose = if target_model == model {
                    String::new()
                } else {
                    format!(" of model {target_model:?}")
                };
                return Err(cannot(format!("there is nothing at {pointer:?}{whose}")));
            };
            let to = self.schema(target_model.as_str(), pointer, value, 0);
            self.fail_if_errors(model)?;
            if let Some(slot) = self.nodes.get_mut(node as usize) {
                slot.reference = Some(to);
            }
        }
        for r in &self.refs {
            let mut to = r.node;
            let mut hops = 0;
            while let Some(next) = self.nodes.get(to as usize).and_then(|n| n.reference) {
                to = next;
                hops += 1;
                if hops > self.refs.len() {
                    return Err(ModelError {
                        model: r.model.to_owned(),
                        reason: format!(
                            "cannot resolve {:?} (at {}/$ref): references that lead only to \
                             each other, never to a schema",
                            r.reference, r.pointer
                        ),
                    });
                }
            }
            if let Some(slot) = self.nodes.get_mut(r.node as usize) {
                slot.reference = Some(to);
            }
        }
        Ok(())
    }
}

/// The value at a pointer's tokens.
fn lookup<'d>(document: &'d Value, tokens: &[String]) -> Option<&'d Value> {
    tokens.iter().try_fold(document, |value, token| match value {
        Value::Object(members) => members.get(token),
        Value::Array(items) if token == "0" || !token.starts_with('0') => {
            items.get(token.parse::<usize>().ok()?)
        }
        _ => None,
    })
}

/// One schema object's keywords, being compiled.
struct Keywords<'c, 'd> {
    c: &'c mut Compiler<'d>,
    model: &'d str,
    pointer: &'c str,
    keywords: &'d Map<String, Value>,
    depth: usize,
}

impl<'d> Keywords<'_, 'd> {
    fn at(&self, key: &str) -> String {
        format!("{}/{}", self.pointer, escape(key))
    }

    fn wrong(&mut self, key: &str, what: String) {
        let at = self.at(key);
        self.c.error(self.model, &at, what);
    }

    fn get(&self, key: &str) -> Option<&'d Value> {
        self.keywords.get(key)
    }

    fn string(&mut self, key: &str) -> Option<&'d str> {
        match self.get(key)? {
            Value::String(s) => Some(s),
            other => {
                self.wrong(key, format!("must be a string, not {}", type_of(other)));
                None
            }
        }
    }

    fn boolean(&mut self, key: &str) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(b) => Some(*b),
            other => {
                self.wrong(key, format!("must be a boolean, not {}", type_of(other)));
                None
            }
        }
    }

    fn number(&mut self, key: &str) -> Option<Number> {
        match self.get(key)? {
            Value::Number(n) => Some(n.clone()),
            other => {
                self.wrong(key, format!("must be a number, not {}", type_of(other)));
                None
            }
        }
    }

    /// A non-negative integer (`2.0` too, as draft 4 counts integers).
    fn count(&mut self, key: &str) -> Option<usize> {
        let value = self.get(key)?;
        let count = match value {
            Value::Number(n) => match Num::of_json(n) {
                Num::Int(i) => usize::try_from(i).ok(),
                Num::UInt(u) => Some(usize::try_from(u).unwrap_or(usize::MAX)),
                // `as` saturates: a huge bound is as good as none.
                Num::Float(f) if f.fract() == 0.0 && f >= 0.0 => {
                    Some(usize::try_from(f as u64).unwrap_or(usize::MAX))
                }
                Num::Float(_) => None,
            },
            _ => None,
        };
        if count.is_none() {
            self.wrong(key, format!("must be a non-negative integer, not {value}"));
        }
        count
    }

    /// A non-empty list of distinct strings (`required`, a property dependency).
    fn names(&mut self, value: &'d Value, at: &str) -> Option<Box<[String]>> {
        let problem = match value {
            Value::Array(items) if items.is_empty() => "must list at least one name".to_owned(),
            Value::Array(items) => match items.iter().find(|v| !v.is_string()) {
                Some(v) => format!("must list names (strings), not {}", type_of(v)),
                None if has_duplicates(value) => "must not list a name twice".to_owned(),
                None => {
                    return Some(
                        items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
                    )
                }
            },
            other => format!("must be an array of names, not {}", type_of(other)),
        };
        self.c.error(self.model, at, problem);
        None
    }

    fn subschema(&mut self, pointer: String, value: &'d Value) -> u32 {
        self.c.schema(self.model, pointer, value, self.depth + 1)
    }

    /// A non-empty array of schemas (`allOf`, `anyOf`, `oneOf`, `items` as a tuple).
    fn schemas(&mut self, key: &str) -> Box<[u32]> {
        let Some(value) = self.get(key) else { return Box::default() };
        match value {
            Value::Array(items) if !items.is_empty() => {
                let at = self.at(key);
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.subschema(format!("{at}/{i}"), v))
                    .collect()
            }
            Value::Array(_) => {
                self.wrong(key, "must list at least one schema".to_owned());
                Box::default()
            }
            other => {
                self.wrong(key, format!("must be an array of schemas, not {}", type_of(other)));
                Box::default()
            }
        }
    }

    /// An object whose members are schemas (`properties`, `definitions`, ...).
    fn schema_map(&mut self, key: &str) -> Vec<(&'d String, u32)> {
        let Some(value) = self.get(key) else { return Vec::new() };
        let Value::Object(members) = value else {
            self.wrong(key, format!("must be an object of schemas, not {}", type_of(value)));
            return Vec::new();
        };
        let at = self.at(key);
        members
            .iter()
            .map(|(name, v)| (name, self.subschema(format!("{at}/{}", escape(name)), v)))
            .collect()
    }

    /// `additionalItems`, `additionalProperties`: a boolean or a schema.
    fn additional(&mut self, key: &str) -> Additional {
        match self.get(key) {
            None | Some(Value::Bool(true)) => Additional::Allowed,
            Some(Value::Bool(false)) => Additional::Forbidden,
            Some(v @ Value::Object(_)) => Additional::Schema(self.subschema(self.at(key), v)),
            Some(other) => {
                self.wrong(key, format!("must be a boolean or a schema, not {}", type_of(other)));
                Additional::Allowed
            }
        }
    }

    fn node(mut self, node: u32) -> Node {
        for key in ["id", "title", "description"] {
            self.string(key);
        }
        if let Some(uri) = self.string("$schema") {
            if self.pointer.is_empty() && !is_draft_4(uri) {
                self.wrong("$schema", format!("{uri:?} is not draft 4: API Gateway models are JSON Schema draft 4 (http://json-schema.org/draft-04/schema#)"));
            }
        }
        let reference = match self.get("$ref") {
            None => None,
            Some(Value::String(r)) => Some(r),
            Some(other) => {
                self.wrong("$ref", format!("must be a string, not {}", type_of(other)));
                None
            }
        };
        let mut compiled = Node {
            types: self.types(),
            enumeration: self.enumeration(),
            format: self.string("format").and_then(Format::named),
            number: self.number_rules(),
            string: self.string_rules(),
            array: self.array_rules(),
            object: self.object_rules(),
            all_of: self.schemas("allOf"),
            any_of: self.schemas("anyOf"),
            one_of: self.schemas("oneOf"),
            not: self.get("not").map(|v| self.subschema(self.at("not"), v)),
            reference: None,
        };
        self.schema_map("definitions");
        if let Some(reference) = reference {
            // Draft 4: the other keywords beside `$ref` are ignored (but must be right).
            compiled = Node::default();
            let r = Ref { node, model: self.model, pointer: self.pointer.to_owned(), reference };
            self.c.refs.push(r);
        }
        compiled
    }

    fn types(&mut self) -> u8 {
        let Some(value) = self.get("type") else { return 0 };
        let names: Vec<&Value> = match value {
            Value::Array(items) if !items.is_empty() => items.iter().collect(),
            Value::String(_) => vec![value],
            _ => {
                self.wrong("type", "must be a type name or a non-empty array of them".to_owned());
                return 0;
            }
        };
        let mut bits = 0u8;
        for name in names {
            match name.as_str().and_then(type_bit) {
                Some(bit) if bits & bit == 0 => bits |= bit,
                Some(_) => self.wrong("type", format!("must not list {name} twice")),
                None => self.wrong(
                    "type",
                    format!("{name} is not a type (one of {})", TYPE_NAMES.join(", ")),
                ),
            }
        }
        bits
    }

    fn enumeration(&mut self) -> Option<Box<[Value]>> {
        match self.get("enum")? {
            Value::Array(values) if values.is_empty() => {
                self.wrong("enum", "must list at least one value".to_owned());
                None
            }
            Value::Array(values) => {
                if has_duplicates(self.get("enum")?) {
                    self.wrong("enum", "must not list a value twice".to_owned());
                    return None;
                }
                Some(values.clone().into_boxed_slice())
            }
            other => {
                self.wrong("enum", format!("must be an array, not {}", type_of(other)));
                None
            }
        }
    }

    fn bound(&mut self, key: &str, exclusive_key: &str) -> Option<Bound> {
        let value = self.number(key);
        let exclusive = self.boolean(exclusive_key);
        if exclusive.is_some() && self.get(key).is_none() {
            self.wrong(exclusive_key, format!("needs {key} beside it"));
        }
        value.map(|value| Bound { value, exclusive: exclusive.unwrap_or(false) })
    }

    fn number_rules(&mut self) -> Option<Box<NumberRules>> {
        let rules = NumberRules {
            minimum: self.bound("minimum", "exclusiveMinimum"),
            maximum: self.bound("maximum", "exclusiveMaximum"),
            multiple_of: self.number("multipleOf").filter(|n| Num::of_json(n).to_f64() > 0.0),
        };
        if self.get("multipleOf").is_some_and(|v| v.is_number()) && rules.multiple_of.is_none() {
            self.wrong("multipleOf", "must be greater than 0".to_owned());
        }
        let any = rules.minimum.is_some() || rules.maximum.is_some() || rules.multiple_of.is_some();
        any.then(|| Box::new(rules))
    }

    fn string_rules(&mut self) -> Option<Box<StringRules>> {
        let pattern = self.string("pattern").and_then(|p| match regex(p) {
            Ok(regex) => Some(regex),
            Err(e) => {
                let e = e.to_string().replace('\n', " ");
                self.wrong("pattern", format!("{p:?} is not a valid regular expression: {e}"));
                None
            }
        });
        let rules = StringRules {
            min_length: self.count("minLength"),
            max_length: self.count("maxLength"),
            pattern,
        };
        let any =
            rules.min_length.is_some() || rules.max_length.is_some() || rules.pattern.is_some();
        any.then(|| Box::new(rules))
    }

    fn array_rules(&mut self) -> Option<Box<ArrayRules>> {
        let items = match self.get("items") {
            None => Items::Any,
            Some(v @ Value::Object(_)) => Items::Each(self.subschema(self.at("items"), v)),
            Some(Value::Array(_)) => Items::Tuple(self.schemas("items")),
            Some(other) => {
                self.wrong(
                    "items",
                    format!("must be a schema or an array of schemas, not {}", type_of(other)),
                );
                Items::Any
            }
        };
        let rules = ArrayRules {
            min_items: self.count("minItems"),
            max_items: self.count("maxItems"),
            unique: self.boolean("uniqueItems").unwrap_or(false),
            additional: self.additional("additionalItems"),
            items,
        };
        let tuple = matches!(rules.items, Items::Tuple(_));
        let any = rules.min_items.is_some()
            || rules.max_items.is_some()
            || rules.unique
            || !matches!(rules.items, Items::Any);
        // `additionalItems` means something only beside `items` as an array.
        (any || tuple).then(|| Box::new(rules))
    }

    fn object_rules(&mut self) -> Option<Box<ObjectRules>> {
        let required = match self.get("required") {
            Some(v) => self.names(v, &self.at("required")).unwrap_or_default(),
            None => Box::default(),
        };
        let mut properties: Vec<(String, u32)> =
            self.schema_map("properties").into_iter().map(|(k, n)| (k.clone(), n)).collect();
        properties.sort_by(|a, b| a.0.cmp(&b.0));
        let mut pattern_properties = Vec::new();
        for (pattern, node) in self.schema_map("patternProperties") {
            match regex(pattern) {
                Ok(regex) => pattern_properties.push((regex, node)),
                Err(e) => {
                    let at = format!("{}/{}", self.at("patternProperties"), escape(pattern));
                    let e = e.to_string().replace('\n', " ");
                    self.c.error(self.model, &at, format!("not a valid regular expression: {e}"));
                }
            }
        }
        let rules = ObjectRules {
            min_properties: self.count("minProperties"),
            max_properties: self.count("maxProperties"),
            required,
            dependencies: self.dependencies(),
            properties: properties.into_boxed_slice(),
            pattern_properties: pattern_properties.into_boxed_slice(),
            additional: self.additional("additionalProperties"),
        };
        let any = rules.min_properties.is_some()
            || rules.max_properties.is_some()
            || !rules.required.is_empty()
            || !rules.dependencies.is_empty()
            || !rules.properties.is_empty()
            || !rules.pattern_properties.is_empty()
            || !matches!(rules.additional, Additional::Allowed);
        any.then(|| Box::new(rules))
    }

    fn dependencies(&mut self) -> Box<[(String, Dependency)]> {
        let Some(value) = self.get("dependencies") else { return Box::default() };
        let Value::Object(members) = value else {
            self.wrong("dependencies", format!("must be an object, not {}", type_of(value)));
            return Box::default();
        };
        let at = self.at("dependencies");
        let mut out = Vec::with_capacity(members.len());
        for (name, dependency) in members {
            let here = format!("{at}/{}", escape(name));
            match dependency {
                Value::Object(_) => {
                    out.push((name.clone(), Dependency::Schema(self.subschema(here, dependency))));
                }
                Value::Array(_) => {
                    if let Some(names) = self.names(dependency, &here) {
                        out.push((name.clone(), Dependency::Properties(names)));
                    }
                }
                other => self.c.error(
                    self.model,
                    &here,
                    format!("must be a schema or an array of names, not {}", type_of(other)),
                ),
            }
        }
        out.into_boxed_slice()
    }
}

/// `http://json-schema.org/draft-04/schema#`, with or without `#`, or `https`.
fn is_draft_4(uri: &str) -> bool {
    let uri = uri.strip_suffix('#').unwrap_or(uri);
    let rest = uri.strip_prefix("http://").or_else(|| uri.strip_prefix("https://"));
    rest == Some("json-schema.org/draft-04/schema")
}
