//! Reading the API Gateway resources into the account.

mod domains;
mod methods;
mod plans;
mod props;
mod stages;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::intrinsics::{flag, scalar_text};
use super::{Report, Template, HTTP_API};
use crate::aws::{Account, DomainName, RestApi, UsagePlan};
use crate::openapi::scalar;
use methods::resource_tree;
use props::{typed, Props};

/// What an absent value reads as.
static NULL: Value = Value::Null;
const CLIENT_CERTIFICATE: &str = "client certificates toward backends are not presented by the \
     gateway (give the cluster's TLS settings in the gateway file)";
const ENDPOINTS: &str = "the gateway listens where its Envoy listener does: endpoint types and \
     VPC endpoints are not used";

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

pub(super) struct Builder<'r> {
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
    pub(super) fn read(t: &Template, report: &'r mut Report) -> Result<Account, String> {
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
    use serde_json::json;

    use crate::aws::template::test_support::{read_text, reported};
    use crate::aws::template::Options;

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
}
