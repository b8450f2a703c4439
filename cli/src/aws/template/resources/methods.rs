//! An API built of `Resource` and `Method` resources, and what its methods name: authorizers,
//! gateway responses, models and request validators.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::props::Props;
use super::{Builder, Resource};
use crate::aws::template::ROOT_RESOURCE;
use crate::aws::RestApi;
use crate::openapi::scalar;

impl Builder<'_> {
    pub(super) fn authorizer(&mut self, r: &Resource) -> Result<(), String> {
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

    pub(super) fn gateway_response(&mut self, r: &Resource) -> Result<(), String> {
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

    pub(super) fn model(&mut self, r: &Resource) -> Result<(), String> {
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

    pub(super) fn request_validator(&mut self, r: &Resource) -> Result<(), String> {
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

    pub(super) fn api_resource(&mut self, r: &Resource) -> Result<(), String> {
        let Some(api) = self.api_of(&r.props)? else { return Ok(()) };
        let parent = r.props.required("ParentId")?;
        let part = r.props.required("PathPart")?;
        if let Some(api) = self.apis.get_mut(&api) {
            api.nodes.push((r.id.to_string(), parent, part));
        }
        Ok(())
    }

    /// A `Method` in `GetMethod`'s shape.
    pub(super) fn method(&mut self, r: &Resource) -> Result<(), String> {
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
}

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
pub(super) fn resource_tree(
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
    items.sort_by(|a, b| crate::aws::text(a, "path").cmp(crate::aws::text(b, "path")));
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::aws::template::test_support::read_text;
    use crate::aws::template::Options;
    use crate::aws::text;

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
}
