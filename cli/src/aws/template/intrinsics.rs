//! The template's intrinsic functions (`Ref`, `Fn::Sub`, `Fn::GetAtt`, `Fn::Join`, ...) and
//! conditions, worked out as they would be once the stack is deployed.

use serde_json::{json, Map, Value};

use super::{Template, ROOT_RESOURCE};
use crate::openapi::{join, scalar};

/// How deep references may chain (a stage's name from a parameter, a condition from another).
const MAX_NESTING: u32 = 32;

impl Template {
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
    pub(super) fn resolve(&self, value: &Value, at: &str) -> Result<Option<Value>, String> {
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
    pub(super) fn text(&self, value: &Value, at: &str) -> Result<String, String> {
        let value = self.resolve(value, at)?.unwrap_or(Value::Null);
        scalar_text(&value).ok_or_else(|| format!("{at}: not a text"))
    }

    pub(super) fn list(&self, value: &Value, at: &str) -> Result<Vec<Value>, String> {
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

    pub(super) fn condition(&self, name: &str, at: &str) -> Result<bool, String> {
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

/// `{"Ref": ...}` or `{"Fn::...": ...}`: the function and its argument.
pub(super) fn intrinsic(map: &Map<String, Value>) -> Option<(&str, &Value)> {
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

pub(super) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(super) fn flag(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::Options;
    use super::*;

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
}
