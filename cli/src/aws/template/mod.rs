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

// The crate allows indexing for its JSON walks; this module and every file under it read
// untrusted templates and do not.
#![deny(clippy::indexing_slicing)]

mod intrinsics;
mod load;
mod resources;
mod sam;

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::Account;
use crate::openapi::{scalar, Unhonoured};
use load::{load, macro_runs_in_the_account};
use resources::Builder;
use sam::expand_sam;

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

const SAM_TRANSFORM: &str = "AWS::Serverless-2016-10-31";
/// What `Fn::GetAtt Api.RootResourceId` stands for: the id of an API's `/` resource.
const ROOT_RESOURCE: &str = "root";
const HTTP_API: &str = "HTTP APIs (API Gateway v2) are not served: Tollgate serves REST APIs";

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

/// The template, its sections read; its intrinsic functions are worked out in [`intrinsics`].
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

#[cfg(test)]
mod test_support {
    use std::path::{Path, PathBuf};

    use super::{read, Account, Options, Unhonoured};
    use crate::aws::{text, RestApi};

    pub(super) fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/templates").join(name)
    }

    /// Reads a template written to a file of its own.
    pub(super) fn read_text(
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

    pub(super) fn reported(report: &[Unhonoured], at: &str, words: &str) -> bool {
        report.iter().any(|r| r.at == at && r.why.contains(words))
    }

    pub(super) fn stage_names(api: &RestApi) -> Vec<&str> {
        api.stages.iter().map(|s| text(s, "stageName")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::read_text;
    use super::*;

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
}
