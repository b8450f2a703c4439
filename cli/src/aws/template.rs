//! A SAM or CloudFormation template -> an [`Account`], as the stack would stand once deployed.
//!
//! The template is read as JSON: YAML's short-form tags (`!Sub`) become their long form
//! (`{"Fn::Sub": ...}`) and local `AWS::Include` snippets are inlined. A SAM template
//! (`Transform: AWS::Serverless-2016-10-31`) is first expanded into the CloudFormation resources
//! SAM makes, with SAM's logical ids and SAM's edits of the OpenAPI document, so that a SAM
//! template and its translation read the same. Then the API Gateway resources are read into
//! the control plane's JSON shapes, working out the intrinsic functions of what is read: a
//! resource's physical id is its logical id (a REST API's id too, so `ApiId: !Ref MyApi` lines
//! up), a Lambda function's ARN is made from its name. What cannot be worked out from the
//! template is refused naming where; what the gateway does not do is reported.

// The crate allows indexing for its JSON walks; this file reads untrusted templates and does not.
#![deny(clippy::indexing_slicing)]

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::{Account, DomainName, RestApi, UsagePlan};
use crate::openapi::{join, scalar, Unhonoured};

/// What `read` needs besides the template.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--parameter NAME=VALUE` (a parameter's `Default` otherwise).
    pub parameters: BTreeMap<String, String>,
    /// `AWS::Region`; us-east-1 by default.
    pub region: Option<String>,
    /// `AWS::AccountId`; 000000000000 by default.
    pub account_id: Option<String>,
    /// `AWS::StackName`; the template file's stem by default.
    pub stack_name: Option<String>,
}

/// Reads the template's APIs, stages, keys, plans, domains and Lambda-backed `Api` events;
/// what it cannot resolve is refused naming the resource and property, what the gateway does
/// not do is reported.
pub fn read(path: &Path, options: &Options) -> Result<(Account, Vec<Unhonoured>), String> {
    let doc = load(path, 0)?;
    let in_file = |e: String| format!("{}: {e}", path.display());
    let mut template = Template::new(doc, path, options).map_err(in_file)?;
    let mut report = Report::default();
    let serverless =
        template.resources.keys().any(|id| template.kind(id).starts_with("AWS::Serverless::"));
    if serverless && !template.sam {
        report.add(
            "Transform",
            format!(
                "missing: the template has SAM resources, read as SAM (CloudFormation takes them \
                 only with `Transform: {SAM_TRANSFORM}`)"
            ),
        );
        template.sam = true;
    }
    if template.sam {
        expand_sam(&mut template, &mut report).map_err(in_file)?;
    }
    let account = Builder::read(&template, &mut report).map_err(in_file)?;
    report.guessed_names(&template);
    Ok((account, report.0))
}

/// What an absent value reads as.
static NULL: Value = Value::Null;
const SAM_TRANSFORM: &str = "AWS::Serverless-2016-10-31";
/// What `Fn::GetAtt Api.RootResourceId` stands for: the id of an API's `/` resource.
const ROOT_RESOURCE: &str = "root";
const ANY_METHOD: &str = "x-amazon-apigateway-any-method";
const INTEGRATION: &str = "x-amazon-apigateway-integration";
/// How deep references may chain (a stage's name from a parameter, a condition from another).
const MAX_NESTING: u32 = 32;

/// What the gateway does not do, in template order.
#[derive(Default)]
struct Report(Vec<Unhonoured>);

impl Report {
    fn add(&mut self, at: impl Into<String>, why: impl Into<String>) {
        self.0.push(Unhonoured { at: at.into(), why: why.into() });
    }

    /// Functions and roles named after their logical id: CloudFormation names them otherwise.
    fn guessed_names(&mut self, t: &Template) {
        let guessed = t.guessed.borrow().clone();
        for id in guessed {
            let (property, what) = match t.kind(&id) {
                "AWS::IAM::Role" => ("RoleName", "role"),
                _ => ("FunctionName", "function"),
            };
            self.add(
                format!("Resources.{id}.Properties.{property}"),
                format!(
                    "none given: CloudFormation names the {what} `{}-{id}-<random>` when it \
                     deploys the stack, the gateway uses `{id}` (give {property}, or correct \
                     the name in the spec)",
                    t.stack
                ),
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Loading: JSON or YAML, short-form tags in their long form, local includes inlined.
// ---------------------------------------------------------------------------------------------

/// A template file, or an included snippet, as JSON.
fn load(path: &Path, depth: usize) -> Result<Value, String> {
    let in_file = |e: String| format!("{}: {e}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| in_file(e.to_string()))?;
    let doc = if crate::spec::is_json(path, &text) {
        crate::locate::parse(path, &text, true)?
    } else {
        let mut yaml: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).map_err(|e| in_file(e.to_string()))?;
        yaml.apply_merge().map_err(|e| in_file(e.to_string()))?;
        long_form(yaml, "").map_err(in_file)?
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    inline_includes(doc, dir, "", depth).map_err(in_file)
}

/// The functions with a short form (`!Sub`) besides `!Ref`, `!Condition` and `!GetAtt`.
const SHORT_FORMS: [&str; 17] = [
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
];

/// YAML -> JSON, with `!Sub x` as `{"Fn::Sub": x}` and `!GetAtt A.B` as
/// `{"Fn::GetAtt": ["A", "B"]}`; map keys as text (`200:` is `"200"`).
fn long_form(yaml: serde_yaml_ng::Value, at: &str) -> Result<Value, String> {
    use serde_yaml_ng::Value as Yaml;
    Ok(match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => {
            let number = if let Some(i) = n.as_i64() {
                Some(json!(i))
            } else if let Some(u) = n.as_u64() {
                Some(json!(u))
            } else {
                n.as_f64().and_then(serde_json::Number::from_f64).map(Value::Number)
            };
            number.ok_or_else(|| format!("{at}: the number {n} has no JSON form"))?
        }
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, v)| long_form(v, &format!("{at}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map {
                let key = match key {
                    Yaml::String(s) => s,
                    Yaml::Number(n) => n.to_string(),
                    Yaml::Bool(b) => b.to_string(),
                    other => return Err(format!("{at}: a map key must be a text, not {other:?}")),
                };
                let value = long_form(value, &join(at, &key))?;
                out.insert(key, value);
            }
            Value::Object(out)
        }
        Yaml::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = tag.trim_start_matches('!');
            let value = long_form(tagged.value, at)?;
            function_of_tag(name, value, at)?
        }
    })
}

fn function_of_tag(name: &str, value: Value, at: &str) -> Result<Value, String> {
    let (key, value) = match name {
        "Ref" | "Condition" => (name.to_string(), value),
        "GetAtt" => match value {
            Value::String(dotted) => match dotted.split_once('.') {
                Some((resource, attribute)) => {
                    ("Fn::GetAtt".to_string(), json!([resource, attribute]))
                }
                None => return Err(format!("{at}: `!GetAtt {dotted}` is not RESOURCE.ATTRIBUTE")),
            },
            other => ("Fn::GetAtt".to_string(), other),
        },
        _ if SHORT_FORMS.contains(&name) => (format!("Fn::{name}"), value),
        _ => return Err(format!("{at}: `!{name}` is not a CloudFormation function")),
    };
    Ok(single(&key, value))
}

/// `{key: value}`.
fn single(key: &str, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.to_string(), value);
    Value::Object(map)
}

/// `Fn::Transform: {Name: AWS::Include, Parameters: {Location: ./api.yaml}}` replaced by the
/// file's content (or merged into the map it sits in), as CloudFormation does before anything
/// else, SAM included.
fn inline_includes(value: Value, dir: &Path, at: &str, depth: usize) -> Result<Value, String> {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            let mut snippet = None;
            for (key, value) in map {
                let here = join(at, &key);
                if key == "Fn::Transform" {
                    snippet = Some(included(&value, dir, &here, depth)?);
                } else {
                    out.insert(key, inline_includes(value, dir, &here, depth)?);
                }
            }
            match snippet {
                None => Ok(Value::Object(out)),
                Some(snippet) if out.is_empty() => Ok(snippet),
                Some(Value::Object(more)) => {
                    for (key, value) in more {
                        out.entry(key).or_insert(value);
                    }
                    Ok(Value::Object(out))
                }
                Some(_) => Err(format!(
                    "{at}.Fn::Transform: the included snippet is not a map, and it sits in a map \
                     with other keys"
                )),
            }
        }
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| inline_includes(v, dir, &format!("{at}[{i}]"), depth))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

fn included(transform: &Value, dir: &Path, at: &str, depth: usize) -> Result<Value, String> {
    let name = transform.get("Name").map(scalar).unwrap_or_default();
    if name != "AWS::Include" {
        return Err(format!("{at}: {}", macro_runs_in_the_account(&name)));
    }
    let location = transform
        .pointer("/Parameters/Location")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}.Parameters.Location: missing (the snippet's path)"))?;
    if location.contains("://") {
        return Err(format!(
            "{at}.Parameters.Location: `{location}` is in S3: put the snippet next to the \
             template and give its path"
        ));
    }
    if depth >= 8 {
        return Err(format!("{at}: includes nested too deep"));
    }
    load(&dir.join(location), depth + 1)
}

fn macro_runs_in_the_account(name: &str) -> String {
    format!(
        "the macro `{name}` runs in the account when the stack is deployed: give the processed \
         template (`aws cloudformation get-template --template-stage Processed`)"
    )
}

// ---------------------------------------------------------------------------------------------
// The template and its intrinsic functions.
// ---------------------------------------------------------------------------------------------

struct Template {
    dir: PathBuf,
    sam: bool,
    globals: Map<String, Value>,
    /// Each parameter's value as `Ref` gives it, or why it has none.
    parameters: BTreeMap<String, Result<Value, String>>,
    mappings: Map<String, Value>,
    conditions: Map<String, Value>,
    resources: Map<String, Value>,
    /// SAM's `MyApi.Stage`-style names -> the logical id they stand for.
    aliases: BTreeMap<String, String>,
    /// Where a resource SAM makes comes from (`Resources.MyApi.Properties.Auth.UsagePlan`).
    origins: BTreeMap<String, String>,
    /// The REST APIs whose `Body` is a SAM API's `DefinitionBody` (so messages say so).
    definition_bodies: BTreeSet<String>,
    region: String,
    account: String,
    /// The account when `--account-id` gives it.
    account_id: Option<String>,
    stack: String,
    nesting: Cell<u32>,
    /// Functions and roles named after their logical id (see [`Report::guessed_names`]).
    guessed: RefCell<BTreeSet<String>>,
}

impl Template {
    fn new(doc: Value, path: &Path, options: &Options) -> Result<Template, String> {
        let Value::Object(mut top) = doc else { return Err("the template is not a map".into()) };
        let sam = transforms(top.get("Transform"))?;
        let mut section = |name: &str| match top.remove(name) {
            Some(Value::Object(map)) => Ok(map),
            None | Some(Value::Null) => Ok(Map::new()),
            Some(_) => Err(format!("{name}: not a map")),
        };
        let definitions = section("Parameters")?;
        let resources = section("Resources")?;
        if resources.is_empty() {
            return Err("Resources: the template has none".into());
        }
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        Ok(Template {
            dir: path.parent().unwrap_or(Path::new(".")).to_path_buf(),
            sam,
            globals: section("Globals")?,
            parameters: parameter_values(&definitions, &options.parameters)?,
            mappings: section("Mappings")?,
            conditions: section("Conditions")?,
            resources,
            aliases: BTreeMap::new(),
            origins: BTreeMap::new(),
            definition_bodies: BTreeSet::new(),
            region: options.region.clone().unwrap_or_else(|| "us-east-1".into()),
            account: options.account_id.clone().unwrap_or_else(|| "000000000000".into()),
            account_id: options.account_id.clone(),
            stack: options.stack_name.clone().or(stem).unwrap_or_else(|| "stack".into()),
            nesting: Cell::new(0),
            guessed: RefCell::new(BTreeSet::new()),
        })
    }

    fn kind(&self, id: &str) -> &str {
        self.resources.get(id).and_then(|r| r.get("Type")).and_then(Value::as_str).unwrap_or("")
    }

    fn property(&self, id: &str, name: &str) -> Option<&Value> {
        self.resources.get(id)?.get("Properties")?.get(name)
    }

    /// Where a resource's properties are, for messages.
    fn prefix(&self, id: &str) -> String {
        self.origins.get(id).cloned().unwrap_or_else(|| format!("Resources.{id}.Properties"))
    }

    /// Whether a resource's `Condition` (if any) holds.
    fn holds(&self, id: &str, resource: &Value) -> Result<bool, String> {
        match resource.get("Condition") {
            Some(name) => self.condition(&scalar(name), &format!("Resources.{id}.Condition")),
            None => Ok(true),
        }
    }

    fn partition(&self) -> &'static str {
        if self.region.starts_with("cn-") {
            "aws-cn"
        } else if self.region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        }
    }

    /// Runs `f` one reference deeper, refusing loops.
    fn nested<T>(&self, at: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
        let depth = self.nesting.get();
        if depth >= MAX_NESTING {
            return Err(format!("{at}: references go round in a circle"));
        }
        self.nesting.set(depth + 1);
        let out = f();
        self.nesting.set(depth);
        out
    }

    /// `value` with its intrinsic functions worked out; `None` where it is `AWS::NoValue`.
    fn resolve(&self, value: &Value, at: &str) -> Result<Option<Value>, String> {
        match value {
            Value::Object(map) => {
                if let Some((name, arg)) = intrinsic(map) {
                    return self.call(name, arg, at);
                }
                let mut out = Map::new();
                for (key, value) in map {
                    if let Some(value) = self.resolve(value, &join(at, key))? {
                        out.insert(key.clone(), value);
                    }
                }
                Ok(Some(Value::Object(out)))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(item) = self.resolve(item, &format!("{at}[{i}]"))? {
                        out.push(item);
                    }
                }
                Ok(Some(Value::Array(out)))
            }
            other => Ok(Some(other.clone())),
        }
    }

    /// A value that must be a text (a number or boolean is written as one).
    fn text(&self, value: &Value, at: &str) -> Result<String, String> {
        let value = self.resolve(value, at)?.unwrap_or(Value::Null);
        scalar_text(&value).ok_or_else(|| format!("{at}: not a text"))
    }

    fn list(&self, value: &Value, at: &str) -> Result<Vec<Value>, String> {
        match self.resolve(value, at)? {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(format!("{at}: not a list")),
        }
    }

    fn call(&self, name: &str, arg: &Value, at: &str) -> Result<Option<Value>, String> {
        let here = join(at, name);
        let value = match name {
            "Ref" => {
                let target = arg.as_str().ok_or_else(|| format!("{here}: not a name"))?;
                return self.reference(target, &here);
            }
            "Fn::Sub" => json!(self.sub(arg, &here)?),
            "Fn::GetAtt" => {
                let (id, attribute) = match arg {
                    Value::String(dotted) => dotted.split_once('.'),
                    Value::Array(parts) => match parts.as_slice() {
                        [Value::String(r), Value::String(a)] => Some((r.as_str(), a.as_str())),
                        _ => None,
                    },
                    _ => None,
                }
                .ok_or_else(|| format!("{here}: not [RESOURCE, ATTRIBUTE]"))?;
                self.attribute(id, attribute, &here)?
            }
            "Fn::Join" => {
                let [separator, items] = arguments(arg, &here)?;
                let separator = self.text(separator, &here)?;
                let mut parts = Vec::new();
                for item in self.list(items, &here)? {
                    parts.push(scalar_text(&item).ok_or_else(|| format!("{here}: not texts"))?);
                }
                json!(parts.join(&separator))
            }
            "Fn::Select" => {
                let [index, items] = arguments(arg, &here)?;
                let index = self.text(index, &here)?;
                let i: usize = index.parse().map_err(|_| format!("{here}: `{index}` no index"))?;
                let items = self.list(items, &here)?;
                items.get(i).cloned().ok_or_else(|| format!("{here}: no item {i}"))?
            }
            "Fn::Split" => {
                let [separator, source] = arguments(arg, &here)?;
                let separator = self.text(separator, &here)?;
                let source = self.text(source, &here)?;
                json!(source.split(separator.as_str()).collect::<Vec<_>>())
            }
            "Fn::If" => {
                let [condition, yes, no] = arguments(arg, &here)?;
                let condition = condition.as_str().ok_or_else(|| format!("{here}: no name"))?;
                let chosen = if self.condition(condition, &here)? { yes } else { no };
                return self.resolve(chosen, &here);
            }
            "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => json!(self.logic(name, arg, &here)?),
            "Fn::FindInMap" => self.find_in_map(arg, &here)?,
            "Fn::ToJsonString" => {
                let value = self.resolve(arg, &here)?.unwrap_or(Value::Null);
                json!(serde_json::to_string(&value).map_err(|e| format!("{here}: {e}"))?)
            }
            "Fn::Length" => json!(self.list(arg, &here)?.len()),
            "Fn::ImportValue" => {
                return Err(format!(
                    "{here}: imports an output of another stack, which only CloudFormation \
                     knows: put the value in the template or in a parameter"
                ))
            }
            _ => {
                return Err(format!(
                    "{here}: `{name}` cannot be worked out from the template (those read are \
                     Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::Select, Fn::Split, Fn::If, \
                     Fn::Equals, Fn::And, Fn::Or, Fn::Not, Fn::FindInMap, Fn::ToJsonString, \
                     Fn::Length)"
                ))
            }
        };
        Ok(Some(value))
    }

    fn reference(&self, name: &str, at: &str) -> Result<Option<Value>, String> {
        let pseudo = match name {
            "AWS::Region" => json!(self.region),
            "AWS::AccountId" => json!(self.account),
            "AWS::StackName" => json!(self.stack),
            "AWS::Partition" => json!(self.partition()),
            "AWS::URLSuffix" if self.region.starts_with("cn-") => json!("amazonaws.com.cn"),
            "AWS::URLSuffix" => json!("amazonaws.com"),
            "AWS::NotificationARNs" => json!([]),
            "AWS::StackId" => json!(format!(
                "arn:{}:cloudformation:{}:{}:stack/{}/00000000-0000-0000-0000-000000000000",
                self.partition(),
                self.region,
                self.account,
                self.stack
            )),
            "AWS::NoValue" => return Ok(None),
            _ => Value::Null,
        };
        if !pseudo.is_null() {
            return Ok(Some(pseudo));
        }
        if let Some(value) = self.parameters.get(name) {
            return value.clone().map(Some).map_err(|why| format!("{at}: `Ref: {name}`: {why}"));
        }
        if let Some(target) = self.aliases.get(name) {
            return self.resource_ref(target, at).map(Some);
        }
        if self.resources.contains_key(name) {
            return self.resource_ref(name, at).map(Some);
        }
        Err(format!("{at}: `Ref: {name}` names no parameter or resource of the template"))
    }

    /// What `Ref` of a resource gives once deployed.
    fn resource_ref(&self, id: &str, at: &str) -> Result<Value, String> {
        self.nested(at, || match self.kind(id) {
            "AWS::ApiGateway::Stage" => self.named(id, "StageName", at, false),
            "AWS::ApiGateway::DomainName" => self.named(id, "DomainName", at, false),
            "AWS::ApiGateway::Model" => self.named(id, "Name", at, true),
            "AWS::Lambda::Function" | "AWS::Serverless::Function" => {
                self.function_name(id).map(Value::String)
            }
            "AWS::Lambda::Alias" => {
                let function = self.named(id, "FunctionName", at, false)?;
                let name = self.named(id, "Name", at, false)?;
                Ok(json!(format!("{}:{}", self.function_arn_of(&scalar(&function)), scalar(&name))))
            }
            "AWS::IAM::Role" => self.role_name(id).map(Value::String),
            "AWS::Serverless::Api" => Ok(json!(id)),
            kind if kind.starts_with("AWS::ApiGateway::") => Ok(json!(id)),
            kind => Err(format!(
                "{at}: `Ref: {id}` is the id of a {kind}, which CloudFormation makes when it \
                 deploys the stack: put the value in the template or in a parameter"
            )),
        })
    }

    /// Property `name` of resource `id`, worked out; its logical id when absent and `or_id`.
    fn named(&self, id: &str, name: &str, at: &str, or_id: bool) -> Result<Value, String> {
        match self.property(id, name) {
            Some(value) => Ok(json!(self.text(value, &join(&self.prefix(id), name))?)),
            None if or_id => Ok(json!(id)),
            None => Err(format!("{at}: {id} has no {name}")),
        }
    }

    fn function_name(&self, id: &str) -> Result<String, String> {
        match self.property(id, "FunctionName") {
            Some(name) => self.text(name, &join(&self.prefix(id), "FunctionName")),
            None => {
                self.guessed.borrow_mut().insert(id.to_string());
                Ok(id.to_string())
            }
        }
    }

    /// A function's ARN from its name (or ARN).
    fn function_arn_of(&self, name: &str) -> String {
        if name.starts_with("arn:") {
            return name.to_string();
        }
        format!("arn:{}:lambda:{}:{}:function:{name}", self.partition(), self.region, self.account)
    }

    fn role_name(&self, id: &str) -> Result<String, String> {
        match self.property(id, "RoleName") {
            Some(name) => self.text(name, &join(&self.prefix(id), "RoleName")),
            None => {
                self.guessed.borrow_mut().insert(id.to_string());
                Ok(id.to_string())
            }
        }
    }

    /// What `Fn::GetAtt` gives for the attributes a gateway needs; the rest is known only once
    /// deployed.
    fn attribute(&self, id: &str, attribute: &str, at: &str) -> Result<Value, String> {
        if let Some(target) = self.aliases.get(&format!("{id}.{attribute}")) {
            return self.resource_ref(target, at);
        }
        if !self.resources.contains_key(id) {
            return Err(format!("{at}: `{id}.{attribute}`: the template has no resource {id}"));
        }
        self.nested(at, || match (self.kind(id), attribute) {
            ("AWS::Lambda::Function" | "AWS::Serverless::Function", "Arn") => {
                Ok(json!(self.function_arn_of(&self.function_name(id)?)))
            }
            ("AWS::ApiGateway::RestApi" | "AWS::Serverless::Api", "RootResourceId") => {
                Ok(json!(ROOT_RESOURCE))
            }
            ("AWS::ApiGateway::RestApi" | "AWS::Serverless::Api", "RestApiId") => Ok(json!(id)),
            ("AWS::IAM::Role", "Arn") => {
                let path = match self.property(id, "Path") {
                    Some(path) => self.text(path, &join(&self.prefix(id), "Path"))?,
                    None => "/".into(),
                };
                let name = self.role_name(id)?;
                Ok(json!(format!(
                    "arn:{}:iam::{}:role{path}{name}",
                    self.partition(),
                    self.account
                )))
            }
            (kind, _) => Err(format!(
                "{at}: `{id}.{attribute}`: the {attribute} of a {kind} is known only once the \
                 stack is deployed: put the value in the template or in a parameter"
            )),
        })
    }

    /// `Fn::Sub`: `${Name}` (a variable, parameter or resource), `${Res.Attr}`, `${!Literal}`.
    fn sub(&self, arg: &Value, at: &str) -> Result<String, String> {
        let (text, variables) = match arg {
            Value::String(text) => (text.as_str(), None),
            Value::Array(parts) => match parts.as_slice() {
                [Value::String(text), Value::Object(variables)] => (text.as_str(), Some(variables)),
                _ => return Err(format!("{at}: not [TEXT, {{NAME: VALUE}}]")),
            },
            _ => return Err(format!("{at}: not a text")),
        };
        let mut out = String::new();
        let mut rest = text;
        while let Some((before, after)) = rest.split_once("${") {
            out.push_str(before);
            let Some((name, tail)) = after.split_once('}') else {
                out.push_str("${");
                rest = after;
                break;
            };
            match name.strip_prefix('!') {
                Some(literal) => {
                    out.push_str("${");
                    out.push_str(literal);
                    out.push('}');
                }
                None => out.push_str(&self.variable(name.trim(), variables, at)?),
            }
            rest = tail;
        }
        out.push_str(rest);
        Ok(out)
    }

    fn variable(
        &self,
        name: &str,
        variables: Option<&Map<String, Value>>,
        at: &str,
    ) -> Result<String, String> {
        if let Some(value) = variables.and_then(|v| v.get(name)) {
            return self.text(value, &join(at, name));
        }
        let value = match name.split_once('.') {
            Some((id, attribute)) if !name.starts_with("AWS::") => {
                self.attribute(id, attribute, at)?
            }
            _ => self
                .reference(name, at)?
                .ok_or_else(|| format!("{at}: `${{{name}}}` is AWS::NoValue"))?,
        };
        scalar_text(&value).ok_or_else(|| format!("{at}: `${{{name}}}` is not a text"))
    }

    fn find_in_map(&self, arg: &Value, at: &str) -> Result<Value, String> {
        let parts = arg.as_array().map(Vec::as_slice).unwrap_or_default();
        let (names, default) = match parts {
            [map, top, second] => ([map, top, second], None),
            [map, top, second, options] => ([map, top, second], options.get("DefaultValue")),
            _ => return Err(format!("{at}: not [MAP, KEY, KEY]")),
        };
        let [map, top, second] = names;
        let (map, top, second) = (self.text(map, at)?, self.text(top, at)?, self.text(second, at)?);
        let found = self.mappings.get(&map).and_then(|m| m.get(&top)).and_then(|m| m.get(&second));
        match (found, default) {
            (Some(value), _) => Ok(value.clone()),
            (None, Some(default)) => Ok(self.resolve(default, at)?.unwrap_or(Value::Null)),
            (None, None) => Err(format!("{at}: Mappings.{map}.{top}.{second} is not there")),
        }
    }

    fn condition(&self, name: &str, at: &str) -> Result<bool, String> {
        let definition = self
            .conditions
            .get(name)
            .ok_or_else(|| format!("{at}: the template has no condition `{name}`"))?;
        self.nested(at, || self.truth(definition, &format!("Conditions.{name}")))
    }

    /// A condition: `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition`, true or false.
    fn truth(&self, value: &Value, at: &str) -> Result<bool, String> {
        if let Some((name, arg)) =
            value.as_object().filter(|m| m.len() == 1).and_then(|m| m.iter().next())
        {
            match name.as_str() {
                "Condition" => return self.condition(&scalar(arg), at),
                "Fn::Equals" | "Fn::And" | "Fn::Or" | "Fn::Not" => {
                    return self.logic(name, arg, &join(at, name))
                }
                _ => {}
            }
        }
        match self.resolve(value, at)? {
            Some(Value::Bool(b)) => Ok(b),
            Some(Value::String(s)) if s == "true" || s == "false" => Ok(s == "true"),
            _ => Err(format!("{at}: not a condition")),
        }
    }

    fn logic(&self, name: &str, arg: &Value, at: &str) -> Result<bool, String> {
        let items = arg.as_array().map(Vec::as_slice).unwrap_or_default();
        match (name, items) {
            ("Fn::Equals", [a, b]) => {
                let a = self.resolve(a, at)?.unwrap_or(Value::Null);
                let b = self.resolve(b, at)?.unwrap_or(Value::Null);
                Ok(match (scalar_text(&a), scalar_text(&b)) {
                    (Some(a), Some(b)) => a == b,
                    _ => a == b,
                })
            }
            ("Fn::Not", [one]) => Ok(!self.truth(one, at)?),
            ("Fn::And", _) => {
                for item in items {
                    if !self.truth(item, at)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            ("Fn::Or", _) => {
                for item in items {
                    if self.truth(item, at)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            _ => Err(format!("{at}: wrong arguments")),
        }
    }
}

/// The template's transforms: whether SAM's is one; any other macro is refused.
fn transforms(value: Option<&Value>) -> Result<bool, String> {
    let names: Vec<String> = match value {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().map(scalar).collect(),
        Some(other) => vec![scalar(other)],
    };
    let mut sam = false;
    for name in names {
        match name.as_str() {
            SAM_TRANSFORM => sam = true,
            "AWS::LanguageExtensions" => {}
            other => return Err(format!("Transform: {}", macro_runs_in_the_account(other))),
        }
    }
    Ok(sam)
}

/// Each parameter's value: given, else its `Default`, else why there is none.
fn parameter_values(
    definitions: &Map<String, Value>,
    given: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, Result<Value, String>>, String> {
    if let Some(name) = given.keys().find(|name| !definitions.contains_key(*name)) {
        return Err(format!("--parameter {name}: the template has no parameter {name}"));
    }
    let mut out = BTreeMap::new();
    for (name, definition) in definitions {
        let kind = definition.get("Type").map(scalar).unwrap_or_default();
        let value = match (given.get(name), definition.get("Default")) {
            (Some(value), _) => Ok(json!(value)),
            (None, _) if kind.starts_with("AWS::SSM::Parameter::Value") => Err(format!(
                "Parameters.{name}: its value is read from the SSM parameter store when the \
                 stack is deployed: give --parameter {name}=VALUE"
            )),
            (None, Some(default)) => Ok(default.clone()),
            (None, None) => {
                Err(format!("Parameters.{name}: no Default: give --parameter {name}=VALUE"))
            }
        };
        // As `Ref` gives it: a list for list types, else a text.
        let list = kind == "CommaDelimitedList" || kind.contains("List<");
        let value = value.map(|value| match value {
            Value::String(s) if list => {
                Value::Array(s.split(',').map(|part| json!(part.trim())).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| json!(scalar(i))).collect()),
            other => json!(scalar(&other)),
        });
        out.insert(name.clone(), value);
    }
    Ok(out)
}

/// `{"Ref": ...}` or `{"Fn::...": ...}`: the function and its argument.
fn intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
    if map.len() != 1 {
        return None;
    }
    let (name, arg) = map.iter().next()?;
    (name == "Ref" || name.starts_with("Fn::")).then_some((name.as_str(), arg))
}

/// A function's `N` arguments.
fn arguments<'v, const N: usize>(arg: &'v Value, at: &str) -> Result<[&'v Value; N], String> {
    let items: Vec<&Value> = arg.as_array().map(|a| a.iter().collect()).unwrap_or_default();
    items.try_into().map_err(|_| format!("{at}: takes a list of {N}"))
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// SAM: `AWS::Serverless::Api` and the functions' `Api` events -> CloudFormation resources, as
// aws-sam-translator makes them (samtranslator/model/api/api_generator.py, swagger/swagger.py,
// model/eventsources/push.py).
// ---------------------------------------------------------------------------------------------

const IMPLICIT_API: &str = "ServerlessRestApi";

/// What the expansion adds to the template.
#[derive(Default)]
struct Generated {
    resources: Map<String, Value>,
    aliases: BTreeMap<String, String>,
    origins: BTreeMap<String, String>,
    definition_bodies: BTreeSet<String>,
    /// `CreateUsagePlan: SHARED`: one plan and one key for all the APIs that ask for it.
    shared_stages: Vec<Value>,
    shared_plan: Option<(Map<String, Value>, String)>,
}

impl Generated {
    fn add(&mut self, id: &str, kind: &str, properties: Value, api: &SamApi, origin: &str) {
        let mut resource = json!({"Type": kind, "Properties": properties});
        if let (Some(condition), Some(map)) = (&api.condition, resource.as_object_mut()) {
            map.insert("Condition".into(), condition.clone());
        }
        self.resources.insert(id.to_string(), resource);
        self.origins.insert(id.to_string(), origin.to_string());
    }
}

fn expand_sam(t: &mut Template, report: &mut Report) -> Result<(), String> {
    let mut apis = BTreeMap::new();
    let mut generated = Generated::default();
    for (id, resource) in &t.resources {
        if t.kind(id) == "AWS::Serverless::Api" && t.holds(id, resource)? {
            apis.insert(id.clone(), SamApi::new(t, id, resource)?);
        } else if t.kind(id) == "AWS::Serverless::HttpApi" {
            report.add(format!("Resources.{id}"), HTTP_API);
        }
    }
    // Functions first: their events write the implicit API's document (as SAM orders them).
    for (id, resource) in &t.resources {
        if t.kind(id) == "AWS::Serverless::Function" && t.holds(id, resource)? {
            add_events(t, id, resource, &mut apis, &mut generated, report)?;
        }
    }
    for api in apis.into_values() {
        api.generate(t, &mut generated, report)?;
    }
    if let Some((plan, origin)) = generated.shared_plan.take() {
        for (id, kind, properties) in shared_usage_plan_resources(plan, &generated.shared_stages) {
            generated.resources.insert(id.into(), json!({"Type": kind, "Properties": properties}));
            generated.origins.insert(id.into(), origin.clone());
        }
    }
    t.resources
        .retain(|_, r| r.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Api"));
    t.resources.extend(generated.resources);
    t.aliases.extend(generated.aliases);
    t.origins.extend(generated.origins);
    t.definition_bodies.extend(generated.definition_bodies);
    Ok(())
}

const PRIVATE_DOMAINS: &str =
    "private custom domains are not read: map the API on a domain in the gateway file";
const NOT_A_SAM_API: &str = "must name an AWS::Serverless::Api of the template (`!Ref MyApi`)";
const HTTP_API: &str = "HTTP APIs (API Gateway v2) are not served: Tollgate serves REST APIs";
const CLIENT_CERTIFICATE: &str = "client certificates toward backends are not presented by the \
     gateway (give the cluster's TLS settings in the gateway file)";
const ACM_CERTIFICATE: &str = "an ACM certificate does not leave AWS: give the domain's PEM \
     certificate and key in the gateway file";
const ENDPOINTS: &str = "the gateway listens where its Envoy listener does: endpoint types and \
     VPC endpoints are not used";
const KEY_MADE_BY_AWS: &str = "none given: API Gateway makes the key's value when the stack is \
     deployed; bring it with `tollgate keys import` (`aws apigateway get-api-keys \
     --include-values`) or read the account with `tollgate import-aws` (the key and its usage \
     plan memberships are left out)";

/// SAM's Globals merge: maps merged, lists concatenated, the resource's value first otherwise.
fn merged(global: Option<&Value>, local: &Value) -> Value {
    match (global, local) {
        (Some(Value::Object(g)), Value::Object(l))
            if intrinsic(g).is_none() && intrinsic(l).is_none() =>
        {
            let mut out = g.clone();
            for (key, value) in l {
                let merged = merged(g.get(key), value);
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Some(Value::Array(g)), Value::Array(l)) => {
            Value::Array(g.iter().chain(l).cloned().collect())
        }
        _ => local.clone(),
    }
}

/// A function's `Api` events, added to the document of the API each names.
fn add_events(
    t: &Template,
    id: &str,
    resource: &Value,
    apis: &mut BTreeMap<String, SamApi>,
    generated: &mut Generated,
    report: &mut Report,
) -> Result<(), String> {
    let empty = json!({});
    let properties =
        merged(t.globals.get("Function"), resource.get("Properties").unwrap_or(&empty));
    let at = format!("Resources.{id}.Properties");
    // With an alias, SAM points the events at it (`${MyFunctionAliaslive}`).
    let target = match properties.get("AutoPublishAlias") {
        Some(alias) => {
            let alias = t.text(alias, &join(&at, "AutoPublishAlias"))?;
            let alias_id = format!("{id}Alias{}", alias.replace(['-', '_'], ""));
            let alias_props = json!({"FunctionName": {"Ref": id}, "Name": alias});
            generated.resources.insert(
                alias_id.clone(),
                json!({"Type": "AWS::Lambda::Alias", "Properties": alias_props}),
            );
            generated.aliases.insert(format!("{id}.Alias"), alias_id.clone());
            format!("${{{alias_id}}}")
        }
        None => format!("${{{id}.Arn}}"),
    };
    let Some(Value::Object(events)) = properties.get("Events") else { return Ok(()) };
    for (name, event) in events {
        let here = format!("{at}.Events.{name}");
        match event.get("Type").map(scalar).as_deref() {
            Some("Api") => {
                let props = event.get("Properties").cloned().unwrap_or_else(|| json!({}));
                let api_id = match props.get("RestApiId") {
                    None => IMPLICIT_API.to_string(),
                    Some(Value::String(api)) => api.clone(),
                    Some(other) => match other.get("Ref").and_then(Value::as_str) {
                        Some(api) => api.to_string(),
                        None => {
                            return Err(format!("{here}.Properties.RestApiId: {NOT_A_SAM_API}"))
                        }
                    },
                };
                if api_id == IMPLICIT_API && !apis.contains_key(IMPLICIT_API) {
                    apis.insert(IMPLICIT_API.into(), SamApi::implicit(t)?);
                }
                let api = apis.get_mut(&api_id).ok_or_else(|| {
                    format!("{here}.Properties.RestApiId: `{api_id}`: {NOT_A_SAM_API}")
                })?;
                api.add_event(t, &target, &props, &here, report)?;
            }
            Some("HttpApi") => report.add(here, HTTP_API),
            _ => {}
        }
    }
    Ok(())
}

/// One `AWS::Serverless::Api` (or the implicit `ServerlessRestApi`) being expanded.
struct SamApi {
    id: String,
    /// `Resources.{id}.Properties`.
    at: String,
    /// The properties, with `Globals.Api`.
    props: Map<String, Value>,
    /// `Auth`, worked out.
    auth: Map<String, Value>,
    condition: Option<Value>,
    /// The OpenAPI document (`DefinitionBody`, the `DefinitionUri` file, or SAM's own).
    body: Value,
    /// SAM writes the document from the events (no DefinitionBody or DefinitionUri given).
    managed: bool,
    /// The document is an inline OpenAPI map SAM can edit (Auth, Cors, Models...).
    editable: bool,
    /// The document is `DefinitionUri`'s file, which SAM hands to API Gateway untouched.
    from_file: bool,
}

impl SamApi {
    fn new(t: &Template, id: &str, resource: &Value) -> Result<SamApi, String> {
        let empty = json!({});
        let local = resource.get("Properties").unwrap_or(&empty);
        let at = format!("Resources.{id}.Properties");
        SamApi::of(t, id, at, local, resource.get("Condition").cloned())
    }

    /// `ServerlessRestApi`: stage `Prod`, SAM's own document, `Globals.Api`.
    fn implicit(t: &Template) -> Result<SamApi, String> {
        let local = json!({"StageName": "Prod"});
        SamApi::of(t, IMPLICIT_API, "Globals.Api".into(), &local, None)
    }

    fn of(
        t: &Template,
        id: &str,
        at: String,
        local: &Value,
        condition: Option<Value>,
    ) -> Result<SamApi, String> {
        let Value::Object(props) = merged(t.globals.get("Api"), local) else {
            return Err(format!("{at}: not a map"));
        };
        let (body, managed, editable, from_file) =
            match (props.get("DefinitionBody"), props.get("DefinitionUri")) {
                (Some(_), Some(_)) => {
                    return Err(format!("{at}: give DefinitionBody or DefinitionUri, not both"))
                }
                (Some(body), None) => (body.clone(), false, is_openapi(body), false),
                (None, Some(uri)) => {
                    (t.definition_file(uri, &join(&at, "DefinitionUri"))?, false, false, true)
                }
                (None, None) => (skeleton(props.get("OpenApiVersion")), true, true, false),
            };
        let auth = match props.get("Auth") {
            Some(auth) => match t.resolve(auth, &join(&at, "Auth"))? {
                Some(Value::Object(auth)) => auth,
                _ => return Err(format!("{at}.Auth: not a map")),
            },
            None => Map::new(),
        };
        Ok(SamApi { id: id.into(), at, props, auth, condition, body, managed, editable, from_file })
    }

    fn prop(&self, name: &str) -> Option<&Value> {
        self.props.get(name)
    }

    fn authorizers(&self) -> Option<&Map<String, Value>> {
        self.auth.get("Authorizers").and_then(Value::as_object)
    }

    /// An `Api` event: its method with an `aws_proxy` integration to the function, its auth,
    /// parameters and model, in a document SAM manages; a document the author wrote is left
    /// as written (SAM only adds a permission for the function).
    fn add_event(
        &mut self,
        t: &Template,
        target: &str,
        props: &Value,
        at: &str,
        report: &mut Report,
    ) -> Result<(), String> {
        let at = join(at, "Properties");
        let field = |name: &str| props.get(name).ok_or_else(|| format!("{at}.{name}: missing"));
        let path = t.text(field("Path")?, &join(&at, "Path"))?;
        let method = t.text(field("Method")?, &join(&at, "Method"))?.to_ascii_lowercase();
        let key = if method == "any" { ANY_METHOD.to_string() } else { method.clone() };
        let auth = match props.get("Auth") {
            Some(auth) => t
                .resolve(auth, &join(&at, "Auth"))?
                .and_then(|a| a.as_object().cloned())
                .unwrap_or_default(),
            None => Map::new(),
        };
        for unread in ["ResourcePolicy", "OverrideApiAuth"] {
            if auth.contains_key(unread) {
                return Err(format!(
                    "{at}.Auth.{unread}: not read (SAM rewrites the API's policy or auth with \
                     it); write it in the API's DefinitionBody"
                ));
            }
        }
        self.check_event_auth(&auth, &method, &path, &at)?;
        if !self.managed {
            if self.editable && operation(&self.body, &path, &key).is_none() {
                report.add(
                    at,
                    format!(
                        "SAM leaves the DefinitionBody of {} as written: this event adds no \
                     method to it ({} {path} is not in it)",
                        self.id,
                        method.to_ascii_uppercase()
                    ),
                );
            }
            return Ok(());
        }
        // What the API says, gathered before its document is edited.
        let credentials = self.credentials(&auth);
        let authorizer = auth.get("Authorizer").map(scalar);
        let scopes =
            authorizer.as_ref().map(|a| self.method_scopes(a, auth.get("AuthorizationScopes")));
        let models: BTreeSet<String> = self
            .prop("Models")
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let swagger = self.body.get("swagger").is_some();
        let uri = format!(
            "arn:${{AWS::Partition}}:apigateway:${{AWS::Region}}:lambda:path/2015-03-31/\
             functions/{target}/invocations"
        );
        let mut integration = Map::new();
        integration.insert("type".into(), json!("aws_proxy"));
        integration.insert("httpMethod".into(), json!("POST"));
        integration.insert("uri".into(), json!({"Fn::Sub": uri}));
        if let Some(credentials) = credentials {
            integration.insert("credentials".into(), json!(credentials));
        }
        if let Some(timeout) = props.get("TimeoutInMillis") {
            integration.insert("timeoutInMillis".into(), timeout.clone());
        }
        let operation = operation_mut(&mut self.body, &path, &key)
            .ok_or_else(|| format!("{at}: the API's document has no map at paths.{path}.{key}"))?;
        if operation.contains_key(INTEGRATION) {
            return Err(format!(
                "{at}: API method `{method}` is defined more than once for path `{path}`"
            ));
        }
        operation.insert(INTEGRATION.into(), Value::Object(integration));
        operation.entry("responses").or_insert_with(|| json!({}));
        let mut definitions = Vec::new();
        if let (Some(authorizer), Some(scopes)) = (authorizer, scopes) {
            push_security(operation, &authorizer, scopes);
            if first_security_has(operation, "AWS_IAM") {
                definitions.push(("AWS_IAM", aws_iam_definition()));
            }
        }
        if let Some(required) = auth.get("ApiKeyRequired").and_then(flag) {
            if required {
                push_security(operation, "api_key", json!([]));
                definitions.push(("api_key", api_key_definition()));
            } else {
                push_security(operation, "api_key_false", json!([]));
            }
        }
        if let Some(parameters) = props.get("RequestParameters") {
            let parameters = t.list(parameters, &join(&at, "RequestParameters"))?;
            add_request_parameters(operation, &parameters, &at)?;
        }
        let validator = match props.get("RequestModel").and_then(Value::as_object) {
            Some(model) => request_model(operation, model, &models, swagger, &at, &self.id)?,
            None => None,
        };
        for (name, definition) in definitions {
            add_security_definition(&mut self.body, name, definition);
        }
        if let Some((name, body, parameters)) = validator {
            add_request_validator(&mut self.body, &name, body, parameters);
        }
        Ok(())
    }

    /// SAM's checks of an event's `Auth` against its API's.
    fn check_event_auth(
        &self,
        auth: &Map<String, Value>,
        method: &str,
        path: &str,
        at: &str,
    ) -> Result<(), String> {
        let default = self.auth.get("DefaultAuthorizer");
        if let Some(authorizer) = auth.get("Authorizer").map(scalar) {
            let defined = self.authorizers().is_some_and(|a| a.contains_key(&authorizer));
            if authorizer == "NONE" && default.is_none() {
                return Err(format!(
                    "{at}.Auth.Authorizer: 'NONE' is only valid when the API ({}) has a \
                     DefaultAuthorizer",
                    self.id
                ));
            }
            if authorizer != "NONE" && authorizer != "AWS_IAM" && !defined {
                return Err(format!(
                    "{at}.Auth.Authorizer: `{authorizer}` (on {method} {path}) is not in the \
                     Auth.Authorizers of {}",
                    self.id
                ));
            }
        } else if auth.contains_key("AuthorizationScopes") {
            return Err(format!(
                "{at}.Auth.AuthorizationScopes: works only when Authorizer is set"
            ));
        }
        let api_key = auth.get("ApiKeyRequired").and_then(flag);
        if api_key == Some(false) && self.auth.get("ApiKeyRequired").and_then(flag) != Some(true) {
            return Err(format!(
                "{at}.Auth.ApiKeyRequired: false needs the API ({}) to set ApiKeyRequired",
                self.id
            ));
        }
        Ok(())
    }

    /// The scopes an event's authorizer is given: the event's, else the authorizer's.
    fn method_scopes(&self, authorizer: &str, scopes: Option<&Value>) -> Value {
        let defined = self.authorizers().and_then(|a| a.get(authorizer));
        match (authorizer, defined) {
            ("NONE", _) | (_, None) => json!([]),
            (_, Some(definition)) => scopes
                .or_else(|| definition.get("AuthorizationScopes"))
                .cloned()
                .unwrap_or_else(|| json!([])),
        }
    }

    /// An IAM-authorized method's integration credentials (SAM's `InvokeRole`).
    fn credentials(&self, auth: &Map<String, Value>) -> Option<String> {
        let api_default = self.auth.get("DefaultAuthorizer").map(scalar);
        let iam = auth.get("Authorizer").map(scalar).as_deref() == Some("AWS_IAM")
            || (api_default.as_deref() == Some("AWS_IAM") && auth.is_empty());
        if !iam {
            return None;
        }
        let role = |map: &Map<String, Value>| match map.get("InvokeRole") {
            Some(Value::Null) => Some("NONE".to_string()),
            Some(role) => Some(scalar(role)),
            None => None,
        };
        let role = role(auth).or_else(|| role(&self.auth));
        match role.as_deref() {
            Some("NONE") => None,
            Some("CALLER_CREDENTIALS") | None => Some("arn:aws:iam::*:user/*".into()),
            Some(role) => Some(role.into()),
        }
    }

    /// The CloudFormation resources SAM makes of the API.
    fn generate(
        mut self,
        t: &Template,
        out: &mut Generated,
        report: &mut Report,
    ) -> Result<(), String> {
        if self.prop("MergeDefinitions").and_then(flag) == Some(true) {
            return Err(format!(
                "{}.MergeDefinitions: not read; merge the events into DefinitionBody",
                self.at
            ));
        }
        if self.prop("DisableExecuteApiEndpoint").is_some() {
            report.add(
                join(&self.at, "DisableExecuteApiEndpoint"),
                "the gateway has no execute-api endpoint to disable",
            );
        }
        let stage = self
            .prop("StageName")
            .cloned()
            .ok_or_else(|| format!("{}.StageName: missing", self.at))?;
        self.add_cors(t)?;
        self.add_auth()?;
        self.add_gateway_responses()?;
        self.add_binary_media_types()?;
        self.add_models()?;
        if !self.from_file {
            self.openapi_postprocess();
        }
        let id = self.id.clone();
        if !self.from_file {
            out.definition_bodies.insert(id.clone());
        }
        out.add(&id, "AWS::ApiGateway::RestApi", self.rest_api_properties(), &self, &self.at);
        let stage_id = match &stage {
            Value::String(name) if name.chars().all(|c| c.is_ascii_alphanumeric()) => {
                format!("{id}{name}Stage")
            }
            _ => format!("{id}Stage"),
        };
        let deployment_id = format!("{id}Deployment");
        // Without OpenApiVersion, SAM's deployment also makes a stage named `Stage`.
        let mut deployment = json!({"RestApiId": {"Ref": id}});
        if !self.prop("OpenApiVersion").is_some_and(truthy) {
            if let Some(map) = deployment.as_object_mut() {
                map.insert("StageName".into(), json!("Stage"));
            }
        }
        out.add(&deployment_id, "AWS::ApiGateway::Deployment", deployment, &self, &self.at);
        let mut stage_props = json!({
            "RestApiId": {"Ref": id},
            "DeploymentId": {"Ref": deployment_id},
            "StageName": stage,
        });
        for name in [
            "CacheClusterEnabled",
            "CacheClusterSize",
            "Variables",
            "MethodSettings",
            "AccessLogSetting",
            "CanarySetting",
            "TracingEnabled",
        ] {
            if let (Some(value), Some(map)) = (self.prop(name), stage_props.as_object_mut()) {
                map.insert(name.into(), value.clone());
            }
        }
        out.add(&stage_id, "AWS::ApiGateway::Stage", stage_props, &self, &self.at);
        out.aliases.insert(format!("{id}.Stage"), stage_id.clone());
        out.aliases.insert(format!("{id}.Deployment"), deployment_id);
        self.usage_plan(&stage_id, out)?;
        self.domain(t, out, report)
    }

    fn rest_api_properties(&self) -> Value {
        let mut props = Map::new();
        props.insert("Body".into(), self.body.clone());
        for name in [
            "BinaryMediaTypes",
            "MinimumCompressionSize",
            "Name",
            "Description",
            "Mode",
            "ApiKeySourceType",
            "Policy",
            "FailOnWarnings",
        ] {
            if let Some(value) = self.prop(name) {
                props.insert(name.into(), value.clone());
            }
        }
        if let Some(endpoint) = self.prop("EndpointConfiguration") {
            let kind = endpoint.get("Type").unwrap_or(endpoint);
            props.insert("EndpointConfiguration".into(), json!({"Types": [kind]}));
        }
        Value::Object(props)
    }

    /// SAM refuses its document features on a document it cannot edit.
    fn require_editable(&self, feature: &str) -> Result<(), String> {
        if self.editable {
            return Ok(());
        }
        Err(format!(
            "{}.{feature}: SAM adds {feature} only to an inline OpenAPI document in \
             DefinitionBody (SAM refuses this template too)",
            self.at
        ))
    }

    /// `Cors`: an `OPTIONS` method with a mock integration on every path that has none.
    fn add_cors(&mut self, t: &Template) -> Result<(), String> {
        let Some(cors) = self.prop("Cors").cloned() else { return Ok(()) };
        self.require_editable("Cors")?;
        let at = join(&self.at, "Cors");
        let mut settings = Map::new();
        match &cors {
            Value::Object(map) if intrinsic(map).is_none() => {
                for (key, value) in map {
                    if ![
                        "AllowMethods",
                        "AllowHeaders",
                        "AllowOrigin",
                        "MaxAge",
                        "AllowCredentials",
                    ]
                    .contains(&key.as_str())
                    {
                        return Err(format!("{at}.{key}: not a Cors property"));
                    }
                    settings.insert(key.clone(), value.clone());
                }
            }
            origin => {
                settings.insert("AllowOrigin".into(), origin.clone());
            }
        }
        let origin = settings.get("AllowOrigin").cloned().unwrap_or_else(|| json!("'*'"));
        let credentials = match settings.get("AllowCredentials") {
            Some(value) => {
                t.resolve(value, &join(&at, "AllowCredentials"))?.and_then(|v| flag(&v))
                    == Some(true)
            }
            None => false,
        };
        if credentials && origin == "'*'" {
            return Err(format!(
                "{at}: AllowCredentials cannot be true when AllowOrigin is \"'*'\" or not set"
            ));
        }
        let Some(paths) = self.body.get_mut("paths").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        for item in paths.values_mut() {
            for item in branches_mut(item) {
                if item.contains_key("options") {
                    continue;
                }
                let methods = match settings.get("AllowMethods") {
                    Some(methods) => methods.clone(),
                    None => json!(format!("'{}'", cors_methods(item))),
                };
                let options = cors_options(
                    &origin,
                    settings.get("AllowHeaders"),
                    &methods,
                    settings.get("MaxAge"),
                    credentials,
                );
                item.insert("options".into(), options);
            }
        }
        Ok(())
    }

    /// `Auth`: authorizers as security schemes, the default authorizer and API key on every
    /// method with an integration.
    fn add_auth(&mut self) -> Result<(), String> {
        if !self.props.contains_key("Auth") {
            return Ok(());
        }
        self.require_editable("Auth")?;
        let at = join(&self.at, "Auth");
        const KNOWN: [&str; 8] = [
            "Authorizers",
            "DefaultAuthorizer",
            "InvokeRole",
            "AddDefaultAuthorizerToCorsPreflight",
            "AddApiKeyRequiredToCorsPreflight",
            "ApiKeyRequired",
            "ResourcePolicy",
            "UsagePlan",
        ];
        if let Some(key) = self.auth.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(format!("{at}.{key}: not an Auth property"));
        }
        if self.auth.contains_key("ResourcePolicy") {
            return Err(format!(
                "{at}.ResourcePolicy: not read; write the policy in the API's Policy"
            ));
        }
        let default = self.auth.get("DefaultAuthorizer").map(scalar);
        let mut authorizers = Map::new();
        if default.as_deref() == Some("AWS_IAM") {
            authorizers.insert("AWS_IAM".into(), aws_iam_definition());
        }
        for (name, authorizer) in self.authorizers().into_iter().flatten() {
            authorizers.insert(
                name.clone(),
                authorizer_definition(authorizer, &join(&at, &format!("Authorizers.{name}")))?,
            );
        }
        if !authorizers.is_empty() {
            for (name, definition) in &authorizers {
                set_security_definition(&mut self.body, name, definition.clone());
            }
            if let Some(default) = &default {
                if !authorizers.contains_key(default) {
                    return Err(format!(
                        "{at}.DefaultAuthorizer: `{default}` is not in Authorizers"
                    ));
                }
                let preflight = self
                    .auth
                    .get("AddDefaultAuthorizerToCorsPreflight")
                    .and_then(flag)
                    .unwrap_or(true);
                let scopes = self
                    .authorizers()
                    .and_then(|a| a.get(default))
                    .and_then(|a| a.get("AuthorizationScopes"))
                    .cloned()
                    .unwrap_or_else(|| json!([]));
                let names: BTreeSet<String> =
                    authorizers.keys().cloned().chain(["AWS_IAM".to_string()]).collect();
                let iam = default_authorizer(&mut self.body, default, &scopes, &names, preflight);
                if iam {
                    add_security_definition(&mut self.body, "AWS_IAM", aws_iam_definition());
                }
            }
        }
        if self.auth.get("ApiKeyRequired").and_then(flag) == Some(true) {
            add_security_definition(&mut self.body, "api_key", api_key_definition());
            let preflight =
                self.auth.get("AddApiKeyRequiredToCorsPreflight").and_then(flag).unwrap_or(true);
            default_api_key(&mut self.body, preflight);
        }
        self.openapi_postprocess();
        Ok(())
    }

    fn add_gateway_responses(&mut self) -> Result<(), String> {
        let Some(responses) = self.prop("GatewayResponses").cloned() else { return Ok(()) };
        self.require_editable("GatewayResponses")?;
        let at = join(&self.at, "GatewayResponses");
        let responses = responses.as_object().cloned().ok_or_else(|| format!("{at}: not a map"))?;
        let mut out = Map::new();
        for (kind, response) in responses {
            let here = join(&at, &kind);
            let response = response
                .as_object()
                .filter(|r| intrinsic(r).is_none())
                .ok_or_else(|| format!("{here}: not a map"))?;
            if let Some(key) = response.keys().find(|k| {
                !["ResponseParameters", "ResponseTemplates", "StatusCode"].contains(&k.as_str())
            }) {
                return Err(format!("{here}.{key}: not a GatewayResponse property"));
            }
            let mut parameters = Map::new();
            let given = response.get("ResponseParameters").and_then(Value::as_object);
            for (group, prefix) in
                [("Headers", "header."), ("Paths", "path."), ("QueryStrings", "querystring.")]
            {
                for (name, value) in given
                    .and_then(|g| g.get(group))
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    parameters.insert(format!("gatewayresponse.{prefix}{name}"), value.clone());
                }
            }
            let templates = response.get("ResponseTemplates").cloned().unwrap_or_else(|| json!({}));
            let mut swagger =
                json!({"responseParameters": parameters, "responseTemplates": templates});
            if let (Some(status), Some(map)) = (response.get("StatusCode"), swagger.as_object_mut())
            {
                map.insert("statusCode".into(), json!(scalar(status)));
            }
            out.insert(kind, swagger);
        }
        if let Some(existing) = object_mut(&mut self.body, "x-amazon-apigateway-gateway-responses")
        {
            existing.extend(out);
        }
        Ok(())
    }

    fn add_binary_media_types(&mut self) -> Result<(), String> {
        let Some(Value::Array(types)) = self.prop("BinaryMediaTypes").cloned() else {
            return Ok(());
        };
        if self.from_file {
            return Ok(());
        }
        self.require_editable("BinaryMediaTypes")?;
        let types: Vec<Value> = types
            .iter()
            .map(|t| match t {
                Value::String(s) => json!(s.replace("~1", "/")),
                other => other.clone(),
            })
            .collect();
        if let Some(body) = self.body.as_object_mut() {
            body.insert("x-amazon-apigateway-binary-media-types".into(), Value::Array(types));
        }
        Ok(())
    }

    fn add_models(&mut self) -> Result<(), String> {
        let Some(models) = self.prop("Models").cloned() else { return Ok(()) };
        self.require_editable("Models")?;
        let at = join(&self.at, "Models");
        let models = models.as_object().cloned().ok_or_else(|| format!("{at}: not a map"))?;
        for (name, schema) in models {
            if schema.get("type").is_none() {
                return Err(format!("{at}.{name}: the schema has no `type`"));
            }
            if let Some(definitions) = object_mut(&mut self.body, "definitions") {
                definitions.insert(name.to_ascii_lowercase(), schema);
            }
        }
        self.openapi_postprocess();
        Ok(())
    }

    /// SAM's OpenAPI 3 tidying: `securityDefinitions` and `definitions` replace the
    /// components' `securitySchemes` and `schemas`; the CORS methods' headers get a schema.
    fn openapi_postprocess(&mut self) {
        if self.body.get("swagger").is_some() {
            return;
        }
        let version = match (self.body.get("openapi"), self.prop("OpenApiVersion")) {
            (Some(v), None) => scalar(v),
            (_, Some(v)) => scalar(v),
            (None, None) => return,
        };
        if !is_openapi3(&version) {
            return;
        }
        let Some(doc) = self.body.as_object_mut() else { return };
        for (old, new) in [("securityDefinitions", "securitySchemes"), ("definitions", "schemas")] {
            let moved = doc.get(old).filter(|v| truthy(v)).cloned();
            if let Some(moved) = moved {
                doc.remove(old);
                let components = doc.entry("components").or_insert_with(|| json!({}));
                if !truthy(components) {
                    *components = json!({});
                }
                if let Some(components) = components.as_object_mut() {
                    components.insert(new.into(), moved);
                }
            }
        }
        for item in doc
            .get_mut("paths")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|p| p.values_mut())
        {
            let Some(options) = item.get_mut("options").and_then(Value::as_object_mut) else {
                continue;
            };
            options.remove("produces");
            options.remove("consumes");
            let headers = options
                .get_mut("responses")
                .and_then(|r| r.get_mut("200"))
                .and_then(|r| r.get_mut("headers"))
                .and_then(Value::as_object_mut);
            for header in headers.into_iter().flat_map(|h| h.values_mut()) {
                *header = json!({"schema": header.take()});
            }
        }
    }

    /// `Auth.UsagePlan`: a plan for this API (`PER_API`) or for all (`SHARED`), each with an
    /// API key API Gateway makes the value of.
    fn usage_plan(&self, stage_id: &str, out: &mut Generated) -> Result<(), String> {
        let Some(plan) = self.auth.get("UsagePlan") else { return Ok(()) };
        let at = join(&self.at, "Auth.UsagePlan");
        let plan = plan.as_object().ok_or_else(|| format!("{at}: not a map"))?;
        const KNOWN: [&str; 6] =
            ["CreateUsagePlan", "Description", "Quota", "Tags", "Throttle", "UsagePlanName"];
        if let Some(key) = plan.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(format!("{at}.{key}: not a UsagePlan property"));
        }
        let create = plan
            .get("CreateUsagePlan")
            .map(scalar)
            .ok_or_else(|| format!("{at}.CreateUsagePlan: missing"))?;
        let mut props = Map::new();
        for name in ["UsagePlanName", "Description", "Quota", "Tags", "Throttle"] {
            if let Some(value) = plan.get(name).filter(|v| truthy(v)) {
                props.insert(name.into(), value.clone());
            }
        }
        let id = &self.id;
        let api_stage = json!({"ApiId": {"Ref": id}, "Stage": {"Ref": stage_id}});
        match create.as_str() {
            "NONE" => Ok(()),
            "PER_API" => {
                props.insert("ApiStages".into(), json!([api_stage]));
                let (plan_id, key_id) = (format!("{id}UsagePlan"), format!("{id}ApiKey"));
                out.add(&plan_id, "AWS::ApiGateway::UsagePlan", Value::Object(props), self, &at);
                let key = json!({
                    "Enabled": true,
                    "StageKeys": [{"RestApiId": {"Ref": id}, "StageName": {"Ref": stage_id}}],
                });
                out.add(&key_id, "AWS::ApiGateway::ApiKey", key, self, &at);
                let plan_key = plan_key(&key_id, &plan_id);
                out.add(
                    &format!("{id}UsagePlanKey"),
                    "AWS::ApiGateway::UsagePlanKey",
                    plan_key,
                    self,
                    &at,
                );
                Ok(())
            }
            "SHARED" => {
                if !out.shared_stages.contains(&api_stage) {
                    out.shared_stages.push(api_stage);
                }
                let (shared, _) = out.shared_plan.get_or_insert_with(|| (Map::new(), at.clone()));
                shared.extend(props);
                Ok(())
            }
            other => Err(format!("{at}.CreateUsagePlan: `{other}` is not SHARED, PER_API or NONE")),
        }
    }

    /// `Domain`: the custom domain and its base path mappings to this API's stage.
    fn domain(&self, t: &Template, out: &mut Generated, report: &mut Report) -> Result<(), String> {
        let Some(domain) = self.prop("Domain") else { return Ok(()) };
        let at = join(&self.at, "Domain");
        let domain = domain.as_object().ok_or_else(|| format!("{at}: not a map"))?;
        let field = |name: &str| domain.get(name).ok_or_else(|| format!("{at}.{name}: missing"));
        let name = t.text(field("DomainName")?, &join(&at, "DomainName"))?;
        let certificate = field("CertificateArn")?.clone();
        let endpoint = match domain.get("EndpointConfiguration") {
            Some(endpoint) => t.text(endpoint, &join(&at, "EndpointConfiguration"))?,
            None => "REGIONAL".into(),
        };
        match endpoint.as_str() {
            "PRIVATE" => {
                report.add(at, PRIVATE_DOMAINS);
                return Ok(());
            }
            "REGIONAL" | "EDGE" => {}
            other => {
                return Err(format!(
                    "{at}.EndpointConfiguration: `{other}` is not EDGE, REGIONAL or PRIVATE"
                ))
            }
        }
        let certificate_key =
            if endpoint == "REGIONAL" { "RegionalCertificateArn" } else { "CertificateArn" };
        let mut props = json!({
            "DomainName": name,
            certificate_key: certificate,
            "EndpointConfiguration": {"Types": [endpoint]},
        });
        for key in
            ["MutualTlsAuthentication", "SecurityPolicy", "OwnershipVerificationCertificateArn"]
        {
            if let (Some(value), Some(map)) = (domain.get(key), props.as_object_mut()) {
                map.insert(key.into(), value.clone());
            }
        }
        let domain_id = format!(
            "ApiGatewayDomainName{}",
            name.replace(|c: char| !c.is_ascii_alphanumeric(), "")
        );
        out.add(&domain_id, "AWS::ApiGateway::DomainName", props, self, &at);
        let normalize = domain.get("NormalizeBasePath").and_then(flag).unwrap_or(true);
        let base_paths = match domain
            .get("BasePath")
            .map(|b| t.resolve(b, &join(&at, "BasePath")))
            .transpose()?
            .flatten()
        {
            Some(Value::String(path)) if !path.is_empty() => vec![path],
            Some(Value::Array(paths)) if !paths.is_empty() => paths.iter().map(scalar).collect(),
            _ => Vec::new(),
        };
        let mapping = |base_path: Option<String>| {
            let mut props = json!({
                "DomainName": {"Ref": domain_id},
                "RestApiId": {"Ref": self.id},
                "Stage": {"Ref": format!("{}.Stage", self.id)},
            });
            if let (Some(path), Some(map)) = (base_path, props.as_object_mut()) {
                map.insert("BasePath".into(), json!(path));
            }
            props
        };
        if base_paths.is_empty() {
            out.add(
                &format!("{}BasePathMapping", self.id),
                "AWS::ApiGateway::BasePathMapping",
                mapping(None),
                self,
                &at,
            );
        }
        for base_path in base_paths {
            let alphanumeric: String = base_path.chars().filter(|c| c.is_alphanumeric()).collect();
            let value = if normalize { alphanumeric.clone() } else { base_path };
            let id = format!("{}{alphanumeric}BasePathMapping", self.id);
            out.add(&id, "AWS::ApiGateway::BasePathMapping", mapping(Some(value)), self, &at);
        }
        Ok(())
    }
}

impl Template {
    /// `DefinitionUri`: a local file (as `sam deploy` uploads it); S3 is refused.
    fn definition_file(&self, uri: &Value, at: &str) -> Result<Value, String> {
        match uri {
            Value::String(path) if !path.contains("://") => load(&self.dir.join(path), 1),
            _ => Err(format!(
                "{at}: the OpenAPI document is in S3: download it and give its path, or put it \
                 in DefinitionBody"
            )),
        }
    }
}

/// SAM's document for an API it writes from the events.
fn skeleton(version: Option<&Value>) -> Value {
    let mut doc = json!({
        "swagger": "2.0",
        "info": {"version": "1.0", "title": {"Ref": "AWS::StackName"}},
        "paths": {},
    });
    let version = version.map(scalar).filter(|v| is_openapi3(v));
    if let (Some(version), Some(map)) = (version, doc.as_object_mut()) {
        map.remove("swagger");
        map.insert("openapi".into(), json!(version));
    }
    doc
}

/// SAM's `\A3(\.\d)(\.\d)?$`.
fn is_openapi3(version: &str) -> bool {
    let mut parts = version.split('.');
    let digit = |p: &str| p.len() == 1 && p.bytes().all(|b| b.is_ascii_digit());
    parts.next() == Some("3")
        && parts.next().is_some_and(digit)
        && parts.next().is_none_or(digit)
        && parts.next().is_none()
}

/// An inline OpenAPI map SAM can edit: `paths` a map, and `swagger`, or `openapi` 3.
fn is_openapi(doc: &Value) -> bool {
    let Some(map) = doc.as_object().filter(|m| intrinsic(m).is_none()) else { return false };
    map.get("paths").is_some_and(Value::is_object)
        && (map.get("swagger").is_some_and(truthy)
            || map.get("openapi").map(scalar).is_some_and(|v| is_openapi3(&v)))
}

/// Python's truth of a JSON value, as SAM tests its inputs.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn object_mut<'a>(doc: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let slot = doc.as_object_mut()?.entry(key).or_insert_with(|| json!({}));
    if slot.is_null() {
        *slot = json!({});
    }
    slot.as_object_mut()
}

fn list_mut<'a>(map: &'a mut Map<String, Value>, key: &str) -> Option<&'a mut Vec<Value>> {
    map.entry(key).or_insert_with(|| json!([])).as_array_mut()
}

/// The maps an `Fn::If` chooses between, or the map itself (SAM edits both branches).
fn branches_mut(value: &mut Value) -> Vec<&mut Map<String, Value>> {
    let conditional = value.as_object().is_some_and(|m| m.len() == 1 && m.contains_key("Fn::If"));
    if conditional {
        return value
            .get_mut("Fn::If")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flat_map(|branches| branches.iter_mut().skip(1))
            .filter_map(Value::as_object_mut)
            .filter(|m| intrinsic(m).is_none())
            .collect();
    }
    value.as_object_mut().into_iter().collect()
}

/// The operation at `paths.{path}.{method}`, if the document has it.
fn operation<'a>(doc: &'a Value, path: &str, method: &str) -> Option<&'a Value> {
    doc.get("paths")?.get(path)?.get(method)
}

fn operation_mut<'a>(
    doc: &'a mut Value,
    path: &str,
    method: &str,
) -> Option<&'a mut Map<String, Value>> {
    let item = doc.get_mut("paths")?.as_object_mut()?.entry(path).or_insert_with(|| json!({}));
    item.as_object_mut()?.entry(method).or_insert_with(|| json!({})).as_object_mut()
}

/// The operations of a path item that have an integration (SAM applies defaults only there).
fn integrated_operations(item: &mut Map<String, Value>) -> Vec<(String, &mut Map<String, Value>)> {
    item.iter_mut()
        .filter(|(name, _)| !["summary", "description", "parameters"].contains(&name.as_str()))
        .filter_map(|(name, op)| op.as_object_mut().map(|op| (name.clone(), op)))
        .filter(|(_, op)| op.get(INTEGRATION).is_some_and(truthy))
        .collect()
}

fn push_security(operation: &mut Map<String, Value>, name: &str, scopes: Value) {
    if let Some(list) = list_mut(operation, "security") {
        list.push(single(name, scopes));
    }
}

fn first_security_has(operation: &Map<String, Value>, name: &str) -> bool {
    operation.get("security").and_then(|s| s.get(0)).and_then(|s| s.get(name)).is_some()
}

fn aws_iam_definition() -> Value {
    json!({
        "x-amazon-apigateway-authtype": "awsSigv4",
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
    })
}

fn api_key_definition() -> Value {
    json!({"type": "apiKey", "name": "x-api-key", "in": "header"})
}

/// Adds a security definition unless one of that name is there.
fn add_security_definition(doc: &mut Value, name: &str, definition: Value) {
    if let Some(definitions) = object_mut(doc, "securityDefinitions") {
        definitions.entry(name).or_insert(definition);
    }
}

fn set_security_definition(doc: &mut Value, name: &str, definition: Value) {
    if let Some(definitions) = object_mut(doc, "securityDefinitions") {
        definitions.insert(name.into(), definition);
    }
}

fn add_request_validator(doc: &mut Value, name: &str, body: bool, parameters: bool) {
    if let Some(validators) = object_mut(doc, "x-amazon-apigateway-request-validators") {
        validators.entry(name).or_insert_with(
            || json!({"validateRequestBody": body, "validateRequestParameters": parameters}),
        );
    }
}

/// An authorizer of `Auth.Authorizers` as SAM writes its security scheme.
fn authorizer_definition(authorizer: &Value, at: &str) -> Result<Value, String> {
    let get = |key: &str| authorizer.get(key).filter(|v| truthy(v));
    let identity = get("Identity");
    let identity_get = |key: &str| identity.and_then(|i| i.get(key)).filter(|v| truthy(v));
    let payload = get("FunctionPayloadType").map(scalar).unwrap_or_else(|| "TOKEN".into());
    if payload != "TOKEN" && payload != "REQUEST" {
        return Err(format!("{at}.FunctionPayloadType: `{payload}` is not TOKEN or REQUEST"));
    }
    let cognito = get("UserPoolArn").is_some();
    let header = match (cognito, payload.as_str()) {
        (false, "REQUEST") => json!("Unused"),
        _ => identity_get("Header").cloned().unwrap_or_else(|| json!("Authorization")),
    };
    let kind = if cognito { "cognito_user_pools" } else { "custom" };
    let mut scheme = json!({
        "type": "apiKey",
        "name": header,
        "in": "header",
        "x-amazon-apigateway-authtype": kind,
    });
    let mut definition = Map::new();
    if let Some(pools) = get("UserPoolArn") {
        definition.insert("type".into(), json!("cognito_user_pools"));
        let pools = if pools.is_array() { pools.clone() } else { json!([pools]) };
        definition.insert("providerARNs".into(), pools);
    } else {
        let function = get("FunctionArn").ok_or_else(|| format!("{at}.FunctionArn: missing"))?;
        definition.insert("type".into(), json!(payload.to_ascii_lowercase()));
        let uri = "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/\
                   functions/${__FunctionArn__}/invocations";
        let uri = json!({"Fn::Sub": [uri, {"__FunctionArn__": function}]});
        definition.insert("authorizerUri".into(), uri);
        if let Some(ttl) = identity.and_then(|i| i.get("ReauthorizeEvery")) {
            definition.insert("authorizerResultTtlInSeconds".into(), ttl.clone());
        }
        if let Some(role) = get("FunctionInvokeRole").filter(|r| *r != "NONE") {
            definition.insert("authorizerCredentials".into(), role.clone());
        }
        if payload == "REQUEST" {
            let mut sources = Vec::new();
            for (key, prefix) in [
                ("Headers", "method.request.header."),
                ("QueryStrings", "method.request.querystring."),
                ("StageVariables", "stageVariables."),
                ("Context", "context."),
            ] {
                for name in identity_get(key).and_then(Value::as_array).into_iter().flatten() {
                    sources.push(format!("{prefix}{}", scalar(name)));
                }
            }
            if !sources.is_empty() {
                definition.insert("identitySource".into(), json!(sources.join(", ")));
            }
        }
    }
    if cognito || payload == "TOKEN" {
        if let Some(expression) = identity_get("ValidationExpression") {
            definition.insert("identityValidationExpression".into(), expression.clone());
        }
    }
    if let Some(map) = scheme.as_object_mut() {
        map.insert("x-amazon-apigateway-authorizer".into(), Value::Object(definition));
    }
    Ok(scheme)
}

/// `DefaultAuthorizer` on every method with an integration that names no authorizer (a
/// method's `NONE` opts out); whether a method's first requirement ended up IAM.
fn default_authorizer(
    doc: &mut Value,
    default: &str,
    scopes: &Value,
    names: &BTreeSet<String>,
    preflight: bool,
) -> bool {
    let mut iam = false;
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return false };
    for item in paths.values_mut() {
        for item in branches_mut(item) {
            for (name, operation) in integrated_operations(item) {
                if !preflight && name == "options" {
                    continue;
                }
                let existing: Vec<Value> = operation
                    .get("security")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let names_of = |s: &Value| {
                    s.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default()
                };
                let (mut others, authorizers): (Vec<Value>, Vec<Value>) = existing
                    .into_iter()
                    .partition(|s| names_of(s).iter().all(|n| !names.contains(n)));
                let chosen = match others.iter().position(|s| s.get("NONE").is_some()) {
                    Some(none) => {
                        others.remove(none);
                        Vec::new()
                    }
                    None if !authorizers.is_empty() => authorizers,
                    None => vec![single(default, scopes.clone())],
                };
                let security: Vec<Value> = others.into_iter().chain(chosen).collect();
                if !security.is_empty() {
                    iam |= security.first().and_then(|s| s.get("AWS_IAM")).is_some();
                    operation.insert("security".into(), Value::Array(security));
                }
            }
        }
    }
    iam
}

/// `ApiKeyRequired` on every method with an integration (a method's `false` opts out).
fn default_api_key(doc: &mut Value, preflight: bool) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut() {
        for item in branches_mut(item) {
            for (name, operation) in integrated_operations(item) {
                let existing: Vec<Value> = operation
                    .get("security")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let is_key =
                    |s: &Value| s.get("api_key").is_some() || s.get("api_key_false").is_some();
                let (mut keys, others): (Vec<Value>, Vec<Value>) =
                    existing.iter().cloned().partition(is_key);
                let key = match keys.iter().position(|s| s.get("api_key_false").is_some()) {
                    Some(off) => {
                        keys.remove(off);
                        Vec::new()
                    }
                    None => vec![json!({"api_key": []})],
                };
                let security: Vec<Value> = if name == "options" && !preflight {
                    others
                } else {
                    others.into_iter().chain(key).collect()
                };
                if security != existing {
                    operation.insert("security".into(), Value::Array(security));
                }
            }
        }
    }
}

/// An event's `RequestParameters`: `method.request.querystring.q` or `{name: {Required,
/// Caching}}`, as parameters (and cache keys).
fn add_request_parameters(
    operation: &mut Map<String, Value>,
    parameters: &[Value],
    at: &str,
) -> Result<(), String> {
    for parameter in parameters {
        let (name, settings) = match parameter {
            Value::String(name) => (name.clone(), json!({})),
            Value::Object(map) if map.len() == 1 => match map.iter().next() {
                Some((name, settings)) => (name.clone(), settings.clone()),
                None => continue,
            },
            _ => {
                return Err(format!(
                    "{at}.RequestParameters: a text or {{NAME: {{Required, Caching}}}}"
                ))
            }
        };
        let Some((place, short)) =
            name.strip_prefix("method.request.").and_then(|n| n.split_once('.'))
        else {
            return Err(format!(
                "{at}.RequestParameters: `{name}` is not \
                 method.request.(querystring|path|header).NAME"
            ));
        };
        let place = if place == "querystring" { "query" } else { place };
        let required = settings.get("Required").cloned().unwrap_or(json!(false));
        if let Some(list) = list_mut(operation, "parameters") {
            list.push(json!({"in": place, "name": short, "required": required, "type": "string"}));
        }
        if settings.get("Caching").and_then(flag) == Some(true) {
            let keys = operation
                .get_mut(INTEGRATION)
                .and_then(Value::as_object_mut)
                .and_then(|i| list_mut(i, "cacheKeyParameters"));
            if let Some(keys) = keys {
                keys.push(json!(name));
            }
        }
    }
    Ok(())
}

/// An event's `RequestModel: {Model, Required, ValidateBody, ValidateParameters}`.
fn request_model(
    operation: &mut Map<String, Value>,
    model: &Map<String, Value>,
    models: &BTreeSet<String>,
    swagger: bool,
    at: &str,
    api: &str,
) -> Result<Option<(String, bool, bool)>, String> {
    let Some(name) = model.get("Model").map(scalar) else { return Ok(None) };
    if !models.contains(&name) {
        return Err(format!("{at}.RequestModel.Model: `{name}` is not in the Models of {api}"));
    }
    let lower = name.to_ascii_lowercase();
    let required = model.get("Required").cloned();
    if swagger {
        let schema = json!({"$ref": format!("#/definitions/{lower}")});
        let mut parameter = json!({"in": "body", "name": lower, "schema": schema});
        if let (Some(required), Some(map)) = (required, parameter.as_object_mut()) {
            map.insert("required".into(), required);
        }
        if let Some(list) = list_mut(operation, "parameters") {
            list.push(parameter);
        }
    } else {
        let schema = json!({"$ref": format!("#/components/schemas/{lower}")});
        let mut body = json!({"content": {"application/json": {"schema": schema}}});
        if let (Some(required), Some(map)) = (required, body.as_object_mut()) {
            map.insert("required".into(), required);
        }
        operation.insert("requestBody".into(), body);
    }
    let (body, parameters) = (model.get("ValidateBody"), model.get("ValidateParameters"));
    if body.is_none() && parameters.is_none() {
        return Ok(None);
    }
    let body = body.and_then(flag).unwrap_or(false);
    let parameters = parameters.and_then(flag).unwrap_or(false);
    let name = match (body, parameters) {
        (true, true) => "body-and-params",
        (true, false) => "body-only",
        (false, true) => "params-only",
        (false, false) => "no-validation",
    };
    operation.insert("x-amazon-apigateway-request-validator".into(), json!(name));
    Ok(Some((name.to_string(), body, parameters)))
}

/// `Access-Control-Allow-Methods` for a path: its methods and OPTIONS (all for ANY).
fn cors_methods(item: &Map<String, Value>) -> String {
    let mut methods: BTreeSet<String> = if item.contains_key(ANY_METHOD) {
        ["OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]
            .iter()
            .map(|m| m.to_string())
            .collect()
    } else {
        item.keys().map(|k| k.to_ascii_uppercase()).collect()
    };
    methods.insert("OPTIONS".into());
    methods.into_iter().collect::<Vec<_>>().join(",")
}

/// SAM's CORS preflight method: a mock integration answering the CORS headers.
fn cors_options(
    origin: &Value,
    headers: Option<&Value>,
    methods: &Value,
    max_age: Option<&Value>,
    credentials: bool,
) -> Value {
    let mut parameters = Map::new();
    let mut response_headers = Map::new();
    let mut set = |name: &str, value: Value, kind: &str| {
        parameters.insert(format!("method.response.header.{name}"), value);
        response_headers.insert(name.to_string(), json!({"type": kind}));
    };
    set("Access-Control-Allow-Origin", origin.clone(), "string");
    if let Some(headers) = headers.filter(|h| truthy(h)) {
        set("Access-Control-Allow-Headers", headers.clone(), "string");
    }
    if truthy(methods) {
        set("Access-Control-Allow-Methods", methods.clone(), "string");
    }
    if let Some(max_age) = max_age.filter(|m| !m.is_null()) {
        set("Access-Control-Max-Age", max_age.clone(), "integer");
    }
    if credentials {
        set("Access-Control-Allow-Credentials", json!("'true'"), "string");
    }
    json!({
        "summary": "CORS support",
        "consumes": ["application/json"],
        "produces": ["application/json"],
        INTEGRATION: {
            "type": "mock",
            "requestTemplates": {"application/json": "{\n  \"statusCode\" : 200\n}\n"},
            "responses": {"default": {
                "statusCode": "200",
                "responseParameters": parameters,
                "responseTemplates": {"application/json": "{}\n"},
            }},
        },
        "responses": {"200": {
            "description": "Default response for CORS method",
            "headers": response_headers,
        }},
    })
}

/// A `UsagePlanKey`'s properties.
fn plan_key(key: &str, plan: &str) -> Value {
    json!({"KeyId": {"Ref": key}, "KeyType": "API_KEY", "UsagePlanId": {"Ref": plan}})
}

/// `ServerlessUsagePlan`, `ServerlessApiKey` and `ServerlessUsagePlanKey`.
fn shared_usage_plan_resources(
    mut plan: Map<String, Value>,
    stages: &[Value],
) -> Vec<(&'static str, &'static str, Value)> {
    plan.insert("ApiStages".into(), Value::Array(stages.to_vec()));
    let stage_keys: Vec<Value> = stages
        .iter()
        .map(
            |s| json!({"RestApiId": s.get("ApiId").cloned(), "StageName": s.get("Stage").cloned()}),
        )
        .collect();
    vec![
        ("ServerlessUsagePlan", "AWS::ApiGateway::UsagePlan", Value::Object(plan)),
        (
            "ServerlessApiKey",
            "AWS::ApiGateway::ApiKey",
            json!({"Enabled": true, "StageKeys": stage_keys}),
        ),
        (
            "ServerlessUsagePlanKey",
            "AWS::ApiGateway::UsagePlanKey",
            plan_key("ServerlessApiKey", "ServerlessUsagePlan"),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Reading the API Gateway resources into the account.
// ---------------------------------------------------------------------------------------------

/// A map of properties (a resource's, or one nested in them), read one at a time so that what
/// is not read is not worked out.
struct Props<'a> {
    t: &'a Template,
    at: String,
    map: Cow<'a, Map<String, Value>>,
}

impl<'a> Props<'a> {
    fn of(t: &'a Template, at: String, value: &'a Value) -> Result<Option<Props<'a>>, String> {
        match value {
            Value::Object(map) if intrinsic(map).is_none() => {
                Ok(Some(Props { t, at, map: Cow::Borrowed(map) }))
            }
            other => match t.resolve(other, &at)? {
                Some(Value::Object(map)) => Ok(Some(Props { t, at, map: Cow::Owned(map) })),
                None | Some(Value::Null) => Ok(None),
                Some(_) => Err(format!("{at}: not a map")),
            },
        }
    }

    fn at(&self, key: &str) -> String {
        join(&self.at, key)
    }

    fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    fn get(&self, key: &str) -> Result<Option<Value>, String> {
        self.get_as(key, key)
    }

    /// `key`, named `label` in messages.
    fn get_as(&self, key: &str, label: &str) -> Result<Option<Value>, String> {
        match self.map.get(key) {
            Some(value) => Ok(self.t.resolve(value, &self.at(label))?.filter(|v| !v.is_null())),
            None => Ok(None),
        }
    }

    fn text(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key)? {
            Some(value) => {
                scalar_text(&value).map(Some).ok_or_else(|| format!("{}: not a text", self.at(key)))
            }
            None => Ok(None),
        }
    }

    fn required(&self, key: &str) -> Result<String, String> {
        self.text(key)?.ok_or_else(|| format!("{}: missing", self.at(key)))
    }

    fn nested(&self, key: &str) -> Result<Option<Props<'_>>, String> {
        match self.map.get(key) {
            Some(value) => Props::of(self.t, self.at(key), value),
            None => Ok(None),
        }
    }

    /// A list of maps.
    fn items(&self, key: &str) -> Result<Vec<Props<'_>>, String> {
        let at = self.at(key);
        match self.map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    out.extend(Props::of(self.t, format!("{at}[{i}]"), item)?);
                }
                Ok(out)
            }
            Some(other) => {
                let mut out = Vec::new();
                for (i, item) in self.t.list(other, &at)?.into_iter().enumerate() {
                    match item {
                        Value::Object(map) => out.push(Props {
                            t: self.t,
                            at: format!("{at}[{i}]"),
                            map: Cow::Owned(map),
                        }),
                        _ => return Err(format!("{at}[{i}]: not a map")),
                    }
                }
                Ok(out)
            }
        }
    }

    /// `keys` worked out, under their camelCase names, typed as API Gateway answers them.
    fn camel(&self, keys: &[&str]) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        for key in keys {
            if let Some(value) = self.get(key)? {
                out.insert(lower_camel(key), typed(key, value));
            }
        }
        Ok(out)
    }

    /// Reports each property that is neither read nor ignored.
    fn unread(&self, read: &[&str], report: &mut Report) {
        for key in self.map.keys() {
            if !read.contains(&key.as_str()) && key != "Tags" {
                report.add(self.at(key), "not read: the gateway has no such setting");
            }
        }
    }
}

/// `ThrottlingRateLimit` -> `throttlingRateLimit`; `ProviderARNs` -> `providerARNs`.
fn lower_camel(key: &str) -> String {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

const NUMBERS: [&str; 11] = [
    "ThrottlingRateLimit",
    "ThrottlingBurstLimit",
    "CacheTtlInSeconds",
    "PercentTraffic",
    "Limit",
    "Offset",
    "RateLimit",
    "BurstLimit",
    "TimeoutInMillis",
    "AuthorizerResultTtlInSeconds",
    "MinimumCompressionSize",
];
const FLAGS: [&str; 11] = [
    "CachingEnabled",
    "CacheDataEncrypted",
    "DataTraceEnabled",
    "MetricsEnabled",
    "UseStageCache",
    "Enabled",
    "ValidateRequestBody",
    "ValidateRequestParameters",
    "ApiKeyRequired",
    "CacheClusterEnabled",
    "TracingEnabled",
];

/// CloudFormation takes `"100"` and `"true"` where API Gateway answers 100 and true.
fn typed(key: &str, value: Value) -> Value {
    match value {
        Value::String(s) if NUMBERS.contains(&key) => {
            if let Ok(i) = s.parse::<i64>() {
                json!(i)
            } else if let Some(n) = s.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Value::Number(n)
            } else {
                Value::String(s)
            }
        }
        Value::String(s) if FLAGS.contains(&key) => {
            flag(&json!(s)).map(Value::Bool).unwrap_or(Value::String(s))
        }
        other => other,
    }
}

struct Resource<'a> {
    id: &'a str,
    kind: &'a str,
    props: Props<'a>,
}

/// One REST API as it is gathered: its `RestApi`, its document, its `Resource`s and `Method`s.
#[derive(Default)]
struct Api {
    rest: RestApi,
    body: Option<Value>,
    /// `(id, parent id, path part)`.
    nodes: Vec<(String, String, String)>,
    /// `(resource id, method, where)`.
    methods: Vec<(String, Value, String)>,
}

struct Builder<'r> {
    region: String,
    report: &'r mut Report,
    apis: BTreeMap<String, Api>,
    api_keys: BTreeMap<String, Value>,
    /// Keys left out for want of a value: their plan memberships go too.
    keyless: BTreeSet<String>,
    plans: BTreeMap<String, UsagePlan>,
    domains: BTreeMap<String, DomainName>,
}

impl<'r> Builder<'r> {
    fn read(t: &Template, report: &'r mut Report) -> Result<Account, String> {
        let mut b = Builder {
            region: t.region.clone(),
            report,
            apis: BTreeMap::new(),
            api_keys: BTreeMap::new(),
            keyless: BTreeSet::new(),
            plans: BTreeMap::new(),
            domains: BTreeMap::new(),
        };
        let mut resources = Vec::new();
        for (id, resource) in &t.resources {
            if id.starts_with("Fn::") {
                return Err(format!(
                    "Resources.{id}: not read (Fn::ForEach makes resources when the stack is \
                     deployed): give the processed template"
                ));
            }
            let kind = resource
                .get("Type")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("Resources.{id}.Type: missing"))?;
            if !t.holds(id, resource)? {
                continue;
            }
            let props =
                match Props::of(t, t.prefix(id), resource.get("Properties").unwrap_or(&NULL))? {
                    Some(props) => props,
                    None => Props { t, at: t.prefix(id), map: Cow::Owned(Map::new()) },
                };
            resources.push(Resource { id, kind, props });
        }
        // What others name first: APIs, then keys, plans and domains, then the rest.
        resources.sort_by_key(|r| (rank(r.kind), r.id));
        for r in &resources {
            b.resource(r)?;
        }
        Ok(Account {
            region: b.region.clone(),
            account_id: t.account_id.clone(),
            rest_apis: b.finish_apis()?,
            api_keys: b.api_keys.into_values().collect(),
            usage_plans: b.plans.into_values().collect(),
            domain_names: b.domains.into_values().collect(),
        })
    }

    fn resource(&mut self, r: &Resource) -> Result<(), String> {
        match r.kind {
            "AWS::ApiGateway::RestApi" => self.rest_api(r),
            "AWS::ApiGateway::Stage" => self.stage(r),
            "AWS::ApiGateway::Deployment" => self.deployment(r),
            "AWS::ApiGateway::ApiKey" => self.api_key(r),
            "AWS::ApiGateway::UsagePlan" => self.usage_plan(r),
            "AWS::ApiGateway::UsagePlanKey" => self.usage_plan_key(r),
            "AWS::ApiGateway::DomainName" => self.domain_name(r),
            "AWS::ApiGateway::BasePathMapping" => self.base_path_mapping(r),
            "AWS::ApiGateway::Authorizer" => self.authorizer(r),
            "AWS::ApiGateway::GatewayResponse" => self.gateway_response(r),
            "AWS::ApiGateway::Model" => self.model(r),
            "AWS::ApiGateway::RequestValidator" => self.request_validator(r),
            "AWS::ApiGateway::Resource" => self.api_resource(r),
            "AWS::ApiGateway::Method" => self.method(r),
            "AWS::ApiGateway::ClientCertificate" => {
                self.report.add(format!("Resources.{}", r.id), CLIENT_CERTIFICATE);
                Ok(())
            }
            "AWS::ApiGateway::VpcLink" => {
                self.report.add(
                    format!("Resources.{}", r.id),
                    "VPC links are not used: the gateway reaches backends by the clusters of the \
                     gateway file",
                );
                Ok(())
            }
            "AWS::ApiGateway::DomainNameV2"
            | "AWS::ApiGateway::BasePathMappingV2"
            | "AWS::ApiGateway::DomainNameAccessAssociation" => {
                self.report.add(
                    format!("Resources.{}", r.id),
                    "private custom domains are not read: map the API in the gateway file",
                );
                Ok(())
            }
            "AWS::WAFv2::WebACLAssociation" | "AWS::WAFRegional::WebACLAssociation" => {
                self.report.add(
                    format!("Resources.{}", r.id),
                    "web ACLs (WAF) are not applied by the gateway",
                );
                Ok(())
            }
            kind if kind.starts_with("AWS::ApiGatewayV2::") => {
                self.report.add(format!("Resources.{}", r.id), HTTP_API);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The API a resource's `RestApiId` names, if the template defines it.
    fn api_of(&mut self, props: &Props) -> Result<Option<String>, String> {
        let id = props.required("RestApiId")?;
        if self.apis.contains_key(&id) {
            return Ok(Some(id));
        }
        self.report.add(
            props.at("RestApiId"),
            format!("the REST API `{id}` is not defined in the template: left out"),
        );
        Ok(None)
    }

    fn rest_api(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        for refused in ["BodyS3Location", "CloneFrom"] {
            if p.has(refused) {
                let why = if refused == "CloneFrom" {
                    "the API is a copy of another API, which only the account knows: read the \
                     account (`tollgate import-aws`)"
                } else {
                    "the OpenAPI document is in S3: download it and put it in Body (in SAM, \
                     DefinitionBody), or read the account (`tollgate import-aws`)"
                };
                return Err(format!("{}: {why}", p.at(refused)));
            }
        }
        let label = if p.t.definition_bodies.contains(r.id) { "DefinitionBody" } else { "Body" };
        let body = match p.get_as("Body", label)? {
            Some(Value::String(text)) => Some(
                serde_yaml_ng::from_str::<Value>(&text)
                    .map_err(|e| format!("{}: {e}", p.at(label)))?,
            ),
            other => other,
        };
        if let Some(body) = &body {
            if body.get("openapi").is_none() && body.get("swagger").is_none() {
                return Err(format!(
                    "{}: not an OpenAPI 3 or Swagger 2 document (no `openapi` or `swagger`)",
                    p.at(label)
                ));
            }
        }
        let extension = |name: &str| body.as_ref().and_then(|b| b.get(name)).cloned();
        let mut api = Map::new();
        api.insert("id".into(), json!(r.id));
        let title = body.as_ref().and_then(|b| b.pointer("/info/title")).and_then(scalar_text);
        api.insert(
            "name".into(),
            json!(p.text("Name")?.or(title).unwrap_or_else(|| r.id.to_string())),
        );
        if let Some(description) = p.text("Description")? {
            api.insert("description".into(), json!(description));
        }
        if let Some(source) = p
            .text("ApiKeySourceType")?
            .or_else(|| extension("x-amazon-apigateway-api-key-source").map(|v| scalar(&v)))
        {
            api.insert("apiKeySource".into(), json!(source.to_ascii_uppercase()));
        }
        let mut media: Vec<String> = Vec::new();
        let from_extension = extension("x-amazon-apigateway-binary-media-types");
        for list in [p.get("BinaryMediaTypes")?, from_extension].into_iter().flatten() {
            for item in list.as_array().into_iter().flatten() {
                let item = scalar(item).replace("~1", "/");
                if !media.contains(&item) {
                    media.push(item);
                }
            }
        }
        if !media.is_empty() {
            api.insert("binaryMediaTypes".into(), json!(media));
        }
        let size = p
            .get("MinimumCompressionSize")?
            .or_else(|| extension("x-amazon-apigateway-minimum-compression-size"));
        if let Some(size) = size {
            api.insert("minimumCompressionSize".into(), typed("MinimumCompressionSize", size));
        }
        if let Some(policy) = p.get("Policy")?.or_else(|| extension("x-amazon-apigateway-policy")) {
            let policy = match policy {
                Value::String(text) => text,
                document => serde_json::to_string(&document).map_err(|e| e.to_string())?,
            };
            api.insert("policy".into(), json!(policy));
        }
        if p.has("EndpointConfiguration") {
            self.report.add(p.at("EndpointConfiguration"), ENDPOINTS);
        }
        if p.get("DisableExecuteApiEndpoint")?.as_ref().and_then(flag) == Some(true) {
            self.report.add(
                p.at("DisableExecuteApiEndpoint"),
                "the gateway has no execute-api endpoint to disable",
            );
        }
        p.unread(
            &[
                "Body",
                "Name",
                "Description",
                "ApiKeySourceType",
                "BinaryMediaTypes",
                "MinimumCompressionSize",
                "Policy",
                "EndpointConfiguration",
                "DisableExecuteApiEndpoint",
                "Parameters",
                "FailOnWarnings",
                "Mode",
            ],
            self.report,
        );
        let rest = RestApi { api: Value::Object(api), ..RestApi::default() };
        self.apis.insert(r.id.to_string(), Api { rest, body, ..Api::default() });
        Ok(())
    }

    fn stage(&mut self, r: &Resource) -> Result<(), String> {
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let name = r.props.required("StageName")?;
        let stage = self.stage_item(&r.props, name, false)?;
        self.add_stage(&api, stage, &r.props.at("StageName"));
        Ok(())
    }

    /// A deployment with a `StageName` makes that stage, set by its `StageDescription`.
    fn deployment(&mut self, r: &Resource) -> Result<(), String> {
        if r.props.has("DeploymentCanarySettings") {
            self.report.add(
                r.props.at("DeploymentCanarySettings"),
                "canary deployments are not read: the stage serves this deployment",
            );
        }
        let Some(name) = r.props.text("StageName")? else { return Ok(()) };
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let stage = match r.props.nested("StageDescription")? {
            Some(description) => self.stage_item(&description, name, true)?,
            None => json!({"stageName": name}),
        };
        self.add_stage(&api, stage, &r.props.at("StageName"));
        Ok(())
    }

    fn add_stage(&mut self, api: &str, stage: Value, at: &str) {
        let Some(api) = self.apis.get_mut(api) else { return };
        let name = stage.get("stageName").cloned();
        if api.rest.stages.iter().any(|s| s.get("stageName") == name.as_ref()) {
            self.report.add(
                at,
                "another resource makes a stage of that name for this API (CloudFormation fails \
                 to make the second): the first is kept",
            );
            return;
        }
        api.rest.stages.push(stage);
    }

    /// A `Stage`'s properties, or a `Deployment`'s `StageDescription` (whose top-level method
    /// settings are the stage's `*/*`).
    fn stage_item(&mut self, p: &Props, name: String, description: bool) -> Result<Value, String> {
        let mut stage = p.camel(&[
            "Description",
            "Variables",
            "CacheClusterEnabled",
            "CacheClusterSize",
            "TracingEnabled",
        ])?;
        stage.insert("stageName".into(), json!(name));
        let mut settings = Map::new();
        if description {
            let all = p.camel(&METHOD_SETTINGS)?;
            if !all.is_empty() {
                settings.insert("*/*".into(), Value::Object(all));
            }
        }
        for item in p.items("MethodSettings")? {
            let path = item.text("ResourcePath")?.unwrap_or_else(|| "/*".into());
            let method = item.text("HttpMethod")?.unwrap_or_else(|| "*".into());
            // `/~1pets~1{id}` is `/pets/{id}`, whose key is `pets/{id}/GET`.
            let path = path.replace("~1", "/");
            let path = path.trim_start_matches('/');
            let entry = settings.entry(format!("{path}/{method}")).or_insert_with(|| json!({}));
            if let Some(entry) = entry.as_object_mut() {
                entry.extend(item.camel(&METHOD_SETTINGS)?);
            }
            item.unread(
                &[&METHOD_SETTINGS[..], &["ResourcePath", "HttpMethod"]].concat(),
                self.report,
            );
        }
        if !settings.is_empty() {
            stage.insert("methodSettings".into(), Value::Object(settings));
        }
        if let Some(canary) = p.nested("CanarySetting")? {
            stage.insert(
                "canarySettings".into(),
                Value::Object(canary.camel(&[
                    "PercentTraffic",
                    "DeploymentId",
                    "StageVariableOverrides",
                    "UseStageCache",
                ])?),
            );
        }
        if let Some(logs) = p.nested("AccessLogSetting")? {
            stage.insert("accessLogSettings".into(), Value::Object(logs.camel(&["Format"])?));
            if logs.has("DestinationArn") {
                self.report.add(
                    logs.at("DestinationArn"),
                    "access logs go where the gateway's Envoy config sends them, not to \
                     CloudWatch Logs or Firehose",
                );
            }
        }
        if p.has("ClientCertificateId") {
            self.report.add(p.at("ClientCertificateId"), CLIENT_CERTIFICATE);
        }
        let read = [
            &METHOD_SETTINGS[..],
            &[
                "Description",
                "Variables",
                "CacheClusterEnabled",
                "CacheClusterSize",
                "TracingEnabled",
                "MethodSettings",
                "CanarySetting",
                "AccessLogSetting",
                "ClientCertificateId",
                "StageName",
                "RestApiId",
                "DeploymentId",
                "DocumentationVersion",
            ],
        ]
        .concat();
        p.unread(&read, self.report);
        Ok(Value::Object(stage))
    }

    fn api_key(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        let Some(value) = p.text("Value")? else {
            self.report.add(p.at("Value"), KEY_MADE_BY_AWS);
            self.keyless.insert(r.id.to_string());
            return Ok(());
        };
        let mut key = p.camel(&["Description", "CustomerId"])?;
        key.insert("id".into(), json!(r.id));
        key.insert("name".into(), json!(p.text("Name")?.unwrap_or_else(|| r.id.to_string())));
        key.insert("value".into(), json!(value));
        let enabled = p.get("Enabled")?.as_ref().and_then(flag).unwrap_or(false);
        key.insert("enabled".into(), json!(enabled));
        let mut stage_keys = Vec::new();
        for stage_key in p.items("StageKeys")? {
            stage_keys.push(json!(format!(
                "{}/{}",
                stage_key.required("RestApiId")?,
                stage_key.required("StageName")?
            )));
        }
        if !stage_keys.is_empty() {
            key.insert("stageKeys".into(), json!(stage_keys));
        }
        p.unread(
            &[
                "Value",
                "Description",
                "CustomerId",
                "Name",
                "Enabled",
                "StageKeys",
                "GenerateDistinctId",
            ],
            self.report,
        );
        self.api_keys.insert(r.id.to_string(), Value::Object(key));
        Ok(())
    }

    fn usage_plan(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        let mut plan = p.camel(&["Description"])?;
        plan.insert("id".into(), json!(r.id));
        plan.insert(
            "name".into(),
            json!(p.text("UsagePlanName")?.unwrap_or_else(|| r.id.to_string())),
        );
        if let Some(throttle) = p.nested("Throttle")? {
            plan.insert(
                "throttle".into(),
                Value::Object(throttle.camel(&["RateLimit", "BurstLimit"])?),
            );
        }
        if let Some(quota) = p.nested("Quota")? {
            plan.insert(
                "quota".into(),
                Value::Object(quota.camel(&["Limit", "Offset", "Period"])?),
            );
        }
        let mut stages = Vec::new();
        for stage in p.items("ApiStages")? {
            let api = stage.required("ApiId")?;
            if !self.apis.contains_key(&api) {
                self.report.add(
                    stage.at("ApiId"),
                    format!("the REST API `{api}` is not defined in the template"),
                );
            }
            let mut item = json!({"apiId": api, "stage": stage.required("Stage")?});
            if let (Some(throttles), Some(map)) = (stage.nested("Throttle")?, item.as_object_mut())
            {
                let mut methods = Map::new();
                for key in throttles.map.keys() {
                    if let Some(limits) = throttles.nested(key)? {
                        methods.insert(
                            key.clone(),
                            Value::Object(limits.camel(&["RateLimit", "BurstLimit"])?),
                        );
                    }
                }
                map.insert("throttle".into(), Value::Object(methods));
            }
            stages.push(item);
        }
        plan.insert("apiStages".into(), json!(stages));
        p.unread(&["Description", "UsagePlanName", "Throttle", "Quota", "ApiStages"], self.report);
        self.plans
            .insert(r.id.to_string(), UsagePlan { plan: Value::Object(plan), keys: Vec::new() });
        Ok(())
    }

    fn usage_plan_key(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        let key_id = p.required("KeyId")?;
        let plan_id = p.required("UsagePlanId")?;
        if self.keyless.contains(&key_id) {
            return Ok(());
        }
        let Some(key) = self.api_keys.get(&key_id) else {
            self.report.add(
                p.at("KeyId"),
                format!("the API key `{key_id}` is not defined in the template: left out"),
            );
            return Ok(());
        };
        let name = key.get("name").cloned().unwrap_or(Value::Null);
        let Some(plan) = self.plans.get_mut(&plan_id) else {
            self.report.add(
                p.at("UsagePlanId"),
                format!("the usage plan `{plan_id}` is not defined in the template: left out"),
            );
            return Ok(());
        };
        let kind = p.text("KeyType")?.unwrap_or_else(|| "API_KEY".into());
        plan.keys.push(json!({"id": key_id, "type": kind, "name": name}));
        Ok(())
    }

    fn domain_name(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        let name = p.required("DomainName")?;
        for certificate in ["CertificateArn", "RegionalCertificateArn"] {
            if p.has(certificate) {
                self.report.add(p.at(certificate), ACM_CERTIFICATE);
            }
        }
        for (key, why) in [
            (
                "EndpointConfiguration",
                "the gateway listens where its Envoy listener does: endpoint types are not used",
            ),
            ("MutualTlsAuthentication", "the truststore is in S3: the gateway does not read it"),
            ("OwnershipVerificationCertificateArn", "an ACM certificate does not leave AWS"),
        ] {
            if p.has(key) {
                self.report.add(p.at(key), why);
            }
        }
        let mut domain = p.camel(&["SecurityPolicy"])?;
        domain.insert("domainName".into(), json!(name));
        p.unread(
            &[
                "DomainName",
                "CertificateArn",
                "RegionalCertificateArn",
                "EndpointConfiguration",
                "MutualTlsAuthentication",
                "OwnershipVerificationCertificateArn",
                "SecurityPolicy",
            ],
            self.report,
        );
        self.domains
            .insert(name, DomainName { domain: Value::Object(domain), mappings: Vec::new() });
        Ok(())
    }

    fn base_path_mapping(&mut self, r: &Resource) -> Result<(), String> {
        let p = &r.props;
        let name = p.required("DomainName")?;
        let api = p.required("RestApiId")?;
        if !self.apis.contains_key(&api) {
            self.report.add(
                p.at("RestApiId"),
                format!("the REST API `{api}` is not defined in the template"),
            );
        }
        // `GetBasePathMappings` says `(none)` for the domain's root.
        let base_path = p.text("BasePath")?.filter(|b| !b.is_empty());
        let base_path = base_path.unwrap_or_else(|| "(none)".into());
        let mut mapping = json!({"basePath": base_path, "restApiId": api});
        if let (Some(stage), Some(map)) = (p.text("Stage")?, mapping.as_object_mut()) {
            map.insert("stage".into(), json!(stage));
        }
        if !self.domains.contains_key(&name) {
            self.report.add(
                p.at("DomainName"),
                "the domain is defined outside the template: give its PEM certificate and key in \
                 the gateway file",
            );
        }
        let domain = self.domains.entry(name.clone()).or_insert_with(|| DomainName {
            domain: json!({"domainName": name}),
            mappings: Vec::new(),
        });
        domain.mappings.push(mapping);
        p.unread(&["DomainName", "RestApiId", "BasePath", "Stage", "Id"], self.report);
        Ok(())
    }

    fn authorizer(&mut self, r: &Resource) -> Result<(), String> {
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let keys = [
            "AuthType",
            "AuthorizerCredentials",
            "AuthorizerResultTtlInSeconds",
            "AuthorizerUri",
            "IdentitySource",
            "IdentityValidationExpression",
            "Name",
            "ProviderARNs",
            "Type",
        ];
        let mut item = r.props.camel(&keys)?;
        item.insert("id".into(), json!(r.id));
        item.entry("name").or_insert_with(|| json!(r.id));
        self.push(&api, |rest| &mut rest.authorizers, Value::Object(item));
        Ok(())
    }

    fn gateway_response(&mut self, r: &Resource) -> Result<(), String> {
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let mut item = r.props.camel(&[
            "ResponseType",
            "StatusCode",
            "ResponseParameters",
            "ResponseTemplates",
        ])?;
        item.insert("defaultResponse".into(), json!(false));
        self.push(&api, |rest| &mut rest.gateway_responses, Value::Object(item));
        Ok(())
    }

    fn model(&mut self, r: &Resource) -> Result<(), String> {
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let mut item = r.props.camel(&["ContentType", "Description"])?;
        item.insert("id".into(), json!(r.id));
        item.insert(
            "name".into(),
            json!(r.props.text("Name")?.unwrap_or_else(|| r.id.to_string())),
        );
        if let Some(schema) = r.props.get("Schema")? {
            let schema = match schema {
                Value::String(text) => text,
                document => serde_json::to_string(&document).map_err(|e| e.to_string())?,
            };
            item.insert("schema".into(), json!(schema));
        }
        self.push(&api, |rest| &mut rest.models, Value::Object(item));
        Ok(())
    }

    fn request_validator(&mut self, r: &Resource) -> Result<(), String> {
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let mut item = r.props.camel(&["ValidateRequestBody", "ValidateRequestParameters"])?;
        item.insert("id".into(), json!(r.id));
        item.insert(
            "name".into(),
            json!(r.props.text("Name")?.unwrap_or_else(|| r.id.to_string())),
        );
        self.push(&api, |rest| &mut rest.request_validators, Value::Object(item));
        Ok(())
    }

    fn push(&mut self, api: &str, list: impl FnOnce(&mut RestApi) -> &mut Vec<Value>, item: Value) {
        if let Some(api) = self.apis.get_mut(api) {
            list(&mut api.rest).push(item);
        }
    }

    fn api_resource(&mut self, r: &Resource) -> Result<(), String> {
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let parent = r.props.required("ParentId")?;
        let part = r.props.required("PathPart")?;
        if let Some(api) = self.apis.get_mut(&api) {
            api.nodes.push((r.id.to_string(), parent, part));
        }
        Ok(())
    }

    /// A `Method` in `GetMethod`'s shape.
    fn method(&mut self, r: &Resource) -> Result<(), String> {
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let p = &r.props;
        let resource = p.required("ResourceId")?;
        let mut method = p.camel(&[
            "HttpMethod",
            "AuthorizationType",
            "AuthorizerId",
            "ApiKeyRequired",
            "AuthorizationScopes",
            "OperationName",
            "RequestModels",
            "RequestParameters",
            "RequestValidatorId",
        ])?;
        method.entry("authorizationType").or_insert_with(|| json!("NONE"));
        method.entry("apiKeyRequired").or_insert_with(|| json!(false));
        if let Some(integration) = p.nested("Integration")? {
            let mut out = integration.camel(&[
                "Type",
                "Uri",
                "Credentials",
                "RequestParameters",
                "RequestTemplates",
                "PassthroughBehavior",
                "ContentHandling",
                "TimeoutInMillis",
                "CacheNamespace",
                "CacheKeyParameters",
                "ConnectionType",
                "ConnectionId",
            ])?;
            if let Some(verb) = integration.text("IntegrationHttpMethod")? {
                out.insert("httpMethod".into(), json!(verb));
            }
            let responses = by_status(
                integration.items("IntegrationResponses")?,
                &[
                    "StatusCode",
                    "SelectionPattern",
                    "ResponseParameters",
                    "ResponseTemplates",
                    "ContentHandling",
                ],
            )?;
            if !responses.is_empty() {
                out.insert("integrationResponses".into(), Value::Object(responses));
            }
            method.insert("methodIntegration".into(), Value::Object(out));
        }
        let responses = by_status(
            p.items("MethodResponses")?,
            &["StatusCode", "ResponseParameters", "ResponseModels"],
        )?;
        if !responses.is_empty() {
            method.insert("methodResponses".into(), Value::Object(responses));
        }
        if let Some(api) = self.apis.get_mut(&api) {
            api.methods.push((resource, Value::Object(method), format!("Resources.{}", r.id)));
        }
        Ok(())
    }

    /// Each API with its stages' documents (or its resources), in id order.
    fn finish_apis(&mut self) -> Result<Vec<RestApi>, String> {
        let mut out = Vec::new();
        for (id, api) in std::mem::take(&mut self.apis) {
            let Api { mut rest, body, nodes, methods } = api;
            match &body {
                Some(body) => {
                    if let Some((_, _, at)) = methods.first() {
                        return Err(format!(
                            "{at}: the API {id} has a Body and Method resources too: put the \
                             method in the Body"
                        ));
                    }
                    for stage in &rest.stages {
                        let name = stage.get("stageName").map(scalar).unwrap_or_default();
                        rest.exports
                            .insert(name.clone(), with_server(body, &id, &self.region, &name));
                    }
                }
                None => rest.resources = resource_tree(&id, &nodes, methods)?,
            }
            if rest.stages.is_empty() {
                self.report.add(
                    format!("Resources.{id}"),
                    "the API has no stage: it is not deployed, and the gateway serves nothing of \
                     it",
                );
            }
            out.push(rest);
        }
        Ok(out)
    }
}

/// The order resources are read in: what others name first.
fn rank(kind: &str) -> u8 {
    match kind {
        "AWS::ApiGateway::RestApi" => 0,
        "AWS::ApiGateway::ApiKey"
        | "AWS::ApiGateway::UsagePlan"
        | "AWS::ApiGateway::DomainName" => 1,
        "AWS::ApiGateway::Stage" => 2,
        "AWS::ApiGateway::Deployment" => 3,
        _ => 4,
    }
}

const METHOD_SETTINGS: [&str; 8] = [
    "CacheDataEncrypted",
    "CacheTtlInSeconds",
    "CachingEnabled",
    "DataTraceEnabled",
    "LoggingLevel",
    "MetricsEnabled",
    "ThrottlingBurstLimit",
    "ThrottlingRateLimit",
];

/// `[{StatusCode: 200, ...}]` -> `{"200": {"statusCode": "200", ...}}`.
fn by_status(items: Vec<Props>, keys: &[&str]) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for item in items {
        let mut response = item.camel(keys)?;
        let status = item.required("StatusCode")?;
        response.insert("statusCode".into(), json!(status));
        out.insert(status, Value::Object(response));
    }
    Ok(out)
}

/// `GetResources` of an API built from `Resource` and `Method` resources.
fn resource_tree(
    api: &str,
    nodes: &[(String, String, String)],
    methods: Vec<(String, Value, String)>,
) -> Result<Vec<Value>, String> {
    let mut items: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut root = Map::new();
    root.insert("id".into(), json!(ROOT_RESOURCE));
    root.insert("path".into(), json!("/"));
    items.insert(ROOT_RESOURCE.into(), root);
    for (id, parent, part) in nodes {
        let mut item = Map::new();
        item.insert("id".into(), json!(id));
        item.insert("parentId".into(), json!(parent));
        item.insert("pathPart".into(), json!(part));
        item.insert("path".into(), json!(path_of(id, nodes, 0)?));
        items.insert(id.clone(), item);
    }
    for (resource, method, at) in methods {
        let item = items.get_mut(&resource).ok_or_else(|| {
            format!("{at}.Properties.ResourceId: `{resource}` is not a resource of the API {api}")
        })?;
        let verb = method.get("httpMethod").map(scalar).unwrap_or_default();
        if let Some(methods) =
            item.entry("resourceMethods").or_insert_with(|| json!({})).as_object_mut()
        {
            methods.insert(verb, method);
        }
    }
    let mut items: Vec<Value> = items.into_values().map(Value::Object).collect();
    items.sort_by(|a, b| super::text(a, "path").cmp(super::text(b, "path")));
    Ok(items)
}

fn path_of(id: &str, nodes: &[(String, String, String)], depth: usize) -> Result<String, String> {
    if id == ROOT_RESOURCE {
        return Ok(String::new());
    }
    if depth > 64 {
        return Err(format!(
            "Resources.{id}.Properties.ParentId: the resources go round in a circle"
        ));
    }
    let (_, parent, part) = nodes
        .iter()
        .find(|(node, _, _)| node == id)
        .ok_or_else(|| format!("Resources.{id}: `{id}` is not a resource of the API"))?;
    Ok(format!("{}/{part}", path_of(parent, nodes, depth + 1)?))
}

/// The document as `GetExport` of a stage gives it: the server says the API id, region and
/// stage, which is how the OpenAPI importer learns them.
fn with_server(doc: &Value, api: &str, region: &str, stage: &str) -> Value {
    let mut doc = doc.clone();
    let host = format!("{api}.execute-api.{region}.amazonaws.com");
    if let Some(map) = doc.as_object_mut() {
        if map.contains_key("swagger") {
            map.insert("host".into(), json!(host));
            map.insert("basePath".into(), json!(format!("/{stage}")));
        } else {
            let server = json!({"url": format!("https://{host}/{stage}")});
            let mut servers =
                map.get("servers").and_then(Value::as_array).cloned().unwrap_or_default();
            match servers.first_mut() {
                Some(first) => *first = server,
                None => servers.push(server),
            }
            map.insert("servers".into(), Value::Array(servers));
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::text;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates").join(name)
    }

    /// Reads a template written to a file of its own.
    fn read_text(
        name: &str,
        template: &str,
        options: &Options,
    ) -> Result<(Account, Vec<Unhonoured>), String> {
        let dir = std::env::temp_dir().join(format!("tollgate-template-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, template).unwrap();
        read(&path, options)
    }

    fn reported(report: &[Unhonoured], at: &str, words: &str) -> bool {
        report.iter().any(|r| r.at == at && r.why.contains(words))
    }

    fn stage_names(api: &RestApi) -> Vec<&str> {
        api.stages.iter().map(|s| text(s, "stageName")).collect()
    }

    #[test]
    fn short_forms_become_long_forms() {
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(
            "a: !Sub 'x-${AWS::Region}'\nb: !GetAtt Fn.Arn\nc: !If [C, !Ref P, !Join ['', [a, b]]]\n200: ok",
        )
        .unwrap();
        let value = long_form(yaml, "").unwrap();
        assert_eq!(
            value,
            json!({"a": {"Fn::Sub": "x-${AWS::Region}"}, "b": {"Fn::GetAtt": ["Fn", "Arn"]},
                   "c": {"Fn::If": ["C", {"Ref": "P"}, {"Fn::Join": ["", ["a", "b"]]}]}, "200": "ok"})
        );
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str("x: {y: !Frobnicate 1}").unwrap();
        assert_eq!(
            long_form(yaml, "").unwrap_err(),
            "x.y: `!Frobnicate` is not a CloudFormation function"
        );
    }

    #[test]
    fn intrinsic_functions_are_worked_out() {
        let doc = json!({
            "Parameters": {"Env": {"Type": "String", "Default": "prod"}, "Zones": {"Type": "CommaDelimitedList", "Default": "a, b"}},
            "Mappings": {"Sizes": {"prod": {"Big": 10}}},
            "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}, "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]}},
            "Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": {"Fn::Sub": "f-${Env}"}}}},
        });
        let options = Options {
            region: Some("eu-west-1".into()),
            account_id: Some("123456789012".into()),
            ..Options::default()
        };
        let t = Template::new(doc, Path::new("stack.yaml"), &options).unwrap();
        let cases = [
            (
                json!({"Fn::Sub": "${AWS::StackName}/${Env}/${!Literal}/${Fn.Arn}"}),
                json!(
                    "stack/prod/${Literal}/arn:aws:lambda:eu-west-1:123456789012:function:f-prod"
                ),
            ),
            (
                json!({"Fn::Sub": ["${A}-${Fn}", {"A": {"Ref": "AWS::Partition"}}]}),
                json!("aws-f-prod"),
            ),
            (json!({"Fn::Join": ["+", {"Ref": "Zones"}]}), json!("a+b")),
            (json!({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}), json!("y")),
            (
                json!({"Fn::If": ["NotProd", 1, {"Fn::FindInMap": ["Sizes", {"Ref": "Env"}, "Big"]}]}),
                json!(10),
            ),
            (
                json!([1, {"Ref": "AWS::NoValue"}, {"Fn::ToJsonString": {"a": {"Ref": "Env"}}}]),
                json!([1, "{\"a\":\"prod\"}"]),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(t.resolve(&value, "x").unwrap(), Some(expected), "{value}");
        }
        let err = t.resolve(&json!({"Fn::GetAZs": ""}), "Resources.A.Properties.B").unwrap_err();
        assert!(
            err.starts_with("Resources.A.Properties.B.Fn::GetAZs: `Fn::GetAZs` cannot"),
            "{err}"
        );
    }

    #[test]
    fn sam_template_with_implicit_and_explicit_apis() {
        let options = Options { stack_name: Some("pets".into()), ..Options::default() };
        let (account, report) = read(&fixture("sam-pets.yaml"), &options).unwrap();
        let ids: Vec<&str> = account.rest_apis.iter().map(|a| text(&a.api, "id")).collect();
        assert_eq!(ids, ["OrdersApi", "ServerlessRestApi"]);

        // The implicit API: the functions' events, stage Prod and SAM's extra `Stage`.
        let implicit = &account.rest_apis[1];
        assert_eq!(implicit.api, json!({"id": "ServerlessRestApi", "name": "pets"}));
        assert_eq!(stage_names(implicit), ["Prod", "Stage"]);
        let doc = &implicit.exports["Prod"];
        assert_eq!(
            (doc["host"].as_str(), doc["basePath"].as_str()),
            (Some("ServerlessRestApi.execute-api.us-east-1.amazonaws.com"), Some("/Prod"))
        );
        let list = &doc["paths"]["/pets"]["get"];
        assert_eq!(
            list["x-amazon-apigateway-integration"],
            json!({"type": "aws_proxy", "httpMethod": "POST",
                   "uri": "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:ListPets/invocations"})
        );
        assert_eq!(list["security"], json!([{"api_key": []}]));
        let get = &doc["paths"]["/pets/{petId}"][ANY_METHOD];
        assert!(get["x-amazon-apigateway-integration"]["uri"]
            .as_str()
            .unwrap()
            .contains(":function:get-pet/"));
        assert_eq!(
            get["x-amazon-apigateway-integration"]["cacheKeyParameters"],
            json!(["method.request.querystring.verbose"])
        );
        assert_eq!(doc["securityDefinitions"]["api_key"]["name"], "x-api-key");
        assert_eq!(implicit.exports["Stage"]["basePath"], "/Stage");

        // The explicit API: its own document, with SAM's auth, CORS and responses added.
        let orders = &account.rest_apis[0];
        assert_eq!(
            orders.api,
            json!({"id": "OrdersApi", "name": "orders", "binaryMediaTypes": ["image/png"]})
        );
        assert_eq!(stage_names(orders), ["v1", "Stage"]);
        assert_eq!(
            orders.stages[0],
            json!({"stageName": "v1", "variables": {"backend": "orders"}, "methodSettings": {
                "*/*": {"throttlingRateLimit": 100, "throttlingBurstLimit": 50},
                "orders/POST": {"throttlingRateLimit": 5, "throttlingBurstLimit": 10}}})
        );
        let doc = &orders.exports["v1"];
        assert_eq!(
            doc["servers"],
            json!([{"url": "https://OrdersApi.execute-api.us-east-1.amazonaws.com/v1"}])
        );
        let orders_uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:pets-orders/invocations";
        assert_eq!(
            doc["paths"]["/orders"]["get"]["x-amazon-apigateway-integration"]["uri"],
            orders_uri
        );
        assert_eq!(
            doc["paths"]["/orders"]["post"]["x-amazon-apigateway-integration"]["uri"],
            orders_uri
        );
        assert_eq!(
            doc["paths"]["/orders"]["post"]["security"],
            json!([{"TokenAuth": []}, {"api_key": []}])
        );
        assert_eq!(doc["paths"]["/orders"]["options"]["security"], Value::Null);
        let authorizer =
            &doc["components"]["securitySchemes"]["TokenAuth"]["x-amazon-apigateway-authorizer"];
        assert_eq!(authorizer["authorizerUri"], "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:orders-authorizer/invocations");
        assert_eq!(doc["x-amazon-apigateway-gateway-responses"]["THROTTLED"]["statusCode"], "429");

        // The plan SAM makes, the key the template gives, the domain.
        assert_eq!(account.usage_plans.len(), 1);
        assert_eq!(
            account.usage_plans[0].plan,
            json!({"id": "OrdersApiUsagePlan", "name": "orders-basic", "throttle": {"rateLimit": 10, "burstLimit": 20},
                   "quota": {"limit": 1000, "period": "DAY"}, "apiStages": [{"apiId": "OrdersApi", "stage": "v1"}]})
        );
        assert_eq!(
            account.usage_plans[0].keys,
            [json!({"id": "PartnerKey", "type": "API_KEY", "name": "partner"})]
        );
        assert_eq!(
            account.api_keys,
            [
                json!({"id": "PartnerKey", "name": "partner", "value": "partner-0123456789abcdefghij", "enabled": true})
            ]
        );
        assert_eq!(account.domain_names.len(), 1);
        assert_eq!(account.domain_names[0].domain, json!({"domainName": "api.example.com"}));
        assert_eq!(
            account.domain_names[0].mappings,
            [json!({"basePath": "orders", "restApiId": "OrdersApi", "stage": "v1"})]
        );

        // Every stage's document imports as a spec.
        for api in &account.rest_apis {
            for (stage, doc) in &api.exports {
                let imported = crate::openapi::import::import(doc, &Default::default()).unwrap();
                assert_eq!(imported.spec.config.stage.name, *stage);
                assert_eq!(imported.spec.config.api.id, text(&api.api, "id"));
            }
        }
        let at = "Resources.OrdersApi.Properties.Auth.UsagePlan.Value";
        assert!(reported(&report, at, "tollgate keys import"), "{report:#?}");
        assert!(
            reported(
                &report,
                "Resources.OrdersApi.Properties.Domain.RegionalCertificateArn",
                "PEM"
            ),
            "{report:#?}"
        );
        assert!(
            reported(
                &report,
                "Resources.ListPets.Properties.FunctionName",
                "`pets-ListPets-<random>`"
            ),
            "{report:#?}"
        );
        assert!(!report.iter().any(|r| r.at.contains("GetPet")), "{report:#?}");
    }

    /// Each SAM fixture and what aws-sam-translator makes of it (translate.py) read the same:
    /// APIs, stages, documents (paths, methods, integrations, security), keys, plans, domains.
    #[test]
    fn sam_templates_read_as_their_translation() {
        for name in ["sam-pets", "sam-auth", "sam-auth-all-maximum"] {
            let options = Options { stack_name: Some("pets".into()), ..Options::default() };
            let (sam, _) = read(&fixture(&format!("{name}.yaml")), &options).unwrap();
            let (translated, _) = read(&fixture(&format!("{name}.cfn.json")), &options).unwrap();
            assert_eq!(sam.rest_apis.len(), translated.rest_apis.len(), "{name}");
            for (ours, theirs) in sam.rest_apis.iter().zip(&translated.rest_apis) {
                assert_eq!(ours.api, theirs.api, "{name}");
                assert_eq!(ours.stages, theirs.stages, "{name} {}", ours.api);
                assert_eq!(ours.exports, theirs.exports, "{name} {}", ours.api);
                assert_eq!(ours, theirs, "{name}");
            }
            assert_eq!(sam, translated, "{name}");
        }
    }

    #[test]
    fn sam_auth_features_on_implicit_and_explicit_apis() {
        let options = Options { stack_name: Some("pets".into()), ..Options::default() };
        let (account, report) = read(&fixture("sam-auth.yaml"), &options).unwrap();
        let [admin, implicit] = account.rest_apis.as_slice() else { panic!("{account:#?}") };
        // OpenApiVersion in Globals: OpenAPI 3 documents and no extra `Stage` stage.
        assert_eq!((stage_names(admin), stage_names(implicit)), (vec!["admin"], vec!["Prod"]));
        let doc = &implicit.exports["Prod"];
        assert_eq!(
            doc["servers"][0]["url"],
            "https://ServerlessRestApi.execute-api.us-east-1.amazonaws.com/Prod"
        );
        assert_eq!(doc["paths"]["/pets"]["get"]["security"], json!([{"Users": ["pets/read"]}]));
        // SAM leaves its `NONE` marker when nothing else is required.
        assert_eq!(doc["paths"]["/health"]["get"]["security"], json!([{"NONE": []}]));
        let alias = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:pets:live/invocations";
        assert_eq!(doc["paths"]["/pets"]["get"]["x-amazon-apigateway-integration"]["uri"], alias);
        let users =
            &doc["components"]["securitySchemes"]["Users"]["x-amazon-apigateway-authorizer"];
        assert_eq!(
            users["providerARNs"],
            json!(["arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf123"])
        );
        let doc = &admin.exports["admin"];
        let any = &doc["paths"]["/admin/{proxy+}"][ANY_METHOD];
        assert_eq!(any["security"], json!([{"AWS_IAM": []}]));
        assert_eq!(any["x-amazon-apigateway-integration"]["credentials"], "arn:aws:iam::*:user/*");
        let create = &doc["paths"]["/pets"]["post"];
        assert_eq!(create["x-amazon-apigateway-request-validator"], "body-only");
        assert_eq!(
            create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/pet"
        );
        assert_eq!(
            doc["components"]["securitySchemes"]["Requests"]["x-amazon-apigateway-authorizer"]
                ["identitySource"],
            "method.request.header.X-Client, method.request.querystring.token"
        );
        assert_eq!(
            admin.stages[0],
            json!({"stageName": "admin", "tracingEnabled": true, "cacheClusterEnabled": true, "cacheClusterSize": "0.5",
                   "methodSettings": {"*/*": {"cachingEnabled": true, "cacheTtlInSeconds": 60}}})
        );
        // One plan for both APIs, with a key whose value AWS makes.
        assert_eq!(
            account.usage_plans[0].plan,
            json!({"id": "ServerlessUsagePlan", "name": "everyone", "quota": {"limit": 500, "period": "WEEK"},
                   "apiStages": [{"apiId": "AdminApi", "stage": "admin"}, {"apiId": "ServerlessRestApi", "stage": "Prod"}]})
        );
        assert!(account.api_keys.is_empty());
        assert!(
            reported(
                &report,
                "Resources.AdminApi.Properties.Auth.UsagePlan.Value",
                "tollgate import-aws"
            ),
            "{report:#?}"
        );
    }

    const PETS: &str = r#"
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Stage: {Type: String, Default: prod}
  Rate: {Type: Number, Default: 25}
  Env: {Type: String, Default: production, AllowedValues: [production, test]}
Conditions:
  IsProduction: !Equals [!Ref Env, production]
  IsTest: !Not [!Condition IsProduction]
Mappings:
  Limits:
    production: {Quota: 5000}
    test: {Quota: 100}
Resources:
  PetsFunction:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: pets
      Runtime: python3.12
  PetsApi:
    Type: AWS::ApiGateway::RestApi
    Properties:
      Name: !Sub "pets-${Stage}"
      ApiKeySourceType: HEADER
      BinaryMediaTypes: [image~1jpeg]
      MinimumCompressionSize: 1024
      EndpointConfiguration: {Types: [REGIONAL]}
      Policy:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Principal: "*", Action: execute-api:Invoke, Resource: !Sub "execute-api:/${Stage}/*"}
      Body:
        swagger: "2.0"
        info: {title: pets, version: "1"}
        securityDefinitions:
          api_key: {type: apiKey, name: x-api-key, in: header}
        paths:
          /pets:
            get:
              security: [{api_key: []}]
              x-amazon-apigateway-integration:
                type: aws_proxy
                httpMethod: POST
                uri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${PetsFunction.Arn}/invocations"
  PetsDeployment:
    Type: AWS::ApiGateway::Deployment
    Properties: {RestApiId: !Ref PetsApi}
  PetsStage:
    Type: AWS::ApiGateway::Stage
    Properties:
      RestApiId: !Ref PetsApi
      DeploymentId: !Ref PetsDeployment
      StageName: !Ref Stage
      Variables:
        table: !Join ["-", [pets, !Ref Stage]]
      MethodSettings:
        - {ResourcePath: /*, HttpMethod: "*", ThrottlingRateLimit: !Ref Rate, ThrottlingBurstLimit: 50}
        - {ResourcePath: /~1pets, HttpMethod: GET, CachingEnabled: true, CacheTtlInSeconds: 300}
      CacheClusterEnabled: true
      CacheClusterSize: "0.5"
      TracingEnabled: !If [IsProduction, true, false]
      AccessLogSetting:
        DestinationArn: !GetAtt Logs.Arn
        Format: $context.requestId
  Logs:
    Type: AWS::Logs::LogGroup
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      UsagePlanName: basic
      ApiStages:
        - ApiId: !Ref PetsApi
          Stage: !Ref PetsStage
          Throttle:
            /pets/GET: {RateLimit: 5, BurstLimit: 10}
      Quota: {Limit: !FindInMap [Limits, !Ref Env, Quota], Period: MONTH}
      Throttle: {RateLimit: 20, BurstLimit: 40}
  Alice:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Name: alice, Enabled: true, Value: !Sub "alice-${AWS::AccountId}-0123456789"}
  Bob:
    Type: AWS::ApiGateway::ApiKey
    Properties: {Name: bob, Enabled: true}
  Tester:
    Type: AWS::ApiGateway::ApiKey
    Condition: IsTest
    Properties: {Name: tester, Value: tester-0123456789abcdef}
  AliceInPlan:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties: {KeyId: !Ref Alice, KeyType: API_KEY, UsagePlanId: !Ref Plan}
  BobInPlan:
    Type: AWS::ApiGateway::UsagePlanKey
    Properties: {KeyId: !Ref Bob, KeyType: API_KEY, UsagePlanId: !Ref Plan}
  Certificate:
    Type: AWS::CertificateManager::Certificate
    Properties: {DomainName: pets.example.com}
  Domain:
    Type: AWS::ApiGateway::DomainName
    Properties:
      DomainName: pets.example.com
      RegionalCertificateArn: !Ref Certificate
      EndpointConfiguration: {Types: [REGIONAL]}
      SecurityPolicy: TLS_1_2
  Mapping:
    Type: AWS::ApiGateway::BasePathMapping
    Properties: {DomainName: !Ref Domain, RestApiId: !Ref PetsApi, Stage: !Ref PetsStage, BasePath: v1}
  RootMapping:
    Type: AWS::ApiGateway::BasePathMapping
    Properties: {DomainName: !Ref Domain, RestApiId: !Ref PetsApi}
"#;

    #[test]
    fn cloudformation_rest_api_with_stage_plans_keys_and_domain() {
        let options = Options {
            region: Some("eu-west-1".into()),
            account_id: Some("123456789012".into()),
            ..Options::default()
        };
        let (account, report) = read_text("pets.yaml", PETS, &options).unwrap();
        assert_eq!(
            (account.region.as_str(), account.account_id.as_deref()),
            ("eu-west-1", Some("123456789012"))
        );
        assert_eq!(account.rest_apis.len(), 1);
        let api = &account.rest_apis[0];
        let policy = r#"{"Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Principal":"*","Resource":"execute-api:/prod/*"}],"Version":"2012-10-17"}"#;
        assert_eq!(
            api.api,
            json!({"id": "PetsApi", "name": "pets-prod", "apiKeySource": "HEADER", "binaryMediaTypes": ["image/jpeg"],
                   "minimumCompressionSize": 1024, "policy": policy})
        );
        assert_eq!(
            api.stages,
            [
                json!({"stageName": "prod", "variables": {"table": "pets-prod"}, "cacheClusterEnabled": true,
                    "cacheClusterSize": "0.5", "tracingEnabled": true,
                    "methodSettings": {"*/*": {"throttlingRateLimit": 25, "throttlingBurstLimit": 50},
                                       "pets/GET": {"cachingEnabled": true, "cacheTtlInSeconds": 300}},
                    "accessLogSettings": {"format": "$context.requestId"}})
            ]
        );
        let doc = &api.exports["prod"];
        assert_eq!(
            (doc["host"].as_str(), doc["basePath"].as_str()),
            (Some("PetsApi.execute-api.eu-west-1.amazonaws.com"), Some("/prod"))
        );
        assert_eq!(
            doc["paths"]["/pets"]["get"]["x-amazon-apigateway-integration"]["uri"],
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:pets/invocations"
        );
        // The importer reads the export: the API id, region and stage come from its server.
        let imported =
            crate::openapi::import::import(doc, &crate::openapi::import::Options::default())
                .unwrap();
        let config = &imported.spec.config;
        assert_eq!(
            (config.api.id.as_str(), config.api.region.as_str(), config.stage.name.as_str()),
            ("PetsApi", "eu-west-1", "prod")
        );

        assert_eq!(
            account.usage_plans[0].plan,
            json!({"id": "Plan", "name": "basic", "throttle": {"rateLimit": 20, "burstLimit": 40},
                   "quota": {"limit": 5000, "period": "MONTH"},
                   "apiStages": [{"apiId": "PetsApi", "stage": "prod", "throttle": {"/pets/GET": {"rateLimit": 5, "burstLimit": 10}}}]})
        );
        assert_eq!(
            account.usage_plans[0].keys,
            [json!({"id": "Alice", "type": "API_KEY", "name": "alice"})]
        );
        assert_eq!(
            account.api_keys,
            [
                json!({"id": "Alice", "name": "alice", "value": "alice-123456789012-0123456789", "enabled": true})
            ]
        );
        assert_eq!(
            account.domain_names[0].domain,
            json!({"domainName": "pets.example.com", "securityPolicy": "TLS_1_2"})
        );
        assert_eq!(
            account.domain_names[0].mappings,
            [
                json!({"basePath": "v1", "restApiId": "PetsApi", "stage": "prod"}),
                json!({"basePath": "(none)", "restApiId": "PetsApi"})
            ]
        );
        for (at, words) in [
            ("Resources.Bob.Properties.Value", "when the stack is deployed"),
            ("Resources.Domain.Properties.RegionalCertificateArn", "PEM certificate and key"),
            ("Resources.Domain.Properties.EndpointConfiguration", "endpoint types"),
            ("Resources.PetsApi.Properties.EndpointConfiguration", "endpoint types"),
            ("Resources.PetsStage.Properties.AccessLogSetting.DestinationArn", "access logs"),
        ] {
            assert!(reported(&report, at, words), "{at}: {report:#?}");
        }
        assert_eq!(report.len(), 5, "{report:#?}");

        // With the other environment, the tester's key is there and the quota smaller.
        let options =
            Options { parameters: [("Env".to_string(), "test".to_string())].into(), ..options };
        let (account, _) = read_text("pets-test.yaml", PETS, &options).unwrap();
        assert_eq!(account.api_keys.len(), 2);
        assert_eq!(account.usage_plans[0].plan["quota"]["limit"], 100);
        assert_eq!(account.rest_apis[0].stages[0]["tracingEnabled"], false);
    }

    #[test]
    fn methods_without_a_body_are_read_as_resources() {
        let template = r#"
Resources:
  Api:
    Type: AWS::ApiGateway::RestApi
    Properties: {Name: hello}
  Hello:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !GetAtt Api.RootResourceId, PathPart: hello}
  Name:
    Type: AWS::ApiGateway::Resource
    Properties: {RestApiId: !Ref Api, ParentId: !Ref Hello, PathPart: "{name}"}
  GetName:
    Type: AWS::ApiGateway::Method
    Properties:
      RestApiId: !Ref Api
      ResourceId: !Ref Name
      HttpMethod: GET
      AuthorizationType: NONE
      ApiKeyRequired: true
      RequestParameters: {method.request.path.name: true}
      Integration:
        Type: MOCK
        RequestTemplates: {application/json: '{"statusCode": 200}'}
        IntegrationResponses:
          - {StatusCode: 200, ResponseTemplates: {application/json: '{"hello": "$input.params(''name'')"}'}}
      MethodResponses:
        - StatusCode: 200
  Deployment:
    Type: AWS::ApiGateway::Deployment
    DependsOn: GetName
    Properties:
      RestApiId: !Ref Api
      StageName: dev
      StageDescription: {ThrottlingRateLimit: 10, ThrottlingBurstLimit: 5, Variables: {a: b}}
"#;
        let (account, report) = read_text("hello.yaml", template, &Options::default()).unwrap();
        assert!(report.is_empty(), "{report:#?}");
        let api = &account.rest_apis[0];
        assert_eq!(
            api.stages,
            [
                json!({"stageName": "dev", "variables": {"a": "b"}, "methodSettings": {"*/*": {"throttlingRateLimit": 10, "throttlingBurstLimit": 5}}})
            ]
        );
        assert!(api.exports.is_empty());
        let paths: Vec<&str> = api.resources.iter().map(|r| text(r, "path")).collect();
        assert_eq!(paths, ["/", "/hello", "/hello/{name}"]);
        assert_eq!(
            api.resources[2]["resourceMethods"]["GET"],
            json!({"httpMethod": "GET", "authorizationType": "NONE", "apiKeyRequired": true,
                   "requestParameters": {"method.request.path.name": true},
                   "methodIntegration": {"type": "MOCK", "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                       "integrationResponses": {"200": {"statusCode": "200", "responseTemplates": {"application/json": "{\"hello\": \"$input.params('name')\"}"}}}},
                   "methodResponses": {"200": {"statusCode": "200"}}})
        );
    }

    #[test]
    fn errors_name_the_resource_property_and_function() {
        let options = Options::default();
        let body = |uri: &str| {
            format!("Resources:\n  Api:\n    Type: AWS::ApiGateway::RestApi\n    Properties:\n      Body:\n        openapi: 3.0.1\n        paths:\n          /a:\n            get:\n              x-amazon-apigateway-integration: {{type: http_proxy, uri: {uri}}}\n")
        };
        let cases = [
            (body("!Base64 abc"), "Resources.Api.Properties.Body.paths./a.get.x-amazon-apigateway-integration.uri.Fn::Base64: `Fn::Base64` cannot be worked out"),
            (body("{Fn::Frobnicate: 1}"), "Resources.Api.Properties.Body.paths./a.get.x-amazon-apigateway-integration.uri.Fn::Frobnicate: `Fn::Frobnicate` cannot"),
            (body("!ImportValue shared-url"), "uri.Fn::ImportValue: imports an output of another stack"),
            (body("!Frobnicate 1"), "Resources.Api.Properties.Body.paths./a.get.x-amazon-apigateway-integration.uri: `!Frobnicate` is not a CloudFormation function"),
            (body("!GetAtt Api.Arn"), "uri.Fn::GetAtt: `Api.Arn`: the Arn of a AWS::ApiGateway::RestApi is known only once the stack is deployed"),
            (body("!Sub 'https://${Queue.QueueName}/'"), "uri.Fn::Sub: `Queue.QueueName`: the template has no resource Queue"),
            (body("!Ref Missing"), "uri.Ref: `Ref: Missing` names no parameter or resource"),
            (
                "Resources:\n  Api:\n    Type: AWS::ApiGateway::RestApi\n    Properties:\n      BodyS3Location: {Bucket: b, Key: k}\n".into(),
                "Resources.Api.Properties.BodyS3Location: the OpenAPI document is in S3",
            ),
            (
                "Transform: AWS::Serverless-2016-10-31\nResources:\n  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: prod\n      DefinitionUri: s3://bucket/api.yaml\n".into(),
                "Resources.Api.Properties.DefinitionUri: the OpenAPI document is in S3",
            ),
            (
                "Transform: AWS::Serverless-2016-10-31\nResources:\n  Pool:\n    Type: AWS::Cognito::UserPool\n  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: prod\n      Auth:\n        Authorizers:\n          Users: {UserPoolArn: !GetAtt Pool.Arn}\n".into(),
                "Resources.Api.Properties.Auth.Authorizers.Users.UserPoolArn.Fn::GetAtt: `Pool.Arn`: the Arn of a AWS::Cognito::UserPool is known only once",
            ),
            (
                "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        A: {Type: Api, Properties: {Path: /a, Method: get, RestApiId: Nope}}\n".into(),
                "Resources.F.Properties.Events.A.Properties.RestApiId: `Nope`: must name an AWS::Serverless::Api of the template",
            ),
            (
                "Transform: AWS::Serverless-2016-10-31\nResources:\n  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: prod\n      DefinitionBody: {openapi: 3.0.1, paths: {/a: {get: {x-amazon-apigateway-integration: {uri: !Sub '${Fn.Arn}'}}}}}\n".into(),
                "Resources.Api.Properties.DefinitionBody.paths./a.get.x-amazon-apigateway-integration.uri.Fn::Sub: `Fn.Arn`: the template has no resource Fn",
            ),
            (
                "Transform: [AWS::Serverless-2016-10-31, MyMacro]\nResources: {A: {Type: AWS::SNS::Topic}}\n".into(),
                "Transform: the macro `MyMacro` runs in the account",
            ),
            (
                "Parameters: {Url: {Type: String}}\nResources:\n  Api:\n    Type: AWS::ApiGateway::RestApi\n    Properties: {Name: !Ref Url}\n".into(),
                "Resources.Api.Properties.Name.Ref: `Ref: Url`: Parameters.Url: no Default: give --parameter Url=VALUE",
            ),
        ];
        for (i, (template, expected)) in cases.iter().enumerate() {
            let err =
                read_text(&format!("bad-{i}.yaml"), template, &options).map(|_| ()).unwrap_err();
            assert!(err.contains(expected), "{template}\n{err}");
        }
    }

    #[test]
    fn included_documents_and_explicit_api_events() {
        let dir =
            std::env::temp_dir().join(format!("tollgate-template-include-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("api.yaml"),
            "openapi: 3.0.1\ninfo: {title: inc, version: '1'}\npaths:\n  /a:\n    get:\n      x-amazon-apigateway-integration:\n        type: aws_proxy\n        httpMethod: POST\n        uri: {'Fn::Sub': 'arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${F.Arn}/invocations'}\n",
        )
        .unwrap();
        let template = "Transform: AWS::Serverless-2016-10-31\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      FunctionName: f\n      AutoPublishAlias: live\n      Events:\n        A: {Type: Api, Properties: {Path: /a, Method: get, RestApiId: !Ref Api}}\n        B: {Type: Api, Properties: {Path: /b, Method: get, RestApiId: !Ref Api}}\n  Api:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: prod\n      OpenApiVersion: '3.0.1'\n      DefinitionBody:\n        Fn::Transform: {Name: AWS::Include, Parameters: {Location: ./api.yaml}}\n";
        let path = dir.join("template.yaml");
        std::fs::write(&path, template).unwrap();
        let (account, report) = read(&path, &Options::default()).unwrap();
        let api = &account.rest_apis[0];
        // OpenApiVersion: no extra `Stage` stage.
        assert_eq!(stage_names(api), ["prod"]);
        assert_eq!(api.api["name"], "inc");
        let uri =
            &api.exports["prod"]["paths"]["/a"]["get"]["x-amazon-apigateway-integration"]["uri"];
        assert_eq!(uri, "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:000000000000:function:f/invocations");
        assert!(
            reported(&report, "Resources.F.Properties.Events.B.Properties", "GET /b is not in it"),
            "{report:#?}"
        );
        assert_eq!(report.len(), 1, "{report:#?}");
    }
}
