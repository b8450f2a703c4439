//! A function's `Api` event: its method, auth, parameters and model in the API's document.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::openapi::{
    add_request_validator, add_security_definition, api_key_definition, aws_iam_definition,
    first_security_has, list_mut, operation, operation_mut, push_security, ANY_METHOD, INTEGRATION,
};
use super::SamApi;
use crate::aws::template::intrinsics::flag;
use crate::aws::template::{Report, Template};
use crate::openapi::{join, scalar};

impl SamApi {
    /// An `Api` event: its method with an `aws_proxy` integration to the function, its auth,
    /// parameters and model, in a document SAM manages; a document the author wrote is left
    /// as written (SAM only adds a permission for the function).
    pub(super) fn add_event(
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

#[cfg(test)]
mod tests {
    use crate::aws::template::test_support::{reported, stage_names};
    use crate::aws::template::{read, Options};

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
