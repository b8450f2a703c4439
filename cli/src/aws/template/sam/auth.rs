//! `Auth`: the authorizers as security schemes, the default authorizer and the API key on
//! every method with an integration.

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use super::openapi::{
    add_security_definition, api_key_definition, aws_iam_definition, branches_mut,
    integrated_operations, set_security_definition, truthy,
};
use super::SamApi;
use crate::aws::template::intrinsics::flag;
use crate::aws::template::load::single;
use crate::openapi::{join, scalar};

impl SamApi {
    /// `Auth`: authorizers as security schemes, the default authorizer and API key on every
    /// method with an integration.
    pub(super) fn add_auth(&mut self) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::openapi::ANY_METHOD;
    use crate::aws::template::test_support::{fixture, reported, stage_names};
    use crate::aws::template::{read, Options};

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
}
